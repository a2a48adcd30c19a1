"""One set of rules for every write path (issue 11), on SQLite and PostgreSQL.

- Site scope: an import never rewrites a row of another site through an existing ``ref``
  (contacts, interactions, placements), checked in the services the importer calls.
- Booking rules: a placements import refuses what ``book_placement`` refuses.
- Seats and periods under concurrency, with real threads: an import racing a booking,
  ``update_offer`` lowering the seats while a booking runs, one learner booked on two
  offers at once. 0 overbooked offers, 0 overlapping periods, every round.
- SQLite: a unit of work that reads, then writes while another user wrote, is never
  refused with "database is locked" (write transactions begin IMMEDIATE).
- Learner's referent, follow-up and placement dates (issue 12 "Dates").
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import func, select, text

from crm.db import make_engine, make_session_factory, run_in_transaction, session_scope
from crm.errors import CapacityError, PermissionDenied, ValidationError
from crm.models import (
    AuditEvent,
    Company,
    Contact,
    Interaction,
    Learner,
    Offer,
    Placement,
    Role,
)
from crm.services.contacts import upsert_contact
from crm.services.imports import import_data
from crm.services.interactions import (
    log_interaction,
    mark_done,
    reschedule,
    upsert_interaction,
)
from crm.services.learners import create_learner, update_learner
from crm.services.offers import update_offer
from crm.services.placements import (
    book_placement,
    change_status,
    record_follow_up,
    upsert_placement,
)
from tests.factories import (
    END,
    START,
    TODAY,
    make_actor,
    make_company,
    make_offer,
    register_learner,
)
from tests.support.paperwork import mark_convention_signed

ROUNDS = 10
HOLDING = ("proposed", "confirmed", "in_progress", "done")


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


# --------------------------------------------------------------------------- site scope


@pytest.fixture
def two_sites(session, sites):
    """A TPM company with a contact, an interaction and a placement; a CAVEM company,
    learner and the CAVEM officer and trainer who will try to rewrite TPM's rows."""
    tpm, cavem = sites
    tpm_officer = make_actor(session, Role.OFFICER, tpm)
    tpm_trainer = make_actor(session, Role.TRAINER, tpm)
    cavem_officer = make_actor(session, Role.OFFICER, cavem)
    cavem_trainer = make_actor(session, Role.TRAINER, cavem)
    tpm_co = make_company(session, tpm, ref="C-TPM")
    cavem_co = make_company(session, cavem, name="Boulangerie de Fréjus", ref="C-CAVEM")
    session.add(Contact(ref="K-TPM", company_id=tpm_co.id, last_name="Roux", first_name="Léa"))
    log_interaction(session, tpm_officer, tpm_co.id, kind="call", summary="Appel", ref="I-TPM")
    tpm_offer = make_offer(session, tpm_co, seats=3, ref="O-TPM")
    cavem_offer = make_offer(session, cavem_co, seats=3, ref="O-CAVEM")
    tpm_learner = register_learner(session, tpm_trainer, tpm, ref="L-TPM")
    cavem_learner = register_learner(session, cavem_trainer, cavem, ref="L-CAVEM")
    p = book_placement(session, tpm_trainer, tpm_learner.id, tpm_offer.id, START, END)
    p.ref = "P-TPM"
    session.commit()
    return {
        "cavem_officer": cavem_officer,
        "cavem_trainer": cavem_trainer,
        "tpm_co": tpm_co,
        "cavem_co": cavem_co,
        "cavem_offer": cavem_offer,
        "cavem_learner": cavem_learner,
    }


CROSS_SITE_IMPORTS = {
    # kind: (actor key, file moving TPM's row to CAVEM)
    "contacts": (
        "cavem_officer",
        _csv("ref,company_ref,first_name,last_name", "K-TPM,C-CAVEM,Jo,Pirate"),
    ),
    "interactions": (
        "cavem_officer",
        _csv("ref,company_ref,date,kind,summary", "I-TPM,C-CAVEM,2026-11-02,call,Réécrit"),
    ),
    "placements": (
        "cavem_trainer",
        _csv(
            "ref,learner_ref,company_ref,offer_ref,start_date,end_date,status",
            f"P-TPM,L-CAVEM,C-CAVEM,O-CAVEM,{START},{END},proposed",
        ),
    ),
}


