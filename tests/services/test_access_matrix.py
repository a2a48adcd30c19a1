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
from crm.auth import SYSTEM, Actor, Perm, authorize
from crm.errors import PermissionDenied
from crm.models import (
    Company,
    Contact,
    Establishment,
    Interaction,
    Learner,
    Offer,
    Placement,
    Role,
    Site,
    User,
)
from crm.services import (
    audit_log,
    companies,
    contacts,
    geo,
    interactions,
    learners,
    matching,
    merge,
    offers,
    paperwork,
    placements,
    privacy,
    prospecting,
    settings,
    stats,
    users,
)
from crm.services import imports as importer
from crm.services.imports import bulk as import_bulk
from tests.factories import make_actor

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
    site_name: str = ""
    company2_id: int = 0  # a second company of the site (merges)
    offer2_id: int = 0  # an open offer with free seats (booking)
    learner2_id: int = 0  # an active adult learner awaiting a placement
    placement2_id: int = 0  # a "proposed" placement (status changes)
    interaction_id: int = 0  # an interaction with an open next action


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


TODAY = dt.date(2026, 11, 23)


def _version(c: Call, model, ident: int) -> int:
    return c.session.get(model, ident).version


def _check_learners(c: Call, items) -> None:
    """No learner of another site for non-admins; never notes nor birth dates for officers."""
    for item in items:
        if not c.actor.is_admin:
            assert item.site_id in c.actor.site_ids, f"learner of site {item.site_id} leaked"
        if c.role == OFFICER:
            assert not isinstance(item, Learner), "officer received a full learner record"
            for private in ("support_notes", "birth_date", "address", "project_text"):
                assert not hasattr(item, private), f"officer received {private}"


def _incomplete_is_allowed(call):
    """A paperwork call stopped by missing facts got past its access check: allowed."""
    try:
        return call()
    except paperwork.PaperworkIncomplete:
        return None


def _not_found_is_allowed(call):
    from crm.errors import NotFound

    try:
        return call()
    except NotFound:
        return None


def _give_ref(c: Call, model, ident: int) -> str:
    """Give an existing row a ref (inside the entry's savepoint) and return it."""
    ref = f"REF-{next(_counter)}"
    c.session.get(model, ident).ref = ref
    c.session.flush()
    return ref


def _check(c: Call, check, result):
    check(c, result)
    return result


def _check_sites(c: Call, sites) -> None:
    if not c.actor.is_admin:
        assert {s.id for s in sites} <= c.actor.site_ids, "another site offered"


def _check_worklist(c: Call, rows) -> None:
    """Learners to place on the map: only for those who edit them, of their own sites."""
    learner_ids = [r.id for r in rows if r.kind == "learner"]
    if c.role in (OFFICER, MANAGER):
        assert learner_ids == [], f"{c.role} received learners' addresses"
    _check_learners(c, [c.session.get(Learner, i) for i in learner_ids])
    if c.role == TRAINER:
        assert c.world.targets["own"].learner2_id in learner_ids  # the check is not vacuous


def _check_placement_rows(c: Call, rows) -> None:
    sites = {c.session.get(Learner, r.learner_id).site_id for r in rows}
    assert sites, "no placement listed: the check would be vacuous"
    if not c.actor.is_admin:
        assert sites <= c.actor.site_ids, "placement of another site's learner listed"
    for r in rows:
        for private in ("support_notes", "birth_date", "address"):
            assert not hasattr(r, private), f"placement row carries {private}"


def _check_company_file(c: Call, file) -> None:
    """The placements of a company file never hand out a learner of another site."""
    assert len(file.placements) == 2
    for p in file.placements:
        assert not hasattr(p, "learner"), "company file exposes learner records"
        named = p.learner_label is not None
        assert named == (c.actor.is_admin or c.scope == "own"), (
            f"learner name shown={named} to {c.role}/{c.scope}"
        )


