"""passerelle backup FILE / passerelle restore FILE [--yes]"""

from __future__ import annotations

import sys

from crm.constants import BACKUP_FORMATS as FORMATS


def register(sub) -> None:
    b = sub.add_parser(
        "backup",
        help="write a backup of the whole database to FILE (safe while the app runs)",
        description=(
            "SQLite: online copy (sqlite3 backup API). PostgreSQL: pg_dump custom format when "
            "pg_dump/pg_restore are on PATH, else a portable JSON dump (FILE.gz: compressed). "
            "FILE.sig holds its HMAC-SHA256 signature (key: PASSERELLE_BACKUP_KEY, else "
            "$PASSERELLE_HOME/backup.key); restore refuses a file whose signature does not match."
        ),
    )
    b.add_argument("file")
    b.add_argument("--format", choices=FORMATS, default="auto", help="default: auto")
    b.set_defaults(func=_backup)
    r = sub.add_parser(
        "restore",
        help="replace the whole database with the backup FILE (all or nothing)",
        description="The format is recognised from the file. The previous data is replaced.",
    )
    r.add_argument("file")
    r.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    r.set_defaults(func=_restore)


def _backup(args) -> int:
    from crm.auth import SYSTEM
    from crm.backup import backup
    from crm.commands._common import require_database

    url = require_database()
    info = backup(url, args.file, fmt=args.format, actor=SYSTEM)
    print(f"Backup written: {info} (signature: {info.path.name}.sig)")
    return 0


def _restore(args) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            print("error: restore replaces every row of the database; add --yes", file=sys.stderr)
            return 2
        answer = input("This replaces ALL the data of the database. Type 'yes' to continue: ")
        if answer.strip().lower() != "yes":
            print("Restore cancelled.")
            return 1
    from crm.auth import SYSTEM
    from crm.backup import restore
    from crm.commands._common import require_database

    info = restore(require_database(), args.file, actor=SYSTEM)
    print(info)
    return 0
