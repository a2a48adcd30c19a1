"""Access matrix: every service function × every role × own-site / other-site target.

Each role's actor works on site "own" (TPM); the admin has no site (admins see every
site). A :class:`World` holds, for each site, a site-bound company, offer, learner
(with a placement) and user account. Each entry of ``MATRIX`` is called once per
(role, scope) inside a SAVEPOINT that is rolled back, so write services can be
checked too; ``PermissionDenied`` means "denied", a normal return means "allowed",
any other exception fails the test. The whole matrix runs on SQLite and PostgreSQL.

HOW TO ADD A SERVICE (one entry, a few lines)::

    from crm.services.learners import get_learner

    Entry(
        "learners.get_learner",                       # "<module>.<function>" in crm/services
        lambda c: get_learner(c.session, c.actor, c.target.learner_id),
        own_site(TRAINER, MANAGER) | anywhere(ADMIN), # who may: (role, scope) pairs
    ),

``c`` is a :class:`Call`: ``c.session``, ``c.actor``, ``c.role``, ``c.scope``
("own"/"other"), ``c.target`` (the :class:`Target` of that scope: ``site_id``,
``company_id``, ``offer_id``, ``learner_id``, ``placement_id``, ``user_id``,
``contact_id``) and ``c.world`` (both targets, the sites, the actors). Expected sets
are built with ``anywhere(*roles)`` (own and other site), ``own_site(*roles)`` and
``nobody``; combine them with ``|``. For a write, pass valid data so that only the
access rule decides (a ValidationError is reported as a test failure, not a denial).

``test_every_service_function_is_in_the_matrix`` lists every public function of
crm/services whose first parameters are ``(session, actor)``: a new service fails
it until it has an entry (or is listed in ``NOT_ACCESS_CONTROLLED`` with a reason).
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session

import crm.services
from crm.auth import Actor, Perm, authorize
from crm.errors import PermissionDenied
from crm.models import Company, Contact, Learner, Offer, Placement, Role, Site, User
from crm.services import audit_log, companies, privacy, settings, users
from tests.conftest import make_actor

OFFICER, TRAINER, MANAGER, ADMIN = Role.OFFICER, Role.TRAINER, Role.MANAGER, Role.ADMIN
ROLES = (OFFICER, TRAINER, MANAGER, ADMIN)
SCOPES = ("own", "other")

Expected = frozenset[tuple[Role, str]]


def anywhere(*roles: Role) -> Expected:
    return frozenset((r, s) for r in roles for s in SCOPES)


def own_site(*roles: Role) -> Expected:
    return frozenset((r, "own") for r in roles)


nobody: Expected = frozenset()


@dataclass
class Target:
    site_id: int
    company_id: int
    contact_id: int
    offer_id: int
    learner_id: int
    placement_id: int
    user_id: int


@dataclass
class World:
    own_site: Site
    other_site: Site
    targets: dict[str, Target]
    actors: dict[Role, Actor]


@dataclass
class Call:
    session: Session
    world: World
    role: Role
    scope: str
    actor: Actor
    target: Target


@dataclass(frozen=True)
class Entry:
    name: str
    call: Callable[[Call], Any]
    allowed: Expected
    note: str = field(default="", compare=False)

    def __repr__(self) -> str:  # pytest ids
        return self.name


def _policy(perm: Perm, allowed: Expected, site_bound: bool = True) -> Entry:
    """The rule itself, for permissions whose services live in other branches.

    ``site_bound=False``: services check the permission without a site (shared data).
    """
    return Entry(
        f"policy:{perm.value}",
        lambda c: authorize(c.actor, perm, c.target.site_id if site_bound else None),
        allowed,
    )


_counter = iter(range(10**6))


MATRIX: list[Entry] = [
    # ------------------------------------------------------------------ the policy, permission by permission
    _policy(Perm.COMPANY_READ, anywhere(*ROLES), site_bound=False),
    _policy(Perm.COMPANY_WRITE, own_site(OFFICER) | anywhere(ADMIN)),
    _policy(Perm.COMPANY_MERGE, own_site(OFFICER) | anywhere(ADMIN)),
    _policy(Perm.INTERACTION_WRITE, own_site(OFFICER, TRAINER) | anywhere(ADMIN)),
    _policy(Perm.LEARNER_READ_BASIC, own_site(OFFICER, TRAINER, MANAGER) | anywhere(ADMIN)),
    _policy(Perm.LEARNER_READ, own_site(TRAINER, MANAGER) | anywhere(ADMIN)),
    _policy(Perm.LEARNER_WRITE, own_site(TRAINER) | anywhere(ADMIN)),
    _policy(Perm.PLACEMENT_READ, own_site(OFFICER, TRAINER, MANAGER) | anywhere(ADMIN)),
    _policy(Perm.PLACEMENT_WRITE, own_site(TRAINER) | anywhere(ADMIN)),
    _policy(Perm.STATS_READ, own_site(MANAGER) | anywhere(ADMIN)),
    _policy(Perm.IMPORT, own_site(OFFICER, TRAINER) | anywhere(ADMIN)),
    _policy(Perm.EXPORT, own_site(OFFICER, TRAINER, MANAGER) | anywhere(ADMIN)),
    _policy(Perm.LEARNER_EXPORT, own_site(MANAGER) | anywhere(ADMIN)),
    _policy(Perm.USER_ADMIN, anywhere(ADMIN)),
    _policy(Perm.SETTINGS_ADMIN, anywhere(ADMIN)),
    _policy(Perm.AUDIT_READ, anywhere(ADMIN)),
    _policy(Perm.PURGE, anywhere(ADMIN)),
    # ------------------------------------------------------------------ companies (shared partner network)
    Entry(
        "companies.list_companies",
        lambda c: companies.list_companies(c.session, c.actor, site_id=c.target.site_id),
        anywhere(*ROLES),
    ),
    Entry(
        "companies.get_company",
        lambda c: companies.get_company(c.session, c.actor, c.target.company_id),
        anywhere(*ROLES),
    ),
    # ------------------------------------------------------------------ users (admin only)
    Entry("users.site_choices", lambda c: users.site_choices(c.session, c.actor), anywhere(ADMIN)),
    Entry("users.list_users", lambda c: users.list_users(c.session, c.actor), anywhere(ADMIN)),
    Entry(
        "users.user_id_for",
        lambda c: users.user_id_for(
            c.session, c.actor, c.session.get(User, c.target.user_id).username
        ),
        anywhere(ADMIN),
    ),
    Entry(
        "users.add_user",
        lambda c: users.add_user(
            c.session,
            c.actor,
            username=f"new-{next(_counter)}",
            role="officer",
            password="un-mot-de-passe-solide",
            site_names=[c.session.get(Site, c.target.site_id).name],
        ),
        anywhere(ADMIN),
    ),
    Entry(
        "users.set_active",
        lambda c: users.set_active(c.session, c.actor, c.target.user_id, False),
        anywhere(ADMIN),
    ),
    Entry(
        "users.reset_password",
        lambda c: users.reset_password(
            c.session, c.actor, c.target.user_id, "un-nouveau-mot-de-passe"
        ),
        anywhere(ADMIN),
    ),
    Entry(
        "users.set_role_and_sites",
        lambda c: users.set_role_and_sites(
            c.session, c.actor, c.target.user_id, "trainer", [c.target.site_id]
        ),
        anywhere(ADMIN),
    ),
    Entry(
        "users.set_email",
        lambda c: users.set_email(c.session, c.actor, c.target.user_id, "x@e2c.example"),
        anywhere(ADMIN),
    ),
    # ------------------------------------------------------------------ audit trail, settings, data protection
    Entry(
        "audit_log.search_audit",
        lambda c: audit_log.search_audit(c.session, c.actor),
        anywhere(ADMIN),
    ),
    Entry(
        "audit_log.audit_choices",
        lambda c: audit_log.audit_choices(c.session, c.actor),
        anywhere(ADMIN),
    ),
    Entry(
        "settings.set_setting",
        lambda c: settings.set_setting(c.session, c.actor, "retention_months", 36),
        anywhere(ADMIN),
    ),
    Entry(
        "privacy.purge_learners",
        lambda c: privacy.purge_learners(
            c.session, c.actor, apply=True, today=dt.date(2026, 11, 23)
        ),
        anywhere(ADMIN),
    ),
    Entry(
        "privacy.export_learner_data",
        lambda c: privacy.export_learner_data(c.session, c.actor, c.target.learner_id),
        own_site(MANAGER) | anywhere(ADMIN),
    ),
]

# Public functions of crm/services taking (session, actor) that need no entry, with the reason.
NOT_ACCESS_CONTROLLED: dict[str, str] = {}


# --------------------------------------------------------------------------- world and runner


def _target(session: Session, site: Site, tag: str) -> Target:
    company = Company(name=f"Entreprise {tag}", site_id=site.id, status="partner")
    session.add(company)
    session.flush()
    contact = Contact(company_id=company.id, last_name=f"Tuteur {tag}", is_tutor=True)
    offer = Offer(company_id=company.id, rome_code="D1102", title="Vente", seats=2)
    learner = Learner(
        site_id=site.id,
        ref=f"L-{tag}",
        first_name="Prénom",
        last_name=f"Nom {tag}",
        entry_date=dt.date(2022, 9, 1),
        exit_date=dt.date(2023, 3, 1),  # old enough for the purge
        status="exited",
        support_notes="notes",
    )
    session.add_all([contact, offer, learner])
    session.flush()
    placement = Placement(
        learner_id=learner.id,
        offer_id=offer.id,
        company_id=company.id,
        start_date=dt.date(2023, 1, 9),
        end_date=dt.date(2023, 1, 20),
        status="done",
    )
    user = User(username=f"cible-{tag}", role="officer", sites=[site])
    session.add_all([placement, user])
    session.flush()
    return Target(site.id, company.id, contact.id, offer.id, learner.id, placement.id, user.id)


@pytest.fixture
def world(session) -> World:
    own = Site(name="TPM", city="Toulon", postcode="83000")
    other = Site(name="CAVEM", city="Fréjus", postcode="83600")
    session.add_all([own, other])
    session.flush()
    targets = {"own": _target(session, own, "own"), "other": _target(session, other, "other")}
    actors = {
        role: make_actor(
            session, role, *([] if role == ADMIN else [own]), username=f"acteur-{role}"
        )
        for role in ROLES
    }
    session.commit()
    return World(own, other, targets, actors)


def run_matrix(session: Session, world: World, entry: Entry) -> frozenset[tuple[Role, str]]:
    allowed = set()
    for role in ROLES:
        for scope in SCOPES:
            call = Call(session, world, role, scope, world.actors[role], world.targets[scope])
            savepoint = session.begin_nested()
            try:
                entry.call(call)
            except PermissionDenied:
                pass
            except Exception as exc:
                raise AssertionError(f"{entry.name} as {role}/{scope} raised {exc!r}") from exc
            else:
                allowed.add((role, scope))
            finally:
                if savepoint.is_active:
                    savepoint.rollback()
                session.expire_all()
    return frozenset(allowed)


def _table(cells: frozenset[tuple[Role, str]]) -> str:
    return ", ".join(
        f"{r.value}:{'+'.join(s for s in SCOPES if (r, s) in cells) or '-'}" for r in ROLES
    )


@pytest.mark.parametrize("entry", MATRIX, ids=lambda e: e.name)
def test_access_matrix(session, world, entry):
    actual = run_matrix(session, world, entry)
    assert actual == entry.allowed, (
        f"{entry.name}\n  expected {_table(entry.allowed)}\n  actual   {_table(actual)}"
    )


def _service_functions() -> list[str]:
    names = []
    for info in pkgutil.iter_modules(crm.services.__path__):
        module = importlib.import_module(f"crm.services.{info.name}")
        for fname, func in inspect.getmembers(module, inspect.isfunction):
            if fname.startswith("_") or func.__module__ != module.__name__:
                continue
            params = list(inspect.signature(func).parameters)
            if params[:2] == ["session", "actor"]:
                names.append(f"{info.name}.{fname}")
    return sorted(names)


def test_every_service_function_is_in_the_matrix():
    covered = {e.name for e in MATRIX} | set(NOT_ACCESS_CONTROLLED)
    missing = [name for name in _service_functions() if name not in covered]
    assert missing == [], f"add access-matrix entries for: {missing}"
    assert {"users.reset_password", "privacy.purge_learners"} <= set(_service_functions())


def test_the_matrix_catches_a_missing_check(session, world, monkeypatch):
    """If a service forgot its authorize() call, its row would no longer match."""
    entry = next(e for e in MATRIX if e.name == "users.list_users")
    assert run_matrix(session, world, entry) == entry.allowed
    monkeypatch.setattr(users, "authorize", lambda *args, **kwargs: None)
    assert run_matrix(session, world, entry) == anywhere(*ROLES) != entry.allowed
