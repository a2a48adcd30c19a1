"""passerelle demo"""

from __future__ import annotations

import datetime as dt

from crm.commands._common import unit_of_work


def register(sub) -> None:
    p = sub.add_parser("demo", help="load the E2C Var demo data set (idempotent)")
    p.add_argument("--today", type=dt.date.fromisoformat, help="reference date (default: today)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from crm.demo import DEMO_PASSWORD, load_demo

    with unit_of_work(create=True) as session:
        report = load_demo(session, today=args.today)
    print(report)
    print(
        "Demo accounts: admin, manager, officer, trainer (and officer2, officer-cavem, "
        f"trainer-cavem, ...), password '{DEMO_PASSWORD}'."
    )
    return 0
