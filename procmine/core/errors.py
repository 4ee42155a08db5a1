"""The errors procmine raises for mistakes a user can make and mend.

The CLI and the dashboard show their message without a traceback.
"""

from __future__ import annotations

__all__ = ["ProcmineError"]


class ProcmineError(Exception):
    """A problem with the user's input or set-up, with a message the user can act on."""
