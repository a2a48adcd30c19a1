"""Learners and placements services on SQLite and PostgreSQL: scope, validation,
booking without overbooking (concurrent threads), follow-up, matching from the DB."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from crm.auth import SYSTEM
from crm.errors import (
    CapacityError,
    ConcurrentEditError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from crm.models import AuditEvent, Learner, Offer, Placement, Role
from crm.services import matching as matching_service
from crm.services.learners import (
    LearnerBasic,
    create_learner,
    get_learner,
    list_learners,
    update_learner,
)
from crm.services.placements import (
    book_placement,
    change_status,
    list_placements,
    record_follow_up,
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

# --------------------------------------------------------------------------- learners


def test_trainer_creates_and_updates_learner_of_own_site(session, sites):
    tpm, cavem = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    learner = register_learner(session, trainer, tpm)
    session.commit()
    assert learner.latitude is not None and learner.geo_precision == "commune"
    assert learner.referent_id == trainer.user_id
    v = learner.version
    update_learner(session, trainer, learner.id, expected_version=v, max_commute_min=30)
    session.commit()
    assert session.get(Learner, learner.id).max_commute_min == 30
    with pytest.raises(ConcurrentEditError):
        update_learner(session, trainer, learner.id, expected_version=v, max_commute_min=20)
    events = session.scalars(select(AuditEvent).where(AuditEvent.entity == "learner")).all()
    assert [e.action for e in events] == ["learner.create", "learner.update"]
    assert "Inès" not in str([e.details for e in events])  # no personal values in the audit
    other = make_actor(session, Role.TRAINER, cavem)
    with pytest.raises(PermissionDenied):
        update_learner(session, other, learner.id, max_commute_min=20)
    with pytest.raises(PermissionDenied):
        get_learner(session, other, learner.id)
    with pytest.raises(PermissionDenied):
        create_learner(session, other, tpm.id, first_name="A", last_name="B")
    assert list_learners(session, other) == []


def test_learner_validation_in_french_nothing_saved(session, sites):
    tpm, _ = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    with pytest.raises(ValidationError) as exc:
        create_learner(
            session,
            trainer,
            tpm.id,
            first_name="",
            last_name="X",
            project_rome_1="Z9999",
            mobility="teleport",
            max_commute_min=500,
            available_from="2026-12-10",
            available_to="2026-12-01",
        )
    errors = exc.value.errors  # keyed by field name
    assert errors["first_name"] == "obligatoire."
    assert "code ROME inconnu" in errors["project_rome_1"]
    assert "mode inconnu" in errors["mobility"]
    assert "entre 5 et 180" in errors["max_commute_min"]
    assert "après" in errors["available_to"]
    shown = exc.value.labelled()  # what the trainer reads
    assert shown["prénom"] == "obligatoire." and "après" in shown["disponible jusqu'au"]
    assert session.scalar(select(func.count()).select_from(Learner)) == 0


def test_officer_sees_basic_fields_only(session, sites):
    tpm, _ = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    officer = make_actor(session, Role.OFFICER, tpm)
    learner = register_learner(session, trainer, tpm)
    session.commit()
    basic = get_learner(session, officer, learner.id)
    assert isinstance(basic, LearnerBasic)
    assert basic.project_codes == ("D1106",) and basic.site_name == "TPM"
    assert not hasattr(basic, "support_notes") and not hasattr(basic, "birth_date")
    rows = list_learners(session, officer)
    assert [type(r) for r in rows] == [LearnerBasic]
    with pytest.raises(PermissionDenied):
        update_learner(session, officer, learner.id, max_commute_min=20)
    full = get_learner(session, trainer, learner.id)
    assert full.support_notes == "Suivi renforcé"


# --------------------------------------------------------------------------- booking


def test_book_takes_a_seat_and_refuses_when_full(session, sites):
    tpm, _ = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    company = make_company(session, tpm)
    offer = make_offer(session, company, seats=1)
    a = register_learner(session, trainer, tpm)
    b = register_learner(session, trainer, tpm, first_name="Yanis")
    session.commit()
    p = book_placement(session, trainer, a.id, offer.id, START, END)
    session.commit()
    assert p.status == "proposed" and p.company_id == company.id
    with pytest.raises(CapacityError) as exc:
        book_placement(session, trainer, b.id, offer.id, START, END)
    assert "Plus de place libre" in str(exc.value)
    session.rollback()
    # Cancelling frees the seat.
    change_status(session, trainer, p.id, "cancelled", reason="Désistement")
    session.commit()
    book_placement(session, trainer, b.id, offer.id, START, END)
    session.commit()


def test_book_validations(session, sites):
    tpm, cavem = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    company = make_company(session, tpm)
    closed = make_offer(session, company, open_to_minors=False)
    paused = make_offer(session, company, status="paused")
    minor = register_learner(session, trainer, tpm, birth_date=TODAY.replace(year=TODAY.year - 16))
    session.commit()
    with pytest.raises(ValidationError) as exc:
        book_placement(session, trainer, minor.id, closed.id, START, END)
    assert "mineurs" in exc.value.errors["age"]  # keyed by English name, shown in French:
    assert str(exc.value) == "Âge : cette offre n'accueille pas de mineurs."
    session.rollback()
    with pytest.raises(ValidationError) as exc:
        book_placement(session, trainer, minor.id, paused.id, START, END)
    assert "offer_id" in exc.value.errors
    session.rollback()
    with pytest.raises(ValidationError) as exc:
        book_placement(session, trainer, minor.id, closed.id, START, START - dt.timedelta(days=1))
    assert "dates" in exc.value.errors
    session.rollback()
    other = make_actor(session, Role.TRAINER, cavem)
    session.commit()
    with pytest.raises(PermissionDenied):
        book_placement(session, other, minor.id, closed.id, START, END)
    session.rollback()
    officer = make_actor(session, Role.OFFICER, tpm)
    session.commit()
    with pytest.raises(PermissionDenied):
        book_placement(session, officer, minor.id, closed.id, START, END)
    session.rollback()
    with pytest.raises(NotFound):
        book_placement(session, trainer, minor.id, 999_999, START, END)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Placement)) == 0


@pytest.mark.parametrize("seats", [1, 2])
def test_concurrent_booking_of_last_seats(session_factory, session, sites, seats):
    """N+1 trainers book an offer with N seats at the same instant: N succeed, one CapacityError."""
    tpm, _ = sites
    company = make_company(session, tpm)
    offer = make_offer(session, company, seats=seats)
    trainers, learners = [], []
    for i in range(seats + 1):
        t = make_actor(session, Role.TRAINER, tpm)
        trainers.append(t)
        learners.append(register_learner(session, t, tpm, first_name=f"L{i}").id)
    session.commit()
    offer_id = offer.id
    barrier = threading.Barrier(len(trainers))
    results: list[str] = []
    lock = threading.Lock()

    def worker(actor, learner_id):
        s = session_factory()
        try:
            barrier.wait(timeout=10)
            book_placement(s, actor, learner_id, offer_id, START, END)
            s.commit()
            outcome = "ok"
        except CapacityError as exc:
            s.rollback()
            outcome = "full" if "Plus de place libre" in str(exc) else f"bad:{exc}"
        except Exception as exc:  # noqa: BLE001 - reported in the assertion
            s.rollback()
            outcome = f"error:{type(exc).__name__}:{exc}"
        finally:
            s.close()
        with lock:
            results.append(outcome)

    threads = [
        threading.Thread(target=worker, args=(t, lid))
        for t, lid in zip(trainers, learners, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["full"] + ["ok"] * seats, results
    session.expire_all()
    n = session.scalar(
        select(func.count()).select_from(Placement).where(Placement.offer_id == offer_id)
    )
    assert n == seats


# --------------------------------------------------------------------------- follow-up


def test_status_transitions_evaluation_and_outcome(session, sites):
    tpm, _ = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    company = make_company(session, tpm)
    offer = make_offer(session, company, seats=2)
    learner = register_learner(session, trainer, tpm)
    session.commit()
    p = book_placement(session, trainer, learner.id, offer.id, START, END)
    session.commit()
    with pytest.raises(ValidationError) as exc:
        change_status(session, trainer, p.id, "done")
    assert "impossible" in exc.value.errors["status"]
    with pytest.raises(ValidationError):
        record_follow_up(session, trainer, p.id, tutor_rating=4)  # not started yet
    change_status(session, trainer, p.id, "confirmed")
    session.commit()
    with pytest.raises(ValidationError) as exc:  # starts in the future: not « en cours » yet
        change_status(session, trainer, p.id, "in_progress")
    assert "pas encore" in exc.value.errors["status"]
    session.rollback()
    # Time passes: the period started and ended (dates moved to the past).
    today = dt.date.today()
    got = session.get(Placement, p.id)
    got.start_date, got.end_date = today - dt.timedelta(12), today - dt.timedelta(1)
    session.commit()
    mark_convention_signed(session, p.id)  # "en cours" needs a signed convention
    change_status(session, trainer, p.id, "in_progress")
    session.commit()
    with pytest.raises(ValidationError) as exc:
        record_follow_up(session, trainer, p.id, tutor_rating=7)
    assert "1 à 5" in exc.value.errors["tutor_rating"]
    v = p.version
    record_follow_up(
        session,
        trainer,
        p.id,
        tutor_rating=4,
        tutor_feedback="Très bon contact client",
        skills_observed=["Hygiène (HACCP)", "Caisse"],
        outcome="apprenticeship",
        expected_version=v,
    )
    change_status(session, trainer, p.id, "done")
    session.commit()
    with pytest.raises(ConcurrentEditError):
        record_follow_up(session, trainer, p.id, incident=True, expected_version=v)
    got = session.get(Placement, p.id)
    assert (got.status, got.tutor_rating, got.outcome) == ("done", 4, "apprenticeship")
    assert got.skills_observed == "Hygiène (HACCP);Caisse"
    rows = list_placements(session, trainer, status="done")
    assert [r.id for r in rows] == [p.id] and rows[0].company == company.name
    with pytest.raises(ValidationError) as exc:
        change_status(session, trainer, p.id, "cancelled", reason="x")
    # Cancelling needs a reason.
    p2 = book_placement(
        session, trainer, learner.id, offer.id, END + dt.timedelta(1), END + dt.timedelta(5)
    )
    session.commit()
    with pytest.raises(ValidationError) as exc:
        change_status(session, trainer, p2.id, "cancelled")
    assert "cancel_reason" in exc.value.errors


# --------------------------------------------------------------------------- matching from the DB


def test_suggestions_from_database_and_cache_refresh(session, sites):
    tpm, cavem = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    near = make_company(session, tpm, "Épicerie du Port")
    far = make_company(session, tpm, "Primeur Lointain", latitude=43.70, longitude=7.26)  # Nice
    other = make_company(session, tpm, "Peintures Sud", latitude=43.1235, longitude=5.9290)
    right = make_offer(session, near, seats=1)
    make_offer(session, far)
    make_offer(session, other, code="F1606", title="Peinture en bâtiment")
    learner = register_learner(session, trainer, tpm)
    session.commit()
    profile, got = matching_service.suggestions_for(session, trainer, learner.id, today=TODAY)
    assert profile.project_codes == ("D1106",)
    assert [s.offer_id for s in got][0] == right.id
    assert "Même métier (D1106)" in got[0].explanation
    assert "1/2 compétences" in got[0].explanation
    assert far.id not in {s.company_id for s in got}
    # Booking the only seat removes the offer from the next suggestions (index rebuilt).
    other_learner = register_learner(session, trainer, tpm, first_name="Yanis")
    session.commit()
    book_placement(session, trainer, other_learner.id, right.id, START, END)
    session.commit()
    _, again = matching_service.suggestions_for(session, trainer, learner.id, today=TODAY)
    assert right.id not in [s.offer_id for s in again]
    # Filters: a job override.
    _, painters = matching_service.suggestions_for(
        session, trainer, learner.id, today=TODAY, job="F1606"
    )
    assert painters[0].project_match == "exact" and painters[0].company_id == other.id
    outsider = make_actor(session, Role.TRAINER, cavem)
    with pytest.raises(PermissionDenied):
        matching_service.suggestions_for(session, outsider, learner.id, today=TODAY)


def test_allocate_cohort_respects_seats(session, sites):
    tpm, _ = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    shop = make_company(session, tpm)
    offer = make_offer(session, shop, seats=2)
    ids = [register_learner(session, trainer, tpm, first_name=f"L{i}").id for i in range(4)]
    session.commit()
    result = matching_service.allocate_cohort(session, trainer, site_name="TPM", today=TODAY)
    opt, greedy = result.report.optimal, result.report.greedy
    assert result.report.learners == 4
    assert opt.placed == 2 and opt.seats_used() == {offer.id: 2}
    assert greedy.placed == 2
    assert opt.total_score >= greedy.total_score - 1e-9
    assert set(opt.assignment) <= set(ids)


LEARNERS_HEADER = (
    "ref,first_name,last_name,site,entry_date,city,postcode,project_rome,skills,mobility,"
    "max_commute_min,available_from,available_to\n"
)
GOOD = "L-1,Inès,Martin,TPM,2026-09-01,Toulon,83000,D1106,Ponctualité;Hygiène (HACCP),transit;walk,40,01/12/2026,2027-01-31\n"


def test_import_learners_all_or_nothing_then_upsert(session, sites):
    """The learners import applies the learner form's rules (crm.services.learners)."""
    from crm.services.imports import import_data

    tpm, cavem = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    session.commit()
    bad = "L-2,Tom,Durand,TPM,2026-09-01,Toulon,83000,Z0000,,walk,abc,,\n"
    report = import_data(session, trainer, "learners", (LEARNERS_HEADER + GOOD + bad).encode())
    session.commit()
    assert not report.imported and [e.line for e in report.rejected] == [3]
    reason = report.rejected[0].reason
    assert "code ROME inconnu" in reason and "temps de trajet maximum" in reason
    assert session.scalar(select(func.count()).select_from(Learner)) == 0
    fixed = bad.replace("Z0000", "G1602").replace("abc", "30")
    report = import_data(session, trainer, "learners", (LEARNERS_HEADER + GOOD + fixed).encode())
    session.commit()
    assert (report.created, report.updated, report.imported) == (2, 0, True)
    l1 = session.scalar(select(Learner).where(Learner.ref == "L-1"))
    assert l1.available_from == dt.date(2026, 12, 1) and l1.mobility == "transit;walk"
    assert l1.geo_precision == "commune" and l1.latitude is not None
    again = import_data(
        session, trainer, "learners", (LEARNERS_HEADER + GOOD.replace(",40,", ",50,")).encode()
    )
    session.commit()
    assert (again.created, again.updated) == (0, 1)
    assert session.scalar(select(Learner).where(Learner.ref == "L-1")).max_commute_min == 50
    # A trainer of another site can neither write TPM's learners nor move them.
    other = make_actor(session, Role.TRAINER, cavem)
    session.commit()
    report = import_data(session, other, "learners", (LEARNERS_HEADER + GOOD).encode())
    assert not report.imported and len(report.rejected) == 1
    moved = GOOD.replace(",TPM,", ",CAVEM,")
    report = import_data(session, SYSTEM, "learners", (LEARNERS_HEADER + moved).encode())
    assert "autre site" in report.rejected[0].reason
    session.rollback()
    assert session.scalar(select(Learner).where(Learner.ref == "L-1")).site_id == tpm.id


