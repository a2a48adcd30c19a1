"""passerelle geocode [--missing] [--kind companies|learners|offers|sites]

Batch (re)geocoding through crm.geo: cache first, then the configured provider
(rate limited), commune fallback when it fails. Manual pins are never touched.
The progress bar goes to stderr and shows counts only (no names, no addresses).
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING

from crm.commands._common import unit_of_work

if TYPE_CHECKING:
    from crm.geo import Geocoder

KINDS = ("companies", "sites", "learners", "offers")
IMPROVABLE = ("none", "commune")  # GeoPrecision.NONE / COMMUNE (tests/cli/test_cli_startup.py)
COMMIT_EVERY = 50
PRECISION_ORDER = ("housenumber", "street", "commune", "manual", "none")


def register(sub) -> None:
    p = sub.add_parser(
        "geocode",
        help="geocode addresses (cache, then provider, commune fallback)",
        description=(
            "Geocode the addresses of companies, sites, learners and offers. "
            "Manual pins are kept. Provider: PASSERELLE_GEOCODER (ban, nominatim, offline)."
        ),
    )
    p.add_argument(
        "--missing",
        action="store_true",
        help="only records not geocoded or placed at commune level (failed lookups are retried)",
    )
    p.add_argument(
        "--kind", choices=KINDS, action="append", help="record kind (repeatable; default: all)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=_run)


def _query(kind: str, missing: bool):
    from sqlalchemy import or_, select

    from crm.models import Company, GeoPrecision, Learner, Offer, Site

    if kind == "offers":
        stmt = select(Offer).join(Offer.company).where(Offer.latitude.is_(None))
        if missing:
            stmt = stmt.where(
                or_(Company.geo_precision.in_(IMPROVABLE), Company.latitude.is_(None))
            )
        return stmt.order_by(Offer.id)
    model = {"companies": Company, "sites": Site, "learners": Learner}[kind]
    stmt = select(model).where(model.geo_precision != GeoPrecision.MANUAL.value)
    if kind == "companies":
        stmt = stmt.where(Company.is_live)  # neither merged nor retired
    if missing:
        stmt = stmt.where(or_(model.geo_precision.in_(IMPROVABLE), model.latitude.is_(None)))
    return stmt.order_by(model.id)


class Progress:
    """A one-line text progress bar on stderr (counts only)."""

    def __init__(self, label: str, total: int, enabled: bool):
        self.label, self.total, self.enabled = label, total, enabled and total > 0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / self.total)
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r{self.label:<10} [{bar}] {done}/{self.total}")
        if done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def geocode_kind(
    session, kind: str, geocoder: Geocoder, *, missing: bool, progress: bool
) -> Counter:
    from crm.geo import effective_location, geocode_entity

    objs = list(session.scalars(_query(kind, missing)))
    bar = Progress(kind, len(objs), progress)
    counts: Counter = Counter()
    for n, obj in enumerate(objs, 1):
        before = effective_location(obj).precision
        loc = geocode_entity(session, obj, geocoder=geocoder, force=not missing)
        counts[loc.precision] += 1
        if loc.precision != before:
            counts["_changed"] += 1
        if n % COMMIT_EVERY == 0:
            session.commit()
        bar.update(n)
    session.commit()
    return counts


def _summary(kind: str, counts: Counter) -> str:
    total = sum(v for k, v in counts.items() if not k.startswith("_"))
    parts = [f"{p} {counts[p]}" for p in PRECISION_ORDER if counts.get(p)]
    failed = counts.get("none", 0)
    return (
        f"{kind}: {total} processed ({counts.get('_changed', 0)} changed) — "
        f"{', '.join(parts) or 'nothing to do'}; failed (not placed): {failed}"
    )


def _run(args) -> int:
    from crm.audit import record
    from crm.auth import SYSTEM
    from crm.geo import Geocoder

    kinds = args.kind or list(KINDS)
    geocoder = Geocoder.from_settings()
    failed = 0
    with unit_of_work() as session:
        for kind in kinds:
            counts = geocode_kind(
                session, kind, geocoder, missing=args.missing, progress=not args.no_progress
            )
            failed += counts.get("none", 0)
            print(_summary(kind, counts))
            record(
                session,
                SYSTEM,
                "geocode.batch",
                kind,
                None,
                missing=bool(args.missing),
                **{p: counts.get(p, 0) for p in PRECISION_ORDER},
            )
    print(
        f"provider {geocoder.provider}: {geocoder.calls} request(s)"
        + (
            " — unavailable, commune fallback used"
            if geocoder.provider != "offline" and not geocoder.online
            else ""
        )
    )
    return 0
