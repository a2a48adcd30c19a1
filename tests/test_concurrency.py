"""Simulated users working at the same time on one database (tests/concurrency.py).

20 users on PostgreSQL, 5 on SQLite (one writer at a time: WAL, busy timeout,
retries). They log contacts, edit companies through forms (optimistic version
check, reload and redo on conflict, as a user would) and read the company list.
Afterwards: no unexpected error reached a user, every committed write is in the
database, no edit was lost, versions went up by exactly one per saved edit.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict

from sqlalchemy import func, select

from crm import audit
from crm.db import expect_version, make_engine, make_session_factory, run_in_transaction
from crm.errors import ConcurrentEditError
from crm.models import AuditEvent, Company, Interaction, InteractionKind, Role
from crm.services.companies import list_companies
from tests.concurrency import Operation, UserContext, run_users
from tests.conftest import make_actor

N_COMPANIES = 6
MAX_USER_RETRIES = 30


def log_interaction(ctx: UserContext) -> None:
    """Log a phone call with a company (direct ORM insert + audit event)."""
    actor, company_ids = ctx.extra["actor"], ctx.extra["company_ids"]
    ref = f"u{ctx.user}-{ctx.step}"
    company_id = ctx.rng.choice(company_ids)

    def write(s):
        i = Interaction(
            ref=ref,
            company_id=company_id,
            author_id=actor.user_id,
            kind=InteractionKind.CALL.value,
            occurred_at=dt.datetime(2026, 11, 23, 10, 0),
            summary="Appel de suivi",
            next_action="Rappeler",
            next_action_due=dt.date(2026, 12, 1),
        )
        s.add(i)
        s.flush()
        audit.record(s, actor, "create", "interaction", i.id)

    run_in_transaction(ctx.factory, write, attempts=10)
    ctx.record("interaction", ref)


def _load_form(s, company_id: int) -> dict:
    c = s.get(Company, company_id)
    return {"version": c.version, "notes": c.notes}


def edit_company(ctx: UserContext) -> None:
    """Open a company form, think, save; on "modified by someone else", reload and redo."""
    company_ids = ctx.extra["company_ids"]
    company_id = ctx.rng.choice(company_ids)
    token = f"[u{ctx.user}-{ctx.step}]"
    for _ in range(MAX_USER_RETRIES):
        form = run_in_transaction(ctx.factory, lambda s: _load_form(s, company_id), attempts=10)
        time.sleep(ctx.rng.uniform(0, 0.003))  # the user types
        new_notes = (form["notes"] or "") + token  # the form writes what it showed, plus

        def save(s, version=form["version"], notes=new_notes):
            c = s.get(Company, company_id)
            expect_version(c, version)
            c.notes = notes
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


def read_companies(ctx: UserContext) -> None:
    """Read the company list; versions a user sees never go backwards."""
    actor = ctx.extra["actor"]

    def read(s):
        rows = list_companies(s, actor)
        versions = dict(s.execute(select(Company.id, Company.version)).all())
        return rows, versions

    rows, versions = run_in_transaction(ctx.factory, read, attempts=10)
    assert len(rows) == N_COMPANIES
    seen = ctx.extra.setdefault(f"seen-{ctx.user}", {})
    for cid, v in versions.items():
        assert v >= seen.get(cid, 1), "a version went backwards"
        seen[cid] = v


OPERATIONS = [
    Operation("log_interaction", log_interaction, weight=2),
    Operation("edit_company", edit_company, weight=2),
    Operation("read_companies", read_companies, weight=1),
]


def test_simulated_users(db_url, session, sites):
    actor = make_actor(session, Role.MANAGER, *sites)
    companies = [Company(name=f"Entreprise {i}", site_id=sites[0].id) for i in range(N_COMPANIES)]
    session.add_all(companies)
    session.commit()
    company_ids = [c.id for c in companies]

    pg = db_url.startswith("postgresql")
    users, per_user = (20, 50) if pg else (8, 40)
    engine = make_engine(db_url, pool_size=users) if pg else make_engine(db_url)
    factory = make_session_factory(engine)
    extra = {"actor": actor, "company_ids": company_ids}
    try:
        report = run_users(
            factory, OPERATIONS, users=users, operations_per_user=per_user, seed=8, extra=extra
        )
    finally:
        engine.dispose()
    print(report.summary(), f"conflicts={len(report.committed_keys('conflict'))}")

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
