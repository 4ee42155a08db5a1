"""``procmine user ...``: the users who may sign in to the dashboard, and their roles.

Thin, like the rest of the command line: each command calls one function of ``procmine.app.auth``.
Mistakes raise ProcmineError, which ``procmine.cli.main.main`` prints without a traceback.

Example:
    $ procmine user add li.na --role reviewer --review-group accounting-and-cash
    $ echo 's3cret-pass' | procmine user add wang.fang --role teller --teller-id 0103 \\
          --password-stdin
    $ procmine user add chen.li --role branch_manager --branch B01
    $ procmine user list --json
    $ procmine user audit --action sop.approve
    $ procmine user disable wang.fang
    $ procmine user reset-password li.na
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated, Any

import typer

from procmine import (
    DEMO_PASSWORD,
    REVIEW_GROUPS,
    ROLES,
    ProcmineError,
    User,
    add_user,
    disable_user,
    enable_user,
    is_demo_workspace,
    list_audit,
    list_users,
    seed_demo_users,
    set_password,
    set_role,
    unlock_user,
)
from procmine.cli.common import (
    CliApp,
    Column,
    HomeOption,
    JsonOption,
    WideOption,
    err,
    fit_table,
    out,
    print_table,
)

__all__ = ["user_app"]

user_app = CliApp(
    help="Users who may sign in to the dashboard, and their roles "
    f"({', '.join(ROLES)}). A new workspace has no users.",
    no_args_is_help=True,
)

UsernameArgument = Annotated[str, typer.Argument(help="The user's sign-in name.")]
PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input (for scripts) "
        "instead of asking twice.",
    ),
]
ReviewGroupOption = Annotated[
    str | None,
    typer.Option(
        "--review-group",
        help=f"For a reviewer (required): {', '.join(REVIEW_GROUPS)}.",
    ),
]

BranchOption = Annotated[
    str | None,
    typer.Option(
        "--branch",
        help="Branch id, e.g. B01. Required for a branch_manager (the branch they run).",
    ),
]


def _actor() -> str:
    """Who ran the command, for the audit trail."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in some containers
        return "cli"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ProcmineError("--password-stdin: nothing was given on standard input")
        return line.rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _to_dict(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "review_group": user.review_group,
        "teller_id": user.teller_id,
        "branch_id": user.branch_id,
        "created_at": user.created_at.isoformat(),
        "disabled": user.disabled,
    }


def _describe(user: User) -> str:
    extra = [
        x
        for x in (
            user.review_group,
            f"teller {user.teller_id}" if user.teller_id else None,
            f"branch {user.branch_id}" if user.branch_id else None,
        )
        if x
    ]
    return f"{user.username} ({user.role}{', ' + ', '.join(extra) if extra else ''})"


@user_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Sign-in name: letters, digits and . _ @ -.")],
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")],
    review_group: ReviewGroupOption = None,
    teller_id: Annotated[
        str | None,
        typer.Option(
            "--teller-id",
            help="For a teller: their teller id in the event log (e.g. 0101), so that they "
            "see their own figures.",
        ),
    ] = None,
    branch: BranchOption = None,
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="Name shown on the dashboard.")
    ] = None,
    password_stdin: PasswordStdinOption = False,
    home: HomeOption = None,
) -> None:
    """Add a user who may sign in; asks for the password twice (at least 10 characters, not a
    common password, not the user name). A branch manager needs --branch."""
    if role == "branch_manager" and not (branch or "").strip():
        raise ProcmineError("a branch manager needs the branch they run: add --branch, "
                            "e.g. --branch B01")
    password = _read_password(password_stdin)
    user = add_user(
        username,
        password,
        role,
        display_name=display_name,
        review_group=review_group,
        teller_id=teller_id,
        branch_id=branch,
        home=home,
        actor=_actor(),
    )
    out.print(f"added {_describe(user)}", highlight=False)
    if user.role == "teller" and not user.teller_id:
        err.print(
            f"[yellow]note:[/yellow] {user.username} has no --teller-id, so they will not see "
            "their own figures",
            highlight=False,
        )


@user_app.command("list")
def list_(home: HomeOption = None, as_json: JsonOption = False,
          wide: WideOption = False) -> None:
    """List the users with their role, review group, teller id and branch."""
    users = list_users(home)
    if as_json:
        sys.stdout.write(
            json.dumps([_to_dict(u) for u in users], ensure_ascii=False, indent=2) + "\n"
        )
        return
    if not users:
        out.print("no users yet: add one with 'procmine user add' or 'procmine user seed-demo'")
        return
    columns = [Column("username", "key"), Column("name"), Column("role", "key"),
               Column("review group"), Column("teller", "key"),
               Column("branch", "key"), Column("status", "key", essential=False)]
    rows = [(u.username, u.display_name, u.role, u.review_group, u.teller_id, u.branch_id,
             "disabled" if u.disabled else "active") for u in users]
    print_table(fit_table(f"{len(users)} users", columns, rows, wide=wide))


