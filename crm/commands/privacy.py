"""passerelle purge --dry-run|--apply [--months N]; passerelle learner-export REF FILE"""

from __future__ import annotations

import json
from pathlib import Path

from crm.commands._common import unit_of_work


def register(sub) -> None:
    p = sub.add_parser(
        "purge", help="anonymise learners whose exit is older than the retention period"
    )
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="count only, change nothing")
    mode.add_argument("--apply", action="store_true", help="anonymise")
    p.add_argument("--months", type=int, help="retention in months (default: the setting, 24)")
    p.set_defaults(func=_purge)

    e = sub.add_parser("learner-export", help="a learner's data as JSON (access request)")
    e.add_argument("ref", help="the learner's reference")
    e.add_argument("file", type=Path, help="output JSON file (created with mode 600)")
    e.set_defaults(func=_export)


def _purge(args) -> int:
    from crm.auth import SYSTEM
    from crm.services.privacy import purge_learners

    with unit_of_work() as session:
        report = purge_learners(session, SYSTEM, months=args.months, apply=args.apply)
    verb = "anonymised" if report.applied else "to anonymise (dry run, nothing changed)"
    print(
        f"Retention {report.months} months: exits before {report.cutoff.isoformat()}; "
        f"{report.candidates} learner(s) {verb}."
    )
    for site, count in sorted(report.by_site.items()):
        print(f"  {site}: {count}")
    return 0


def _export(args) -> int:
    from crm.auth import SYSTEM
    from crm.private_files import write_private
    from crm.services.privacy import export_learner_data, learner_id_for_ref

    with unit_of_work() as session:
        data = export_learner_data(session, SYSTEM, learner_id_for_ref(session, args.ref))
        text = json.dumps(data, ensure_ascii=False, indent=2)
    # A new 0600 file renamed over the target: an existing file (whatever its mode) or
    # a symbolic link at that path is replaced, never written through.
    write_private(args.file, text)
    print(f"Learner data written to {args.file} ({len(data['placements'])} placement(s)).")
    return 0
