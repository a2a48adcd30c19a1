"""The demo data set: realistic E2C Var network, deterministic, idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.auth import verify_password
from crm.demo import DEMO_PASSWORD, load_demo
from crm.models import Company, Interaction, Learner, Offer, Placement, Site, User
from crm.reference import load_reference_tables
from tests.factories import DEMO_TODAY


def _counts(session) -> dict[str, int]:
    return {
        m.__tablename__: session.scalar(select(func.count()).select_from(m))
        for m in (Site, User, Company, Offer, Learner, Placement, Interaction)
    }


def test_demo_models_e2c_var_and_is_idempotent(session):
    load_demo(session, today=DEMO_TODAY)
    session.commit()
    first = _counts(session)
    report = load_demo(session, today=DEMO_TODAY)
    session.commit()
    assert _counts(session) == first
    assert not any(report.added.values())

    sites = {s.name: s for s in session.scalars(select(Site))}
    assert set(sites) == {"TPM", "CAVEM", "Provence Verte", "Dracénie"}
    assert sites["TPM"].opened_on.isoformat() == "2017-03-13"
    assert sites["Dracénie"].opened_on.isoformat() == "2017-10-23"
    assert first["companies"] >= 120
    names = " ".join(session.scalars(select(Company.name)))
    for partner in (
        "Veolia",
        "AG2R",
        "GRDF",
        "Enedis",
        "Réseau Mistral",
        "Cluster Provence Rosé",
        "Marine Levage",
    ):
        assert partner in names
    # Every company sits in a Var commune with coordinates.
    assert (
        session.scalar(select(func.count()).select_from(Company).where(Company.latitude.is_(None)))
        == 0
    )
    assert all(pc.startswith("83") for pc in session.scalars(select(Company.postcode)))
    # About 200 learners, about a third of them minors today.
    learners = list(session.scalars(select(Learner)))
    assert 180 <= len(learners) <= 230
    minors = sum(1 for lr in learners if lr.age_on(DEMO_TODAY) < 18)
    assert 0.25 <= minors / len(learners) <= 0.42
    # 12 months of contacts, past placements with outcomes.
    oldest = session.scalar(select(func.min(Interaction.occurred_at)))
    assert (DEMO_TODAY - oldest.date()).days <= 366
    assert first["placements"] > 100
    assert (
        session.scalar(
            select(func.count()).select_from(Placement).where(Placement.outcome.is_not(None))
        )
        > 10
    )


def test_demo_placements_never_overbook_and_respect_minors(session):
    load_demo(session, today=DEMO_TODAY)
    session.flush()
    for offer in session.scalars(select(Offer)):
        held = session.scalar(
            select(func.count())
            .select_from(Placement)
            .where(Placement.offer_id == offer.id, Placement.status != "cancelled")
        )
        assert held <= offer.seats, offer.ref
    for p in session.scalars(select(Placement).join(Offer)):
        if not p.offer.open_to_minors:
            assert p.learner.age_on(p.start_date) >= 18


def test_demo_accounts_one_per_role_with_documented_password(session):
    load_demo(session, today=DEMO_TODAY)
    users = {u.username: u for u in session.scalars(select(User))}
    for name, role in [
        ("officer", "officer"),
        ("trainer", "trainer"),
        ("manager", "manager"),
        ("admin", "admin"),
    ]:
        assert users[name].role == role
        assert verify_password(users[name].password_hash, DEMO_PASSWORD)
        assert DEMO_PASSWORD not in users[name].password_hash


def test_reference_tables_load_rome_and_skills(session):
    added = load_reference_tables(session)
    assert added["rome_jobs"] > 500 and added["skills"] > 100
    assert load_reference_tables(session) == {"rome_jobs": 0, "skills": 0}


def test_demo_is_identical_on_sqlite_and_postgresql(demo_sqlite_url, demo_pg_url):
    from sqlalchemy import text

    from crm.db import make_engine

    def snapshot(url):
        engine = make_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT p.ref, l.ref, o.ref, p.start_date, p.status FROM placements p "
                    "JOIN learners l ON l.id = p.learner_id LEFT JOIN offers o ON o.id = p.offer_id "
                    "ORDER BY p.ref"
                )
            ).all()
        engine.dispose()
        return [tuple(str(v) for v in r) for r in rows]

    assert snapshot(demo_sqlite_url) == snapshot(demo_pg_url)
