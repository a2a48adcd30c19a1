"""passerelle import | export | duplicates"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crm.commands._common import unit_of_work
from crm.constants import DUPLICATE_THRESHOLD as DEFAULT_THRESHOLD
from crm.constants import IMPORT_KINDS as KINDS


def register(sub) -> None:
    p = sub.add_parser("import", help="import a CSV/XLSX file (upsert by ref, all or nothing)")
    p.add_argument("kind", choices=[*KINDS, "sirene"])
    p.add_argument("file", type=Path)
    p.add_argument("--departements", help="sirene: départements to keep, e.g. 83,06,13")
    p.add_argument("--dry-run", action="store_true", help="check everything, import nothing")
    p.add_argument("--skip-invalid", action="store_true", help="import the valid rows only")
    p.add_argument(
        "--as-user",
        metavar="USERNAME",
        help="import with this user's rights and sites, audited under their name (default: system)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    p.set_defaults(func=_import)
    e = sub.add_parser("export", help="export a table to CSV or XLSX (by file extension)")
    e.add_argument("kind", choices=KINDS)
    e.add_argument("file", type=Path)
    e.set_defaults(func=_export)
    d = sub.add_parser("duplicates", help="list candidate duplicate companies")
    d.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    d.add_argument("--format", choices=["csv", "table"], default="table")
    d.set_defaults(func=_duplicates)


class ProgressBar:
    """A one-line text progress bar on stderr: ``[#####.....]  52 % 26000/50000``."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        pct = 100 if total <= 0 else min(100, done * 100 // total)
        if pct == self.last:
            return
        self.last = pct
        filled = self.width * pct // 100
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {pct:3d} % {done}/{total}")
        if pct >= 100:
            self.stream.write("\n")
        self.stream.flush()


def _import(args) -> int:
    if args.kind == "sirene":  # the INSEE register: chunked import (crm/commands/prospects.py)
        from crm.commands.prospects import import_sirene_command

        return import_sirene_command(args)
    from crm.auth import SYSTEM, actor_for_username
    from crm.errors import ValidationError
    from crm.services.imports import check_upload_size, import_data

    try:
        size = args.file.stat().st_size
    except OSError:
        raise ValidationError({"file": f"introuvable ou illisible : {args.file}"}) from None
    check_upload_size(size)  # before reading anything
    data = args.file.read_bytes()
    show = sys.stderr.isatty() if args.progress is None else args.progress
    with unit_of_work() as session:
        actor = actor_for_username(session, args.as_user) if args.as_user else SYSTEM
        # End the look-up's transaction: import_data checks the file outside any write
        # transaction only when it starts its own (on SQLite, a writer transaction
        # would hold the database's write lock while a big file is checked).
        session.commit()
        report = import_data(
            session,
            actor,
            args.kind,
            data,
            args.file.name,
            dry_run=args.dry_run,
            skip_invalid=args.skip_invalid,
            progress=ProgressBar() if show else None,
        )
    print(report.summary())
    if report.unknown_columns:
        print(f"Colonnes ignorées : {', '.join(report.unknown_columns)}")
    for err in report.rejected:
        print(f"ligne {err.line} : {err.reason}")
    for d in report.duplicates:
        print(
            f"doublon probable (ligne {d.line}) : {d.ref_a or d.name_a} ~ {d.ref_b or d.name_b} "
            f"score {d.score:.2f} ({d.evidence})"
        )
    if report.rejected and not args.skip_invalid:
        return 1
    return 0


def _export(args) -> int:
    from crm.auth import SYSTEM
    from crm.services.imports import export_bytes

    with unit_of_work() as session:
        data = export_bytes(session, SYSTEM, args.kind, args.file.name)
    args.file.write_bytes(data)
    print(f"{args.kind} exporté dans {args.file}")
    return 0


def _duplicates(args) -> int:
    import csv

    from crm.auth import SYSTEM
    from crm.dedupe import pairs_as_rows
    from crm.services.merge import duplicate_pairs

    with unit_of_work() as session:
        _, pairs = duplicate_pairs(session, SYSTEM, args.threshold)
    rows = pairs_as_rows(pairs)
    if args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=["ref_a", "ref_b", "score", "evidence"])
        w.writeheader()
        w.writerows(rows)
    else:
        print(f"{'ref_a':<16} {'ref_b':<16} {'score':>5}  evidence")
        for r in rows:
            print(
                f"{str(r['ref_a']):<16} {str(r['ref_b']):<16} {r['score']:>5.2f}  {r['evidence']}"
            )
        print(f"{len(rows)} paire(s)")
    return 0