def _no_other_site_refs(c: Call, df) -> None:
    if c.actor.is_admin:
        return
    text = df.to_csv()
    for tag in ("L-other", "L2-other"):
        assert tag not in text, f"export leaked another site's learner {tag}"
    assert "support_notes" not in df.columns or c.role != OFFICER


def _imported(report):
    """An import whose rows were all refused for access counts as a denial."""
    if report.imported:
        return report
    denied = str(PermissionDenied())
    if report.rejected and all(r.reason == denied for r in report.rejected):
        raise PermissionDenied()
    raise AssertionError(f"import rejected: {report.rejected!r}")


def _planned(c: Call):
    """The bulk path's check phase on one company row of the target's site."""
    report = importer.ImportReport("companies")
    row = {"name": f"Prévue {next(_counter)}", "site": c.target.site_name}
    import_bulk.plan_import(c.session, c.actor, "companies", [(2, row)], report)
    report.imported = not report.rejected
    return report


def _filters(c: Call) -> stats.StatsFilters:
    return stats.StatsFilters(
        dt.date(2026, 1, 1), dt.date(2026, 12, 31), site_ids=(c.target.site_id,), today=TODAY
    )


def _stats_entry(name: str) -> Entry:
    func = getattr(stats, name)
    return Entry(
        f"stats.{name}",
        lambda c: func(c.session, c.actor, _filters(c)),
        own_site(MANAGER) | anywhere(ADMIN),
    )


