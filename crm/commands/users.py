"""passerelle users add|list"""

from __future__ import annotations

import sys

from sqlalchemy import select

from crm.auth import create_user
from crm.commands._common import unit_of_work
from crm.models import Role, User


def register(sub) -> None:
    p = sub.add_parser("users", help="manage user accounts")
    usub = p.add_subparsers(dest="users_command", required=True)
    add = usub.add_parser("add", help="create an account")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--site", action="append", default=[], help="site name (repeatable)")
    add.add_argument("--display-name")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(func=_add)
    lst = usub.add_parser("list", help="list accounts")
    lst.set_defaults(func=_list)


def _add(args) -> int:
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    with unit_of_work() as session:
        user = create_user(
            session,
            args.username,
            args.role,
            password,
            site_names=args.site,
            display_name=args.display_name,
        )
        print(f"User {user.username} ({user.role}) created.")
    return 0


def _list(args) -> int:
    with unit_of_work() as session:
        for u in session.scalars(select(User).order_by(User.username)):
            sites = ",".join(s.name for s in u.sites) or "-"
            state = "active" if u.is_active else "disabled"
            print(f"{u.username:20} {u.role:8} {state:8} {sites}")
    return 0
