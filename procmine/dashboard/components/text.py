"""Data values shown as text where Streamlit renders markdown.

``st.markdown``, ``st.caption``, ``st.subheader``, ``st.info`` and friends, widget labels and
``st.radio`` options all render markdown. A message from the catalogue is ours and may use it,
but the values put into it (a teller or branch id, an activity, a file name, an SOP title, an
error's text) come from the logs and the users: ``**x**`` would turn bold, ``[x](http://...)``
into a link, ``:red[x]`` red, ``$x$`` into a formula. :func:`plain` puts a backslash before
every character that could start such a construct (CommonMark renders an escaped character as
itself), so the value reads exactly as written; the rest is left alone, so that an ordinary
value (``Branch B06, P28 Enter transaction: median 33 s``) stays as it was. Line breaks become
spaces and control characters go.

Escaped: ``\\ ` * ~ [ ] < > | $ & @`` everywhere; ``_`` unless it stands between two letters
or digits (``standard_seconds`` cannot emphasise anything); ``:`` before ``//`` and ``.`` after
``www`` (bare links); a list, heading or quote marker at the start (``-``, ``+``, ``#``, ``=``,
``1.``, ``1)``).

Example:
    >>> plain("**bold**[x](http://evil)")
    '\\\\*\\\\*bold\\\\*\\\\*\\\\[x\\\\](http\\\\://evil)'
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["plain"]

_BREAKS = re.compile(r"[\r\n\t\u2028\u2029]+")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_ALWAYS = re.compile(r"([\\`*~\[\]<>|$&@])")
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_BARE_LINK = re.compile(r"(?<=[A-Za-z]):(?=//)|(?<=[wW]{3})\.")
_LINE_START = re.compile(r"^(?:[-+#=]|\d+[.)])")


def plain(value: Any) -> str:
    """``value`` as markdown that shows its text as it is (None as an empty text).

    Example:
        >>> plain("B01 $5 :red[x] <b>"), plain("12. 1_000 units"), plain("standard_seconds")
        ('B01 \\\\$5 :red\\\\[x\\\\] \\\\<b\\\\>', '12\\\\. 1_000 units', 'standard_seconds')
    """
    if value is None:
        return ""
    text = _CONTROL.sub("", _BREAKS.sub(" ", str(value))).strip()
    text = _ALWAYS.sub(r"\\\1", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    text = _BARE_LINK.sub(lambda m: "\\" + m.group(0), text)
    return _LINE_START.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], text)