@user_app.command("audit")
def audit(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's rows.")] = None,
    action: Annotated[str | None, typer.Option(
        "--action", help="Only this action, e.g. sop.approve, auth.sign_in_failed.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 50,
    home: HomeOption = None,
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """The audit trail, newest first: user changes, sign-ins and every SOP action (save,
    submit, approve, reject, retire, refused conflict)."""
    rows = list_audit(home, username=user, action=action, limit=limit)
    if as_json:
        sys.stdout.write(json.dumps(
            [{"at": r.at.isoformat(), "username": r.username, "action": r.action,
              "detail": r.detail} for r in rows], ensure_ascii=False, indent=2) + "\n")
        return
    if not rows:
        out.print("no audit rows" + (" match" if user or action else " yet"))
        return
    columns = [Column("at (UTC)", "key"), Column("user", "key"), Column("action", "key"),
               Column("detail")]
    print_table(fit_table(f"audit trail: {len(rows)} newest rows", columns,
                          [(r.at.strftime("%Y-%m-%d %H:%M:%S"), r.username, r.action, r.detail)
                           for r in rows], wide=wide))


@user_app.command("set-role")
def set_role_(
    username: Annotated[str, typer.Argument(help="The user to change.")],
    role: Annotated[str, typer.Argument(help=f"The new role: {', '.join(ROLES)}.")],
    review_group: ReviewGroupOption = None,
    branch: BranchOption = None,
    home: HomeOption = None,
) -> None:
    """Give a user another role (a reviewer needs --review-group; a branch_manager needs
    --branch unless the user already has a branch)."""
    user = set_role(username, role, review_group=review_group, branch_id=branch, home=home,
                    actor=_actor())
    out.print(f"{_describe(user)}", highlight=False)


@user_app.command("disable")
def disable(username: UsernameArgument, home: HomeOption = None) -> None:
    """Stop a user from signing in; their open dashboard sessions end at their next click.
    Their history stays."""
    disable_user(username, home=home, actor=_actor())
    out.print(f"{username.strip().lower()} is disabled", highlight=False)


@user_app.command("enable")
def enable(username: UsernameArgument, home: HomeOption = None) -> None:
    """Let a disabled user sign in again."""
    enable_user(username, home=home, actor=_actor())
    out.print(f"{username.strip().lower()} is enabled", highlight=False)


@user_app.command("reset-password")
def reset_password(username: UsernameArgument, password_stdin: PasswordStdinOption = False,
                   home: HomeOption = None) -> None:
    """Give a user a new password (asked twice; the password policy applies) and lift a lock
    that failed sign-ins put on their name."""
    set_password(username, _read_password(password_stdin), home=home, actor=_actor())
    out.print(f"new password set for {username.strip().lower()}", highlight=False)


@user_app.command("unlock")
def unlock(username: UsernameArgument, home: HomeOption = None) -> None:
    """Lift the lock that repeated failed sign-ins put on a user name before it ends by
    itself."""
    name = username.strip().lower()
    if unlock_user(name, home=home, actor=_actor()):
        out.print(f"{name} is unlocked", highlight=False)
    else:
        out.print(f"{name} was not locked", highlight=False)


@user_app.command("seed-demo")
def seed_demo(home: HomeOption = None) -> None:
    """Create the demo users ops, reviewer, trainer, teller, reviewer2 and settlement
    (password procmine-demo), in a demo workspace only (one 'procmine demo-workspace' built).

    One per role, and two more reviewers (accounting-and-cash, domestic-settlement) so that an
    SOP change can be approved by someone other than its author; users that exist already are
    left as they are.
    """
    if not is_demo_workspace(home):
        raise ProcmineError(
            "seed-demo works in a demo workspace only (one that 'procmine demo-workspace' "
            "built, with its own app database): the demo users have a public password. "
            "Add real users with 'procmine user add'."
        )
    created = seed_demo_users(home)
    for user in created:
        out.print(f"added {_describe(user)}", highlight=False)
    if created:
        out.print(f"password of the demo users: {DEMO_PASSWORD}", highlight=False)
    else:
        out.print("the demo users exist already; nothing added")