def _snapshot(session):
    session.expire_all()
    contact = session.scalar(select(Contact).where(Contact.ref == "K-TPM"))
    interaction = session.scalar(select(Interaction).where(Interaction.ref == "I-TPM"))
    placement = session.scalar(select(Placement).where(Placement.ref == "P-TPM"))
    return (
        (contact.company_id, contact.first_name, contact.last_name),
        (interaction.company_id, interaction.summary),
        (placement.learner_id, placement.company_id, placement.offer_id),
    )


@pytest.mark.parametrize("kind", sorted(CROSS_SITE_IMPORTS))
def test_import_never_rewrites_another_sites_row(session, two_sites, kind):
    actor_key, data = CROSS_SITE_IMPORTS[kind]
    before = _snapshot(session)
    report = import_data(session, two_sites[actor_key], kind, data, f"{kind}.csv")
    session.commit()
    assert not report.imported
    assert [r.reason for r in report.rejected] == [str(PermissionDenied())]
    assert _snapshot(session) == before  # cross-site writes: 0 succeeded


def test_upsert_services_check_the_existing_rows_site(session, two_sites):
    """The rule lives in the services: any caller (the import package, a script) gets it."""
    before = _snapshot(session)
    w = two_sites
    calls = [
        lambda: upsert_contact(
            session, w["cavem_officer"], ref="K-TPM", company_id=w["cavem_co"].id, last_name="X"
        ),
        lambda: upsert_interaction(
            session,
            w["cavem_officer"],
            ref="I-TPM",
            company_id=w["cavem_co"].id,
            kind="call",
            summary="Réécrit",
        ),
        lambda: upsert_placement(
            session,
            w["cavem_trainer"],
            ref="P-TPM",
            learner_id=w["cavem_learner"].id,
            company_id=w["cavem_co"].id,
            offer_id=w["cavem_offer"].id,
            start_date=START,
            end_date=END,
        ),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
        session.rollback()
    assert _snapshot(session) == before
    # Their own rows: created, then unchanged on a second identical call.
    args = dict(ref="K-NEW", company_id=w["cavem_co"].id, last_name="Durand")
    assert upsert_contact(session, w["cavem_officer"], **args) == "created"
    assert upsert_contact(session, w["cavem_officer"], **args) == "unchanged"
    assert upsert_contact(session, w["cavem_officer"], **{**args, "last_name": "Dupont"}) == (
        "updated"
    )


# --------------------------------------------------------------------------- booking rules on import


@pytest.fixture
def booking_world(session, sites):
    tpm, _ = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    company = make_company(session, tpm, ref="C1")
    make_offer(session, company, seats=1, ref="O-ADULTS", open_to_minors=False)
    make_offer(session, company, seats=1, ref="O-FULL")
    make_offer(session, company, seats=5, ref="O-OPEN")
    inactive = make_company(session, tpm, name="Fermée", ref="C-INACTIVE")
    make_offer(session, inactive, seats=5, ref="O-INACTIVE")
    inactive.status = "inactive"
    register_learner(session, trainer, tpm, ref="L-ADULT")
    register_learner(session, trainer, tpm, ref="L-OTHER")
    register_learner(
        session, trainer, tpm, ref="L-MINOR", birth_date=TODAY.replace(year=TODAY.year - 16)
    )
    exited = register_learner(session, trainer, tpm, ref="L-EXITED")
    exited.status = "exited"
    session.flush()
    full = session.scalar(select(Offer).where(Offer.ref == "O-FULL"))
    other = session.scalar(select(Learner).where(Learner.ref == "L-OTHER"))
    book_placement(session, trainer, other.id, full.id, START, END)
    session.commit()
    return trainer


OUTSIDE = (START - dt.timedelta(days=30), START - dt.timedelta(days=20))
REFUSED_BOOKINGS = {
    # case: (learner_ref, company_ref, offer_ref, start, end, expected French text)
    "minor on an adults-only offer": ("L-MINOR", "C1", "O-ADULTS", START, END, "mineurs"),
    "exited learner": ("L-EXITED", "C1", "O-OPEN", START, END, "plus en parcours"),
    "inactive company": ("L-ADULT", "C-INACTIVE", "O-INACTIVE", START, END, "plus active"),
    "dates outside the offer": ("L-ADULT", "C1", "O-OPEN", *OUTSIDE, "hors de la période"),
    "no free seat": ("L-ADULT", "C1", "O-FULL", START, END, "Plus de place libre"),
    "overlapping period": ("L-OTHER", "C1", "O-OPEN", START, END, "déjà une période"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_BOOKINGS))
def test_import_refuses_what_booking_refuses(session, booking_world, case):
    learner_ref, company_ref, offer_ref, start, end, expected = REFUSED_BOOKINGS[case]
    before = session.scalar(select(func.count()).select_from(Placement))
    for status in ("proposed", "confirmed"):
        data = _csv(
            "ref,learner_ref,company_ref,offer_ref,start_date,end_date,status",
            f"P-NEW,{learner_ref},{company_ref},{offer_ref},{start},{end},{status}",
        )
        report = import_data(session, booking_world, "placements", data, "p.csv")
        assert not report.imported, case
        assert expected in report.rejected[0].reason, report.rejected
    # The form's path refuses it with the same message.
    learner = session.scalar(select(Learner).where(Learner.ref == learner_ref))
    offer = session.scalar(select(Offer).where(Offer.ref == offer_ref))
    with pytest.raises((ValidationError, CapacityError)) as exc:
        book_placement(session, booking_world, learner.id, offer.id, start, end)
    assert expected in str(exc.value)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Placement)) == before


