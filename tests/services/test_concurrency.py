"""Simulated users working at the same time on one database (tests/support/concurrency.py).

20 users on PostgreSQL, 8 on SQLite (one writer at a time: WAL, busy timeout,
retries), all through the real services: they log contacts
(``log_interaction``), edit companies (``update_company`` with the version they
loaded; on "modified by someone else" they reload and redo, as a user would),
book seats on offers with few seats (``book_placement``; a full offer is a
legitimate refusal), cancel some of their bookings (seats come back, so the
contention lasts) and read the company list. Afterwards: no unexpected error
reached a user, no offer was ever overbooked, every committed write is in the
database, no edit was lost, versions went up by exactly one per saved edit.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict

from sqlalchemy import func, select

from crm.db import make_engine, make_session_factory, run_in_transaction
from crm.errors import CapacityError, ConcurrentEditError
from crm.models import (
    SEAT_HOLDING_STATUSES,
    AuditEvent,
    Company,
    Interaction,
    Learner,
    Offer,
    Placement,
    Role,
)
from crm.services import placements as placement_service
from crm.services.companies import list_companies, update_company
from crm.services.interactions import log_interaction as log_interaction_service
from crm.services.learners import create_learner
from tests.factories import make_actor
from tests.support.concurrency import Operation, UserContext, run_users

N_COMPANIES = 6
N_OFFERS = 4
SEATS = 2
MAX_USER_RETRIES = 40
OFFER_START = dt.date.today() + dt.timedelta(days=7)
HOLDING = [s.value for s in SEAT_HOLDING_STATUSES]


def log_interaction(ctx: UserContext) -> None:
    """Log a phone call with a company through the CRM service."""
    officer, company_ids = ctx.extra["officer"], ctx.extra["company_ids"]
    ref = f"u{ctx.user}-{ctx.step}"
    company_id = ctx.rng.choice(company_ids)

    def write(s):
        log_interaction_service(
            s,
            officer,
            company_id,
            kind="call",
            summary="Appel de suivi",
            next_action="Rappeler",
            next_action_due=dt.date(2026, 12, 1),
            ref=ref,
        )

    run_in_transaction(ctx.factory, write, attempts=10)
    ctx.record("interaction", ref)


def _load_form(s, company_id: int) -> dict:
    c = s.get(Company, company_id)
    return {"version": c.version, "notes": c.notes}


def edit_company(ctx: UserContext) -> None:
    """Open a company form, think, save with update_company; on conflict reload and redo."""
    officer, company_ids = ctx.extra["officer"], ctx.extra["company_ids"]
    company_id = ctx.rng.choice(company_ids)
    token = f"[u{ctx.user}-{ctx.step}]"
    for _ in range(MAX_USER_RETRIES):
        form = run_in_transaction(ctx.factory, lambda s: _load_form(s, company_id), attempts=10)
        time.sleep(ctx.rng.uniform(0, 0.003))  # the user types
        new_notes = (form["notes"] or "") + token  # the form writes what it showed, plus

        def save(s, version=form["version"], notes=new_notes):
            c = update_company(s, officer, company_id, expected_version=version, notes=notes)
            s.flush()
            return c.version

        try:
            new_version = run_in_transaction(ctx.factory, save, attempts=10)
        except ConcurrentEditError:
            ctx.record("conflict", company_id)
            continue
        ctx.record("edit", (company_id, token, new_version))
        return
    raise AssertionError(f"edit never went through after {MAX_USER_RETRIES} reloads")


def book_seat(ctx: UserContext) -> None:
    """Book one day on an offer with few seats; a full offer is a legitimate refusal."""
    trainer, offer_ids = ctx.extra["trainer"], ctx.extra["offer_ids"]
    learner_id = ctx.extra["learner_ids"][ctx.user]
    offer_id = ctx.rng.choice(offer_ids)
    day = OFFER_START + dt.timedelta(days=ctx.step)  # one learner, never two overlapping periods

    def book(s):
        return placement_service.book_placement(s, trainer, learner_id, offer_id, day, day).id

    try:
        placement_id = run_in_transaction(ctx.factory, book, attempts=10)
    except CapacityError as exc:
        assert "Plus de place libre" in str(exc)
        ctx.record("full", offer_id)
        return
    ctx.record("booking", (placement_id, offer_id))
    ctx.extra.setdefault(f"mine-{ctx.user}", []).append(placement_id)


def cancel_booking(ctx: UserContext) -> None:
    """Cancel one of my bookings (the seat comes back)."""
    trainer = ctx.extra["trainer"]
    mine = ctx.extra.get(f"mine-{ctx.user}", [])
    if not mine:
        return
    placement_id = mine.pop(ctx.rng.randrange(len(mine)))

    def cancel(s):
        placement_service.change_status(
            s, trainer, placement_id, "cancelled", reason="Entreprise indisponible"
        )

    run_in_transaction(ctx.factory, cancel, attempts=10)
    ctx.record("cancel", placement_id)


def read_companies(ctx: UserContext) -> None:
    """Read the company list; versions never go backwards, no offer is ever seen overbooked."""
    officer = ctx.extra["officer"]

    def read(s):
        rows = list_companies(s, officer)
        versions = dict(s.execute(select(Company.id, Company.version)).all())
        taken = dict(
            s.execute(
                select(Placement.offer_id, func.count())
                .where(Placement.status.in_(HOLDING))
                .group_by(Placement.offer_id)
            ).all()
        )
        return rows, versions, taken

    rows, versions, taken = run_in_transaction(ctx.factory, read, attempts=10)
    assert len(rows) == N_COMPANIES
    assert all(n <= SEATS for n in taken.values()), f"overbooked: {taken}"
    seen = ctx.extra.setdefault(f"seen-{ctx.user}", {})
    for cid, ver in versions.items():
        assert ver >= seen.get(cid, 1), "a version went backwards"
        seen[cid] = ver


OPERATIONS = [
    Operation("log_interaction", log_interaction, weight=2),
    Operation("edit_company", edit_company, weight=2),
    Operation("book_seat", book_seat, weight=2),
    Operation("cancel_booking", cancel_booking, weight=0.7),
    Operation("read_companies", read_companies, weight=1),
]


def test_simulated_users(db_url, session, sites):
    tpm = sites[0]
    officer = make_actor(session, Role.OFFICER, *sites)
    trainer = make_actor(session, Role.TRAINER, *sites)
    companies = [
        Company(
            name=f"Entreprise {i}", site_id=tpm.id, status="partner", latitude=43.12, longitude=5.93
        )
        for i in range(N_COMPANIES)
    ]
    session.add_all(companies)
    session.flush()
    offers = [
        Offer(
            company_id=companies[i].id,
            rome_code="D1106",
            title="Vente en alimentation",
            seats=SEATS,
            start_date=OFFER_START,
            end_date=OFFER_START + dt.timedelta(days=120),
            open_to_minors=True,
        )
        for i in range(N_OFFERS)
    ]
    session.add_all(offers)
    session.flush()
    pg = db_url.startswith("postgresql")
    users, per_user = (20, 50) if pg else (8, 40)
    learner_ids = [
        create_learner(
            session,
            trainer,
            tpm.id,
            first_name=f"Stagiaire{i}",
            last_name="Test",
            birth_date=dt.date(2004, 5, 2),
            city="Toulon",
            postcode="83000",
        ).id
        for i in range(users)
    ]
    session.commit()
    company_ids = [c.id for c in companies]
    offer_ids = [o.id for o in offers]

    engine = make_engine(db_url, pool_size=users) if pg else make_engine(db_url)
    factory = make_session_factory(engine)
    extra = {
        "officer": officer,
        "trainer": trainer,
        "company_ids": company_ids,
        "offer_ids": offer_ids,
        "learner_ids": learner_ids,
    }
    try:
        report = run_users(
            factory, OPERATIONS, users=users, operations_per_user=per_user, seed=8, extra=extra
        )
    finally:
        engine.dispose()
    print(
        report.summary(),
        f"conflicts={len(report.committed_keys('conflict'))}",
        f"full={len(report.committed_keys('full'))}",
        f"bookings={len(report.committed_keys('booking'))}",
        f"cancels={len(report.committed_keys('cancel'))}",
    )

    assert report.failures == [], "\n".join(map(str, report.failures[:3]))
    assert report.total == users * per_user

    session.expire_all()
    # Every committed interaction is there, exactly once, with its audit event.
    committed_refs = report.committed_keys("interaction")
    stored = session.scalars(select(Interaction.ref).where(Interaction.ref.like("u%"))).all()
    assert sorted(stored) == sorted(committed_refs)
    audited = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.entity == "interaction")
    )
    assert audited == len(committed_refs)

    # No lost edit; each saved edit raised the version by exactly one.
    edits = defaultdict(list)
    for company_id, token, version in report.committed_keys("edit"):
        edits[company_id].append((version, token))
    assert sum(len(v) for v in edits.values()) == report.done["edit_company"]
    for c in session.scalars(select(Company).where(Company.id.in_(company_ids))):
        mine = sorted(edits.get(c.id, []))
        assert [v for v, _ in mine] == list(range(2, c.version + 1))
        assert (c.notes or "") == "".join(token for _, token in mine)  # in commit order

    # Seats: there was contention, no offer is overbooked, every booking is there,
    # cancelled exactly when the user cancelled it, and nothing else was booked.
    bookings = dict(report.committed_keys("booking"))
    cancelled = set(report.committed_keys("cancel"))
    assert report.committed_keys("full"), "no booking was ever refused: no contention"
    stored = dict(session.execute(select(Placement.id, Placement.status)).all())
    assert set(stored) == set(bookings)
    assert {pid for pid, st in stored.items() if st == "cancelled"} == cancelled
    for offer_id in offer_ids:
        holding = session.scalar(
            select(func.count())
            .select_from(Placement)
            .where(Placement.offer_id == offer_id, Placement.status.in_(HOLDING))
        )
        assert holding <= SEATS
        assert holding == sum(
            1 for pid, oid in bookings.items() if oid == offer_id and pid not in cancelled
        )
    booked_audit = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "placement.book")
    )
    assert booked_audit == len(bookings)
    assert session.scalar(select(func.count()).select_from(Learner)) == users


def test_harness_collects_failures_and_counts():
    """The harness itself: failures are reported per user and operation, never swallowed."""

    def ok(ctx):
        ctx.record("ok", (ctx.user, ctx.step))

    def boom(ctx):
        raise RuntimeError("boom")

    report = run_users(
        None,
        [Operation("ok", ok, weight=3), Operation("boom", boom)],
        users=4,
        operations_per_user=25,
        seed=1,
    )
    assert report.total == 100
    assert report.done["ok"] == len(report.committed_keys("ok")) > 0
    assert len(report.failures) == 100 - report.done["ok"] > 0
    assert {f.operation for f in report.failures} == {"boom"}
    assert "RuntimeError" in str(report.failures[0])