STATS_FUNCTIONS = (
    "scope_sites",
    "school_report",
    "partners_by_sector",
    "partners_by_domain",
    "partner_tables",
    "capacity",
    "unused_offers",
    "placements_by_month",
    "placements_by_job",
    "placements_by_site",
    "outcomes",
    "officer_activity",
    "overdue_followups",
    "partner_points",
    "dashboard",
    "report_workbook",
)


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
        lambda c: _check(
            c,
            _check_company_file,
            companies.get_company(c.session, c.actor, c.target.company_id),
        ),
        anywhere(*ROLES),
        note="every role reads the file; learners named only for the actor's own site",
    ),
    # ------------------------------------------------------------------ company writes (officers of the site, admins)
    Entry(
        "companies.create_company",
        lambda c: companies.create_company(
            c.session, c.actor, name=f"Nouvelle {next(_counter)}", site_id=c.target.site_id
        ),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "companies.create_company_unless_duplicate",
        lambda c: companies.create_company_unless_duplicate(
            c.session,
            c.actor,
            confirmed=True,
            name=f"Nouvelle {next(_counter)}",
            site_id=c.target.site_id,
        ),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "companies.update_company",
        lambda c: companies.update_company(
            c.session,
            c.actor,
            c.target.company_id,
            _version(c, Company, c.target.company_id),
            name="Entreprise renommée",
        ),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "companies.change_status",
        lambda c: companies.change_status(
            c.session, c.actor, c.target.company2_id, "inactive", "fermeture"
        ),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "companies.change_status[system flag]",
        lambda c: companies.change_status(
            c.session, c.actor, c.target.company2_id, "inactive", "fermeture", system=True
        ),
        own_site(OFFICER, TRAINER) | anywhere(ADMIN),
        note="automatic move after a logged contact: needs the interaction right",
    ),
    Entry(
        "contacts.create_contact",
        lambda c: contacts.create_contact(
            c.session, c.actor, c.target.company_id, last_name="Durand", first_name="Léa"
        ),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "contacts.update_contact",
        lambda c: contacts.update_contact(c.session, c.actor, c.target.contact_id, first_name="Jo"),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "contacts.upsert_contact",
        lambda c: contacts.upsert_contact(
            c.session,
            c.actor,
            ref=f"K-{next(_counter)}",
            company_id=c.target.company_id,
            last_name="Durand",
        ),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "contacts.upsert_contact[existing ref of the target site, moved to own site]",
        lambda c: contacts.upsert_contact(
            c.session,
            c.actor,
            ref=_give_ref(c, Contact, c.target.contact_id),
            company_id=c.world.targets["own"].company_id,
            last_name="Déplacé",
        ),
        own_site(OFFICER) | anywhere(ADMIN),
        note="the scope of the EXISTING row is checked, not only the target's",
    ),
    # ------------------------------------------------------------------ interactions
    Entry(
        "interactions.upsert_interaction",
        lambda c: interactions.upsert_interaction(
            c.session,
            c.actor,
            ref=f"I-{next(_counter)}",
            company_id=c.target.company_id,
            kind="call",
            summary="Appel importé",
        ),
        own_site(OFFICER, TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "interactions.upsert_interaction[existing ref of the target site, moved to own site]",
        lambda c: interactions.upsert_interaction(
            c.session,
            c.actor,
            ref=_give_ref(c, Interaction, c.target.interaction_id),
            company_id=c.world.targets["own"].company_id,
            kind="call",
            summary="Réécrit",
        ),
        own_site(OFFICER, TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "interactions.journal",
        lambda c: interactions.journal(c.session, c.actor, site_ids=[c.target.site_id]),
        anywhere(*ROLES),
    ),
    Entry(
        "interactions.log_interaction",
        lambda c: interactions.log_interaction(
            c.session, c.actor, c.target.company_id, kind="call", summary="Appel de suivi"
        ),
        own_site(OFFICER, TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "interactions.mark_done",
        lambda c: interactions.mark_done(c.session, c.actor, c.target.interaction_id),
        own_site(OFFICER, TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "interactions.reschedule",
        lambda c: interactions.reschedule(
            c.session, c.actor, c.target.interaction_id, dt.date(2027, 1, 15)
        ),
        own_site(OFFICER, TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "interactions.my_followups",
        lambda c: interactions.my_followups(c.session, c.actor, today=TODAY),
        anywhere(OFFICER, TRAINER, ADMIN),
    ),
    # ------------------------------------------------------------------ merges
    Entry(
        "merge.duplicate_pairs",
        lambda c: merge.duplicate_pairs(c.session, c.actor),
        anywhere(*ROLES),
    ),
    Entry(
        "merge.merge_companies",
        lambda c: merge.merge_companies(
            c.session, c.actor, c.target.company_id, c.target.company2_id
        ),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "merge.merge_companies[across sites]",
        lambda c: merge.merge_companies(
            c.session,
            c.actor,
            c.world.targets["own"].company2_id,
            c.world.targets["other"].company2_id,
        ),
        anywhere(ADMIN),
    ),
    # ------------------------------------------------------------------ offers
    Entry(
        "offers.list_offers",
        lambda c: offers.list_offers(c.session, c.actor, today=TODAY),
        anywhere(*ROLES),
    ),
    Entry(
        "offers.create_offer",
        lambda c: offers.create_offer(
            c.session, c.actor, c.target.company_id, rome_code="D1102", title="Vente", seats=1
        ),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "offers.update_offer",
        lambda c: offers.update_offer(
            c.session,
            c.actor,
            c.target.offer_id,
            _version(c, Offer, c.target.offer_id),
            title="Vente conseil",
        ),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "offers.pause_offer",
        lambda c: offers.pause_offer(c.session, c.actor, c.target.offer_id, dt.date(2027, 1, 31)),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "offers.reopen_offer",
        lambda c: offers.reopen_offer(c.session, c.actor, c.target.offer_id),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "offers.close_offer",
        lambda c: offers.close_offer(c.session, c.actor, c.target.offer_id),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    # ------------------------------------------------------------------ learners (site-bound)
    Entry(
        "learners.get_learner",
        lambda c: _check(
            c, _check_learners, [learners.get_learner(c.session, c.actor, c.target.learner2_id)]
        ),
        own_site(OFFICER, TRAINER, MANAGER) | anywhere(ADMIN),
    ),
    Entry(
        "learners.list_learners",
        lambda c: _check(
            c, _check_learners, learners.list_learners(c.session, c.actor, site_id=c.target.site_id)
        ),
        own_site(OFFICER, TRAINER, MANAGER) | anywhere(ADMIN),
    ),
    Entry(
        "learners.list_learners[all my sites]",
        lambda c: _check(
            c, _check_learners, learners.list_learners(c.session, c.actor, status=None)
        ),
        anywhere(OFFICER, TRAINER, MANAGER, ADMIN),
        note="no site given: only the actor's sites come back (checked per row)",
    ),
    Entry(
        "learners.sites_for",
        lambda c: _check(c, _check_sites, learners.sites_for(c.session, c.actor)),
        anywhere(OFFICER, TRAINER, MANAGER, ADMIN),
    ),
    Entry(
        "learners.create_learner",
        lambda c: learners.create_learner(
            c.session,
            c.actor,
            c.target.site_id,
            first_name="Nina",
            last_name="Martin",
            entry_date=dt.date(2026, 11, 2),
        ),
        own_site(TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "learners.update_learner",
        lambda c: learners.update_learner(
            c.session, c.actor, c.target.learner2_id, max_commute_min=30
        ),
        own_site(TRAINER) | anywhere(ADMIN),
    ),
    # ------------------------------------------------------------------ matching (full profiles: no officers)
    Entry(
        "matching.suggestions_for",
        lambda c: matching.suggestions_for(c.session, c.actor, c.target.learner2_id, today=TODAY),
        own_site(TRAINER, MANAGER) | anywhere(ADMIN),
    ),
    Entry(
        "matching.cohort_suggestions",
        lambda c: list(
            matching.cohort_suggestions(
                c.session, c.actor, [c.session.get(Learner, c.target.learner2_id)], today=TODAY
            )
        ),
        own_site(TRAINER, MANAGER) | anywhere(ADMIN),
    ),
    Entry(
        "matching.awaiting_learners",
        lambda c: _check(
            c,
            _check_learners,
            matching.awaiting_learners(c.session, c.actor, c.target.site_id),
        ),
        own_site(TRAINER, MANAGER) | anywhere(ADMIN),
    ),
    Entry(
        "matching.allocate_cohort",
        lambda c: matching.allocate_cohort(
            c.session, c.actor, site_name=c.target.site_name, today=TODAY
        ),
        own_site(TRAINER, MANAGER) | anywhere(ADMIN),
    ),
    # ------------------------------------------------------------------ placements
    Entry(
        "placements.list_placements",
        lambda c: placements.list_placements(c.session, c.actor, site_id=c.target.site_id),
        own_site(OFFICER, TRAINER, MANAGER) | anywhere(ADMIN),
    ),
    Entry(
        "placements.list_placements[all my sites]",
        lambda c: _check(c, _check_placement_rows, placements.list_placements(c.session, c.actor)),
        anywhere(OFFICER, TRAINER, MANAGER, ADMIN),
        note="no site given: only placements of the actor's sites' learners (checked per row)",
    ),
    Entry(
        "placements.book_placement",
        lambda c: placements.book_placement(
            c.session,
            c.actor,
            c.target.learner2_id,
            c.target.offer2_id,
            dt.date(2027, 1, 11),
            dt.date(2027, 1, 22),
        ),
        own_site(TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "placements.upsert_placement",
        lambda c: placements.upsert_placement(
            c.session,
            c.actor,
            ref=f"P-{next(_counter)}",
            learner_id=c.target.learner2_id,
            company_id=c.target.company_id,
            offer_id=c.target.offer2_id,
            start_date=dt.date(2027, 1, 11),
            end_date=dt.date(2027, 1, 22),
        ),
        own_site(TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "placements.upsert_placement[existing ref of the target site, own learner]",
        lambda c: placements.upsert_placement(
            c.session,
            c.actor,
            ref=_give_ref(c, Placement, c.target.placement2_id),
            learner_id=c.world.targets["own"].learner2_id,
            company_id=c.world.targets["own"].company_id,
            offer_id=c.world.targets["own"].offer2_id,
            start_date=dt.date(2027, 1, 11),
            end_date=dt.date(2027, 1, 22),
        ),
        own_site(TRAINER) | anywhere(ADMIN),
        note="the scope of the EXISTING row is checked, not only the target's",
    ),
    Entry(
        "placements.booking_options",
        lambda c: placements.booking_options(c.session, c.actor, [c.target.offer2_id]),
        anywhere(OFFICER, TRAINER, MANAGER, ADMIN),
        note="company data (window, free seats, contacts): every role reads companies",
    ),
    Entry(
        "placements.change_status",
        lambda c: placements.change_status(c.session, c.actor, c.target.placement2_id, "confirmed"),
        own_site(TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "placements.record_follow_up",
        lambda c: placements.record_follow_up(
            c.session, c.actor, c.target.placement_id, tutor_rating=4
        ),
        own_site(TRAINER) | anywhere(ADMIN),
    ),
    # ------------------------------------------------------------------ paperwork (learner's site staff, admins)
    Entry(
        "paperwork.get_paperwork",
        lambda c: paperwork.get_paperwork(c.session, c.actor, c.target.placement_id),
        own_site(TRAINER, MANAGER) | anywhere(ADMIN),
    ),
    Entry(
        "paperwork.generate",
        lambda c: _incomplete_is_allowed(
            lambda: paperwork.generate(c.session, c.actor, c.target.placement_id, "evaluation")
        ),
        own_site(TRAINER, MANAGER) | anywhere(ADMIN),
        note="the target has no tutor: reaching the facts check means access was granted",
    ),
    Entry(
        "paperwork.save_facts",
        lambda c: paperwork.save_facts(
            c.session, c.actor, c.target.placement2_id, {"daily_hours": "9h-17h"}
        ),
        own_site(TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "paperwork.record_signature",
        lambda c: _incomplete_is_allowed(
            lambda: paperwork.record_signature(
                c.session, c.actor, c.target.placement2_id, "beneficiary", TODAY
            )
        ),
        own_site(TRAINER) | anywhere(ADMIN),
        note="facts are missing on the target: reaching that check means access was granted",
    ),
    Entry(
        "paperwork.remove_signature",
        lambda c: _not_found_is_allowed(
            lambda: paperwork.remove_signature(
                c.session, c.actor, c.target.placement2_id, "beneficiary"
            )
        ),
        own_site(TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "paperwork.upload_scan",
        lambda c: paperwork.upload_scan(
            c.session, c.actor, c.target.placement_id, "scan.pdf", b"%PDF-1.4\n1 0 obj\n%%EOF\n"
        ),
        own_site(TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "paperwork.get_scan",
        lambda c: paperwork.get_scan(
            c.session,
            c.actor,
            paperwork.upload_scan(
                c.session, SYSTEM, c.target.placement_id, "scan.pdf", b"%PDF-1.4\n%%EOF\n"
            ),
        ),
        own_site(TRAINER, MANAGER) | anywhere(ADMIN),
    ),
    Entry(
        "paperwork.ensure_signed_for_start",
        lambda c: paperwork.ensure_signed_for_start(
            c.session, c.actor, c.target.placement2_id, override_reason="Convention papier"
        ),
        anywhere(ADMIN),
        note="trainers reach it but only an admin may override an unsigned convention",
    ),
    Entry(
        "paperwork.conventions_to_sign",
        lambda c: paperwork.conventions_to_sign(c.session, c.actor, site_id=c.target.site_id),
        own_site(TRAINER, MANAGER) | anywhere(ADMIN),
    ),
    Entry(
        "paperwork.evaluations_due",
        lambda c: paperwork.evaluations_due(c.session, c.actor, site_id=c.target.site_id),
        own_site(TRAINER, MANAGER) | anywhere(ADMIN),
    ),
    Entry(
        "paperwork.median_signature_delay",
        lambda c: paperwork.median_signature_delay(c.session, c.actor, site_id=c.target.site_id),
        own_site(MANAGER) | anywhere(ADMIN),
    ),
    # ------------------------------------------------------------------ statistics (managers of the site, admins)
    *[_stats_entry(name) for name in STATS_FUNCTIONS],
    Entry(
        "stats.sites_for",
        lambda c: stats.sites_for(c.session, c.actor),
        anywhere(MANAGER, ADMIN),
    ),
    Entry(
        "stats.record_export",
        lambda c: stats.record_export(c.session, c.actor, "capacity", "csv", _filters(c)),
        own_site(MANAGER) | anywhere(ADMIN),
    ),
    # ------------------------------------------------------------------ imports and exports
    Entry(
        "imports.import_data",
        lambda c: _imported(
            importer.import_data(
                c.session,
                c.actor,
                "companies",
                f"name;site\nImportée {next(_counter)};{c.target.site_name}\n".encode(),
                "entreprises.csv",
            )
        ),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "imports.import_data[learners]",
        lambda c: _imported(
            importer.import_data(
                c.session,
                c.actor,
                "learners",
                (
                    "first_name;last_name;site;entry_date\n"
                    f"Lou;Import{next(_counter)};{c.target.site_name};2026-11-02\n"
                ).encode(),
                "stagiaires.csv",
            )
        ),
        own_site(TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "imports.plan_import",
        lambda c: _imported(_planned(c)),
        own_site(OFFICER) | anywhere(ADMIN),
        note="the bulk path's checks, row by row, before any write",
    ),
    Entry(
        "imports.export_frame",
        lambda c: importer.export_frame(c.session, c.actor, "companies"),
        anywhere(OFFICER, TRAINER, MANAGER, ADMIN),
    ),
    Entry(
        "imports.export_frame[learners]",
        lambda c: _check(
            c, _no_other_site_refs, importer.export_frame(c.session, c.actor, "learners")
        ),
        anywhere(TRAINER, MANAGER, ADMIN),
        note="no site argument: rows of other sites are filtered out (checked)",
    ),
    Entry(
        "imports.export_frame[placements]",
        lambda c: _check(
            c, _no_other_site_refs, importer.export_frame(c.session, c.actor, "placements")
        ),
        anywhere(OFFICER, TRAINER, MANAGER, ADMIN),
    ),
    Entry(
        "imports.export_bytes",
        lambda c: importer.export_bytes(c.session, c.actor, "offers", "offres.csv"),
        anywhere(OFFICER, TRAINER, MANAGER, ADMIN),
    ),
    # ------------------------------------------------------------------ geography
    Entry(
        "geo.company_locations",
        lambda c: geo.company_locations(c.session, c.actor, [c.target.company_id]),
        anywhere(*ROLES),
    ),
    Entry(
        "geo.worklist",
        lambda c: _check(c, _check_worklist, geo.worklist(c.session, c.actor)),
        anywhere(*ROLES),
        note="a list filtered by the actor's rights (empty for managers); no denial",
    ),
    Entry(
        "geo.fix_address",
        lambda c: geo.fix_address(
            c.session,
            c.actor,
            "company",
            c.target.company_id,
            address=None,
            postcode="83000",
            city="Toulon",
        ),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "geo.drop_pin",
        lambda c: geo.drop_pin(
            c.session, c.actor, "learner", c.target.learner2_id, 43.12, 5.93
        ),
        own_site(TRAINER) | anywhere(ADMIN),
    ),
    Entry(
        "geo.drop_pin[company]",
        lambda c: geo.drop_pin(
            c.session, c.actor, "company", c.target.company_id, 43.12, 5.93
        ),
        own_site(OFFICER) | anywhere(ADMIN),
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
    Entry(
        "prospecting.prospects_for_learner",
        lambda c: prospecting.prospects_for_learner(c.session, c.actor, _located_learner(c)),
        own_site(OFFICER, TRAINER, MANAGER) | anywhere(ADMIN),
    ),
    Entry(
        "prospecting.prospects_near",
        lambda c: prospecting.prospects_near(
            c.session, c.actor, "G1803", site_id=_located_site(c), radius_km=10
        ),
        own_site(OFFICER, TRAINER, MANAGER) | anywhere(ADMIN),
    ),
    Entry(
        "prospecting.add_prospect",
        lambda c: prospecting.add_prospect(
            c.session, c.actor, _register_establishment(c), site_id=c.target.site_id
        ),
        own_site(OFFICER) | anywhere(ADMIN),
    ),
    Entry(
        "prospecting.register_summary",
        lambda c: prospecting.register_summary(c.session, c.actor),
        anywhere(*ROLES),
    ),
]


def _located_learner(c: Call) -> int:
    """The target learner with a home and a project (inside the rolled-back savepoint)."""
    learner = c.session.get(Learner, c.target.learner_id)
    learner.latitude, learner.longitude = 43.1242, 5.9280
    learner.project_rome_1 = "G1803"
    c.session.flush()
    return learner.id


def _located_site(c: Call) -> int:
    site = c.session.get(Site, c.target.site_id)
    site.latitude, site.longitude = 43.1242, 5.9280
    c.session.flush()
    return site.id


def _register_establishment(c: Call) -> str:
    """One register establishment near Toulon (rolled back with the savepoint)."""
    from tests.support.sirene import siret

    est = Establishment(
        siret=siret("12345678900011"), name="Le Bistrot du Port", naf="56.10A", size_band="11",
        postcode="83000", commune_name="Toulon", latitude=43.1242, longitude=5.9280,
        geo_precision="housenumber", active=True,
    )  # fmt: skip
    c.session.add(est)
    c.session.flush()
    return est.siret

# Public functions of crm/services taking (session, actor) that need no entry, with the reason.
NOT_ACCESS_CONTROLLED: dict[str, str] = {
    "users.change_own_password": "acts on the actor's own account only (its current "
    "password checked): no other user or site can be named",
}


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
    company2 = Company(name=f"Société {tag} bis", site_id=site.id, status="partner")
    session.add_all([placement, user, company2])
    session.flush()
    offer2 = Offer(
        company_id=company.id,
        rome_code="D1106",
        title="Mise en rayon",
        seats=3,
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2027, 12, 31),
        open_to_minors=True,
    )
    learner2 = Learner(
        site_id=site.id,
        ref=f"L2-{tag}",
        first_name="Autre",
        last_name=f"Stagiaire {tag}",
        birth_date=dt.date(2004, 5, 1),
        entry_date=dt.date(2026, 9, 1),
        status="active",
        project_rome_1="D1106",
        mobility="transit",
        support_notes="notes confidentielles",
    )
    interaction = Interaction(
        company_id=company.id,
        author_id=None,
        kind="call",
        summary="Premier appel",
        next_action="Rappeler",
        next_action_due=dt.date(2026, 12, 1),
    )
    session.add_all([offer2, learner2, interaction])
    session.flush()
    placement2 = Placement(
        learner_id=learner2.id,
        offer_id=offer2.id,
        company_id=company.id,
        start_date=dt.date(2026, 12, 7),
        end_date=dt.date(2026, 12, 18),
        status="proposed",
    )
    session.add(placement2)
    session.flush()
    return Target(
        site.id,
        company.id,
        contact.id,
        offer.id,
        learner.id,
        placement.id,
        user.id,
        site.name,
        company2.id,
        offer2.id,
        learner2.id,
        placement2.id,
        interaction.id,
    )


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


def _service_modules() -> list[tuple[str, str]]:
    """(module, short name) of every service module; a package's modules share its name."""
    out = []
    for info in pkgutil.iter_modules(crm.services.__path__):
        name = f"crm.services.{info.name}"
        out.append((name, info.name))
        if info.ispkg:
            package = importlib.import_module(name)
            out += [
                (f"{name}.{sub.name}", info.name) for sub in pkgutil.iter_modules(package.__path__)
            ]
    return out


def _service_functions() -> list[str]:
    names = []
    for module_name, short in _service_modules():
        module = importlib.import_module(module_name)
        for fname, func in inspect.getmembers(module, inspect.isfunction):
            if fname.startswith("_") or func.__module__ != module.__name__:
                continue
            params = list(inspect.signature(func).parameters)
            if params[:2] == ["session", "actor"]:
                names.append(f"{short}.{fname}")
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