def test_import_books_a_valid_placement_and_reimport_is_unchanged(session, booking_world):
    data = _csv(
        "ref,learner_ref,company_ref,offer_ref,start_date,end_date,status",
        f"P-NEW,L-ADULT,C1,O-OPEN,{START},{END},confirmed",
    )
    assert import_data(session, booking_world, "placements", data, "p.csv").created == 1
    report = import_data(session, booking_world, "placements", data, "p.csv")
    assert (report.created, report.updated, report.rejected) == (0, 0, [])
    # A status that the dates do not allow yet is refused like a status change.
    future = data.replace(b"confirmed", b"in_progress")
    report = import_data(session, booking_world, "placements", future, "p.csv")
    assert "pas encore" in report.rejected[0].reason


def test_import_follows_the_status_rules_of_the_period_page(session, booking_world):
    """The convention gate and the one-way life of a period hold for a file too."""
    company = session.scalar(select(Company).where(Company.ref == "C1"))
    make_offer(session, company, seats=5, ref="O-NOW", start_date=TODAY - dt.timedelta(days=10))
    session.commit()
    begun, ends = TODAY - dt.timedelta(days=2), TODAY + dt.timedelta(days=10)
    header = "ref,learner_ref,company_ref,offer_ref,start_date,end_date,status"

    def load(status: str):
        data = _csv(header, f"P-NOW,L-ADULT,C1,O-NOW,{begun},{ends},{status}")
        return import_data(session, booking_world, "placements", data, "p.csv")

    # A new period cannot arrive « en cours »: nobody signed its convention.
    report = load("in_progress")
    assert not report.imported and "convention" in report.rejected[0].reason
    assert load("confirmed").created == 1
    session.commit()  # the caller owns the transaction (the page and the CLI commit)
    placement = session.scalar(select(Placement).where(Placement.ref == "P-NOW"))
    # Unsigned: the import is refused with the period page's own message.
    report = load("in_progress")
    assert not report.imported and "non signée" in report.rejected[0].reason
    with pytest.raises(ValidationError) as page_error:
        change_status(session, booking_world, placement.id, "in_progress")
    session.rollback()
    assert str(page_error.value.errors["paperwork"]) in report.rejected[0].reason
    assert session.get(Placement, placement.id).status == "confirmed"
    # Signed: it starts.
    mark_convention_signed(session, placement.id)
    session.commit()
    assert load("in_progress").updated == 1
    # Never backwards, and a cancellation needs the page (its reason).
    report = load("confirmed")
    assert not report.imported and "impossible" in report.rejected[0].reason
    report = load("cancelled")
    assert not report.imported and "motif" in report.rejected[0].reason
    session.expire_all()
    assert session.get(Placement, placement.id).status == "in_progress"


