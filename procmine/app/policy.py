"""Account policy: what a password must be, when repeated failed sign-ins lock a name, and how
long an idle dashboard session lives.

Passwords (checked when a user is added or a password is set): at least
:data:`MIN_PASSWORD_LENGTH` characters, not only whitespace, not the user's own name, and not
one of the few hundred most common passwords (``common_passwords.txt``, compared without case).

Failed sign-ins (OWASP's authentication cheat sheet: lock after a few failures, for a while):
``PROCMINE_LOCKOUT_ATTEMPTS`` failures (default 5) for one user name within
``PROCMINE_LOCKOUT_WINDOW_MINUTES`` (default 15) lock that name for ``PROCMINE_LOCKOUT_MINUTES``
(default 15); ``PROCMINE_LOCKOUT_CLIENT_ATTEMPTS`` failures (default 20) from one client (the
dashboard's remote address) lock that client the same way. A dashboard session ends after
``PROCMINE_SESSION_IDLE_MINUTES`` (default 30) without a page being opened.

Example:
    >>> check_password("procmine-demo-2", "li.na")
    >>> check_password("password123", "li.na")
    Traceback (most recent call last):
    ...
    procmine.core.errors.ProcmineError: the password is one of the most common passwords; ...
    >>> SignInPolicy.from_env({}).attempts
    5
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from importlib.resources import files

from procmine.core.errors import ProcmineError

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "SignInPolicy",
    "check_password",
    "common_passwords",
    "session_idle",
]

MIN_PASSWORD_LENGTH = 10

_ENV_ATTEMPTS = "PROCMINE_LOCKOUT_ATTEMPTS"
_ENV_CLIENT_ATTEMPTS = "PROCMINE_LOCKOUT_CLIENT_ATTEMPTS"
_ENV_WINDOW = "PROCMINE_LOCKOUT_WINDOW_MINUTES"
_ENV_LOCK = "PROCMINE_LOCKOUT_MINUTES"
_ENV_IDLE = "PROCMINE_SESSION_IDLE_MINUTES"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords, in lower case.

    Example:
        >>> {"password", "12345678", "qwerty123"} <= common_passwords()
        True
    """
    text = files("procmine.app").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def check_password(password: str, username: str) -> None:
    """Raise ProcmineError unless ``password`` is acceptable for the user ``username``."""
    if not password.strip():
        raise ProcmineError("the password is empty or only whitespace",
                            code="auth.password_empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ProcmineError(
            f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters, "
            f"got {len(password)}", code="auth.password_short", minimum=MIN_PASSWORD_LENGTH,
            length=len(password)
        )
    if password.strip().lower() == username.strip().lower():
        raise ProcmineError("the password may not be the user name",
                            code="auth.password_is_name")
    if password.strip().lower() in common_passwords():
        raise ProcmineError("the password is one of the most common passwords; choose another",
                            code="auth.password_common")


def _minutes(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ProcmineError(f"{name}={text!r}: expected a whole number of at least 1")
    return value


@dataclass(frozen=True)
class SignInPolicy:
    """When failed sign-ins lock a user name or a client, and for how long.

    Example:
        >>> SignInPolicy.from_env({"PROCMINE_LOCKOUT_MINUTES": "60"}).lock
        datetime.timedelta(seconds=3600)
    """

    attempts: int = 5
    client_attempts: int = 20
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SignInPolicy:
        """The policy set by the ``PROCMINE_LOCKOUT_*`` variables (defaults where unset)."""
        env = os.environ if env is None else env
        return cls(
            attempts=_minutes(env, _ENV_ATTEMPTS, 5),
            client_attempts=_minutes(env, _ENV_CLIENT_ATTEMPTS, 20),
            window=timedelta(minutes=_minutes(env, _ENV_WINDOW, 15)),
            lock=timedelta(minutes=_minutes(env, _ENV_LOCK, 15)),
        )


def session_idle(env: Mapping[str, str] | None = None) -> timedelta:
    """How long a dashboard session may stay idle: ``PROCMINE_SESSION_IDLE_MINUTES``, default 30.

    Example:
        >>> session_idle({})
        datetime.timedelta(seconds=1800)
    """
    env = os.environ if env is None else env
    return timedelta(minutes=_minutes(env, _ENV_IDLE, 30))
