"""passerelle convention PLACEMENT_REF --output FILE.pdf [--kind pmsmp|stage|attestation|evaluation]"""

from __future__ import annotations

import os
from pathlib import Path

KINDS = ("pmsmp", "stage", "attestation", "evaluation")


def register(sub) -> None:
    p = sub.add_parser(
        "convention",
        help="write a placement's convention, attestation or evaluation form as a PDF",
    )
    p.add_argument("ref", help="the placement's reference (or its id)")
    p.add_argument("--output", "-o", type=Path, required=True, help="PDF file to write")
    p.add_argument(
        "--kind",
        choices=KINDS,
        help="document (default: the placement's convention, pmsmp or stage)",
    )
    p.set_defaults(func=_convention)


def _convention(args) -> int:
    from crm.auth import SYSTEM
    from crm.commands._common import unit_of_work
    from crm.labels import PAPERWORK_KIND_FR
    from crm.services import paperwork

    with unit_of_work() as session:
        placement_id = paperwork.placement_id_for_ref(session, args.ref)
        kind = args.kind or paperwork.get_paperwork(session, SYSTEM, placement_id).kind
        data = paperwork.generate(session, SYSTEM, placement_id, kind)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # The document holds personal data: readable by its owner only.
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    print(f"{PAPERWORK_KIND_FR[kind]} written to {args.output} ({len(data)} bytes).")
    return 0