# --------------------------------------------------------------------------- seats under concurrency


def _race(*fns):
    """Run ``fns`` in threads started together; return what each returned or raised."""
    barrier = threading.Barrier(len(fns))
    results: list[object] = [None] * len(fns)

    def run(i, fn):
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # collected and checked by the caller
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a racing thread is stuck"
    return results


@pytest.fixture
def race_engine(db_url):
    engine = make_engine(db_url, pool_size=4) if db_url.startswith("postgresql") else None
    engine = engine or make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


def _holding(session, offer_id) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Placement)
        .where(Placement.offer_id == offer_id, Placement.status.in_(HOLDING))
    )


def _legit(result, *allowed) -> None:
    if isinstance(result, Exception):
        assert isinstance(result, allowed), repr(result)


def test_import_racing_a_booking_never_overbooks(session, sites, race_engine):
    tpm, _ = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    company = make_company(session, tpm, ref="C1")
    rounds = []
    for i in range(ROUNDS):
        offer = make_offer(session, company, seats=1, ref=f"O{i}")
        a = register_learner(session, trainer, tpm, ref=f"LA{i}")
        b = register_learner(session, trainer, tpm, ref=f"LB{i}")
        rounds.append((offer.id, offer.ref, a.ref, b.id))
    session.commit()
    overbooked = 0
    for offer_id, offer_ref, a_ref, b_id in rounds:
        data = _csv(
            "ref,learner_ref,company_ref,offer_ref,start_date,end_date,status",
            f"P-{offer_ref},{a_ref},C1,{offer_ref},{START},{END},confirmed",
        )

        def do_import(data=data):
            def work(s):
                report = import_data(s, trainer, "placements", data, "p.csv")
                return report.created

            return run_in_transaction(race_engine, work, attempts=10)

        def do_book(offer_id=offer_id, b_id=b_id):
            return run_in_transaction(
                race_engine,
                lambda s: book_placement(s, trainer, b_id, offer_id, START, END).id,
                attempts=10,
            )

        imported, booked = _race(do_import, do_book)
        _legit(booked, CapacityError)
        assert not isinstance(imported, Exception), repr(imported)
        session.expire_all()
        held = _holding(session, offer_id)
        session.commit()
        overbooked += held > 1
        assert held == 1, (imported, booked)
    assert overbooked == 0


def test_lowering_seats_racing_a_booking_never_overbooks(session, sites, race_engine):
    tpm, _ = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    officer = make_actor(session, Role.OFFICER, tpm)
    company = make_company(session, tpm)
    rounds = []
    for _ in range(ROUNDS):
        offer = make_offer(session, company, seats=2)
        first = register_learner(session, trainer, tpm)
        second = register_learner(session, trainer, tpm)
        book_placement(session, trainer, first.id, offer.id, START, END)
        rounds.append((offer.id, offer.version, second.id))
    session.commit()
    outcomes = []
    for offer_id, version, learner_id in rounds:

        def lower(offer_id=offer_id, version=version):
            return run_in_transaction(
                race_engine,
                lambda s: update_offer(s, officer, offer_id, version, seats=1).seats,
                attempts=10,
            )

        def book(offer_id=offer_id, learner_id=learner_id):
            return run_in_transaction(
                race_engine,
                lambda s: book_placement(s, trainer, learner_id, offer_id, START, END).id,
                attempts=10,
            )

        lowered, booked = _race(lower, book)
        _legit(lowered, ValidationError)
        _legit(booked, CapacityError)
        if isinstance(lowered, ValidationError):
            assert "impossible de descendre en dessous" in str(lowered)
        session.expire_all()
        seats = session.get(Offer, offer_id).seats
        held = _holding(session, offer_id)
        session.commit()
        assert held <= seats, f"overbooked: {held} > {seats} ({lowered!r}, {booked!r})"
        outcomes.append(isinstance(lowered, int))
    assert len(outcomes) == ROUNDS


