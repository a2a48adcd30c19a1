"""The ``passerelle`` command line: one subcommand per batch job.

Subcommands live in ``crm/commands/*.py``; each module exposes
``register(subparsers)`` and sets ``func(args) -> int`` on its parsers, so new
jobs are added without touching this file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from crm import commands
from crm.errors import PasserelleError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="passerelle",
        description="Passerelle: employer-partnership CRM and placement matcher for E2C schools.",
    )
    parser.add_argument("--database-url", help="override PASSERELLE_DATABASE_URL for this command")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.database_url:
        import os

        os.environ["PASSERELLE_DATABASE_URL"] = args.database_url
    try:
        return int(args.func(args) or 0)
    except PasserelleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        message = database_error_message(exc)
        if message is None:
            raise
        print(f"erreur : {message}", file=sys.stderr)
        return 2


def database_error_message(exc: BaseException) -> str | None:
    """One French line for a database error (unreachable server, refused login, locked
    file...), without the password of the URL; None for any other error."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if not isinstance(exc, DBAPIError):
        return None
    from crm.config import get_settings

    try:
        where = make_url(get_settings().database_url).render_as_string(hide_password=True)
    except Exception:
        where = "(URL illisible)"
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    detail = detail[0][:200] if detail else type(exc).__name__
    if isinstance(exc, OperationalError | InterfaceError):
        return f"base de données injoignable ou refusée ({where}) : {detail}"
    return f"erreur de la base de données ({where}) : {detail}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
