"""passerelle users add|list|disable|enable|reset-password

Passwords are read from standard input only (``--password-stdin``), never from
the command line (visible in the process list and the shell history) and never
printed.
"""

from __future__ import annotations

import sys

from crm.commands._common import unit_of_work
from crm.constants import ROLES


def register(sub) -> None:
    p = sub.add_parser("users", help="manage user accounts")
    usub = p.add_subparsers(dest="users_command", required=True)
    add = usub.add_parser("add", help="create an account")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=list(ROLES))
    add.add_argument("--site", action="append", default=[], help="site name (repeatable)")
    add.add_argument("--display-name")
    add.add_argument("--email", help="address used by the school's single sign-on")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(func=_add)
    lst = usub.add_parser("list", help="list accounts")
    lst.set_defaults(func=_list)
    for name, func, help_ in (
        ("disable", _disable, "disable an account"),
        ("enable", _enable, "re-enable an account (and lift a lock)"),
    ):
        cmd = usub.add_parser(name, help=help_)
        cmd.add_argument("--username", required=True)
        cmd.set_defaults(func=func)
    reset = usub.add_parser("reset-password", help="set a new password (read from stdin)")
    reset.add_argument("--username", required=True)
    reset.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the new password from standard input",
    )
    reset.set_defaults(func=_reset)


def _read_password() -> str:
    return sys.stdin.readline().rstrip("\r\n")


def _add(args) -> int:
    from crm.auth import SYSTEM
    from crm.services import users as user_service

    password = _read_password() if args.password_stdin else None
    with unit_of_work() as session:
        user_service.add_user(
            session,
            SYSTEM,
            username=args.username,
            role=args.role,
            password=password,
            site_names=args.site,
            display_name=args.display_name,
            email=args.email,
        )
    print(f"User {args.username.strip()} ({args.role}) created.")
    return 0


def _list(args) -> int:
    from crm.auth import SYSTEM
    from crm.services import users as user_service

    with unit_of_work() as session:
        for u in user_service.list_users(session, SYSTEM):
            sites = ",".join(u.sites) or "-"
            state = "active" if u.is_active else "disabled"
            if u.locked:
                state = "locked"
            print(f"{u.username:20} {u.role:8} {state:8} {sites}")
    return 0


def _set_active(args, active: bool) -> int:
    from crm.auth import SYSTEM
    from crm.services import users as user_service

    with unit_of_work() as session:
        user_id = user_service.user_id_for(session, SYSTEM, args.username)
        user_service.set_active(session, SYSTEM, user_id, active)
    print(f"User {args.username} {'enabled' if active else 'disabled'}.")
    return 0


def _disable(args) -> int:
    return _set_active(args, False)


def _enable(args) -> int:
    return _set_active(args, True)


def _reset(args) -> int:
    from crm.auth import SYSTEM
    from crm.errors import ValidationError
    from crm.services import users as user_service

    password = _read_password()
    if not password:
        raise ValidationError({"password": "aucun mot de passe lu sur l'entrée standard."})
    with unit_of_work() as session:
        user_id = user_service.user_id_for(session, SYSTEM, args.username)
        user_service.reset_password(session, SYSTEM, user_id, password)
    print(f"Password of {args.username} changed.")
    return 0