def test_one_learner_on_two_offers_at_once_never_overlaps(session, sites, race_engine):
    tpm, _ = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    company = make_company(session, tpm)
    rounds = []
    for _ in range(ROUNDS):
        x = make_offer(session, company, seats=3)
        y = make_offer(session, company, seats=3)
        learner = register_learner(session, trainer, tpm)
        rounds.append((learner.id, x.id, y.id))
    session.commit()
    overlaps = 0
    for learner_id, x, y in rounds:
        results = _race(
            *[
                lambda o=o, lid=learner_id: run_in_transaction(
                    race_engine,
                    lambda s: book_placement(s, trainer, lid, o, START, END).id,
                    attempts=10,
                )
                for o in (x, y)
            ]
        )
        for r in results:
            _legit(r, ValidationError)
        refused = [r for r in results if isinstance(r, ValidationError)]
        assert len(refused) == 1 and "déjà une période" in str(refused[0]), results
        session.expire_all()
        n = session.scalar(
            select(func.count())
            .select_from(Placement)
            .where(Placement.learner_id == learner_id, Placement.status.in_(HOLDING))
        )
        session.commit()
        overlaps += n > 1
    assert overlaps == 0


def test_update_offer_refuses_fewer_seats_than_used(session, sites):
    tpm, _ = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    officer = make_actor(session, Role.OFFICER, tpm)
    offer = make_offer(session, make_company(session, tpm), seats=2)
    for _ in range(2):
        book_placement(
            session, trainer, register_learner(session, trainer, tpm).id, offer.id, START, END
        )
    session.commit()
    with pytest.raises(ValidationError) as exc:
        update_offer(session, officer, offer.id, offer.version, seats=1)
    assert "2 place(s) déjà occupée(s)" in exc.value.errors["seats"]


# --------------------------------------------------------------------------- SQLite write transactions


def test_read_then_write_while_another_user_writes_is_never_locked(db_url, session, sites):
    """A unit of work that read, then writes after another user committed, goes through.

    On SQLite a deferred transaction in this position was refused at once with
    "database is locked" (its snapshot is stale, the busy timeout does not apply);
    write transactions now begin IMMEDIATE, so the other user waits instead.
    """
    tpm, _ = sites
    a = make_company(session, tpm, name="A")
    b = make_company(session, tpm, name="B")
    session.commit()
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    read_done, other_started = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first_user():
        try:
            with session_scope(factory) as s:  # a page's unit of work
                s.get(Company, a.id).name  # noqa: B018 - reads first
                read_done.set()
                other_started.wait(5)
                time.sleep(0.3)  # the other user's write is under way
                s.execute(text("UPDATE companies SET notes = 'un' WHERE id = :id"), {"id": a.id})
        except BaseException as exc:
            errors.append(exc)

    def second_user():
        try:
            read_done.wait(5)
            other_started.set()
            with session_scope(factory) as s:
                s.execute(text("UPDATE companies SET notes = 'deux' WHERE id = :id"), {"id": b.id})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_user), threading.Thread(target=second_user)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    engine.dispose()
    assert errors == []
    session.expire_all()
    assert (session.get(Company, a.id).notes, session.get(Company, b.id).notes) == ("un", "deux")


