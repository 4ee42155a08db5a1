"""The errors procmine raises for mistakes a user can make and mend.

The CLI and the dashboard show their message without a traceback. An error that can reach the
dashboard also carries a message code and its parameters (``code="sop.note_required"``,
``params={"sop_id": "SOP-P17"}``): the dashboard shows the catalogue's message
``error.<code>`` in the user's language (:func:`procmine.app.i18n.error_text`), the CLI and the
logs the English text given to the constructor.

Example:
    >>> exc = ProcmineError("a change note is required", code="sop.note_required")
    >>> str(exc), exc.code, exc.params
    ('a change note is required', 'sop.note_required', {})
"""

from __future__ import annotations

from typing import Any

__all__ = ["ProcmineError"]


class ProcmineError(Exception):
    """A problem with the user's input or set-up, with a message the user can act on.

    ``code`` names the message ``error.<code>`` of the catalogue and ``params`` fills its
    placeholders; without a code the English text is all there is.
    """

    def __init__(self, *args: Any, code: str | None = None, **params: Any) -> None:
        super().__init__(*args)
        self.code = code
        self.params: dict[str, Any] = params