def test_weights_setting_and_index_cache(session, sites):
    from crm.models import Setting

    tpm, _ = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    shop = make_company(session, tpm, "Épicerie Loin", latitude=43.1450, longitude=5.9300)  # ~2.5 km
    painter = make_company(session, tpm, "Peintre Voisin", latitude=43.1236, longitude=5.9290)  # next door
    same_job = make_offer(session, shop)
    other_job = make_offer(session, painter, code="F1606", title="Peinture")
    learner = register_learner(session, trainer, tpm)
    session.commit()
    first = matching_service.offer_index(session, TODAY)
    assert matching_service.offer_index(session, TODAY) is first  # nothing changed: cached
    _, got = matching_service.suggestions_for(session, trainer, learner.id, today=TODAY)
    assert got[0].offer_id == same_job.id
    session.add(
        Setting(
            key=matching_service.WEIGHTS_SETTING,
            value={"project": 0, "skills": 0, "commute": 1, "reliability": 0, "fairness": 0},
        )
    )
    session.commit()
    _, got = matching_service.suggestions_for(session, trainer, learner.id, today=TODAY)
    assert got[0].offer_id == other_job.id
    session.get(Offer, other_job.id).seats = 3
    session.commit()
    assert matching_service.offer_index(session, TODAY) is not first  # offers changed: rebuilt