def test_read_only_units_of_work_do_not_block_writers(db_url, session, sites):
    """Only writing units of work begin as writers: a page that only reads never blocks them."""
    tpm, _ = sites
    company = make_company(session, tpm)
    session.commit()
    engine = make_engine(db_url, busy_timeout_ms=500)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory, read_only=True) as reader:
            assert reader.get(Company, company.id).name  # the read transaction stays open
            with session_scope(factory) as writer:
                writer.get(Company, company.id).notes = "écrit"
            plain = factory()  # plain sessions are deferred too
            assert plain.get(Company, company.id).notes == "écrit"
            plain.close()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- learner's referent


def test_referent_must_be_an_account_of_the_learners_site(session, sites):
    tpm, cavem = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    colleague = make_actor(session, Role.TRAINER, tpm)
    stranger = make_actor(session, Role.TRAINER, cavem)
    session.commit()
    for bad, message in ((987_654, "compte inconnu"), (stranger.user_id, "site du stagiaire")):
        with pytest.raises(ValidationError) as exc:
            register_learner(session, trainer, tpm, referent_id=bad)
        assert message in exc.value.errors["referent_id"]
        session.rollback()
    learner = register_learner(session, trainer, tpm, referent_id=colleague.user_id)
    session.commit()
    assert learner.referent_id == colleague.user_id
    with pytest.raises(ValidationError) as exc:
        update_learner(session, trainer, learner.id, referent_id=987_654)
    assert "compte inconnu" in exc.value.errors["referent_id"]
    session.rollback()
    assert (
        create_learner
    )  # the import goes through the same service (tests/services/test_importer.py)


# --------------------------------------------------------------------------- dates (issue 12)


def test_follow_up_cannot_be_postponed_to_the_past(session, sites):
    tpm, _ = sites
    officer = make_actor(session, Role.OFFICER, tpm)
    company = make_company(session, tpm)
    i = log_interaction(
        session, officer, company.id, kind="call", summary="Appel", next_action="Rappeler"
    )
    session.commit()
    with pytest.raises(ValidationError) as exc:
        reschedule(session, officer, i.id, dt.date(2020, 1, 1))
    assert "passé" in exc.value.errors["next_action_due"]
    session.rollback()
    assert reschedule(session, officer, i.id, TODAY).next_action_due == TODAY
    done = mark_done(session, officer, i.id, note="Rendez-vous pris le 3")
    assert done.next_action_done and "Rendez-vous pris le 3" in done.outcome
    session.commit()


def test_status_changes_follow_the_dates_unless_an_admin_corrects(session, sites):
    tpm, _ = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    admin = make_actor(session, Role.ADMIN)
    offer = make_offer(session, make_company(session, tpm), seats=2)
    p = book_placement(
        session, trainer, register_learner(session, trainer, tpm).id, offer.id, START, END
    )
    change_status(session, trainer, p.id, "confirmed")
    mark_convention_signed(session, p.id)  # the paperwork gate is not what is tested here
    session.commit()
    with pytest.raises(ValidationError) as exc:
        change_status(session, trainer, p.id, "in_progress")
    assert "pas encore « en cours »" in exc.value.errors["status"]
    session.rollback()
    with pytest.raises(PermissionDenied):
        change_status(session, trainer, p.id, "in_progress", correct_history=True)
    session.rollback()
    change_status(session, admin, p.id, "in_progress", correct_history=True)
    session.commit()
    with pytest.raises(ValidationError) as exc:  # the evaluation waits for the end
        record_follow_up(session, trainer, p.id, tutor_rating=4, outcome="employment")
    assert "fin de la période" in exc.value.errors["status"]
    session.rollback()
    with pytest.raises(ValidationError) as exc:
        change_status(session, trainer, p.id, "done")
    assert "pas encore « terminée »" in exc.value.errors["status"]
    session.rollback()
    # Feedback without a rating during the period: no rating is invented.
    record_follow_up(session, trainer, p.id, tutor_feedback="Bon début")
    session.commit()
    assert session.get(Placement, p.id).tutor_rating is None
    audited = session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity == "placement", AuditEvent.action == "placement.status"
        )
    ).all()
    assert any((e.details or {}).get("corrected_history") for e in audited)
