"""Data values shown as text where Streamlit renders markdown.

``st.markdown``, ``st.caption``, ``st.subheader``, ``st.info`` and friends, widget labels and
``st.radio`` options all render markdown. A message from the catalogue is ours and may use it,
but the values put into it (a teller or branch id, an activity, a file name, an SOP title, an
error's text) come from the logs and the users: ``**x**`` would turn bold, ``[x](http://...)``
into a link, ``:red[x]`` red, ``$x$`` into a formula. :func:`plain` escapes every ASCII
punctuation character with a backslash (CommonMark renders an escaped character as itself), so
the value reads exactly as written; line breaks become spaces and control characters go.

Example:
    >>> plain("**bold**[x](http://evil)")
    '\\\\*\\\\*bold\\\\*\\\\*\\\\[x\\\\]\\\\(http\\\\:\\\\/\\\\/evil\\\\)'
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["plain"]

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_BREAKS = re.compile(r"[\r\n\t\u2028\u2029]+")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def plain(value: Any) -> str:
    """``value`` as markdown that shows its text as it is (None as an empty text).

    Example:
        >>> plain("B01 $5 :red[x] <b>")
        'B01 \\\\$5 \\\\:red\\\\[x\\\\] \\\\<b\\\\>'
    """
    if value is None:
        return ""
    text = _CONTROL.sub("", _BREAKS.sub(" ", str(value)))
    return _PUNCTUATION.sub(r"\\\1", text)
