"""Learners (stagiaires): create, update, list, read — within the actor's sites.

Trainers (and admins) read and write the whole profile of their site's learners;
officers only see the basic fields placing needs (name, project, site), never
support notes, birth date or address; nobody sees another site's learners.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm import validation as v
from crm.auth import Actor, Perm, authorize
from crm.db import expect_version
from crm.errors import PermissionDenied, ValidationError
from crm.labels import LEARNER_FIELD_FR
from crm.models import (
    GeoPrecision,
    Learner,
    LearnerStatus,
    MobilityMode,
    Role,
    RomeJob,
    Site,
    User,
    join_list,
    split_list,
)
from crm.reference import find_commune
from crm.services._common import get_or_404

# Fields a trainer may set (their French names: crm.labels.LEARNER_FIELD_FR).
EDITABLE_FIELDS = tuple(LEARNER_FIELD_FR)
MAX_COMMUTE_RANGE = (5, 180)
# Free-text fields and their maximum length (the columns' sizes; notes kept readable).
TEXT_LIMITS = {"address": 300, "city": 120, "project_text": 5000, "support_notes": 5000}


@dataclass(frozen=True)
class LearnerBasic:
    """What an officer may see of a learner."""

    id: int
    ref: str | None
    first_name: str
    last_name: str
    site_id: int
    site_name: str
    project_codes: tuple[str, ...]
    status: str


def _basic(learner: Learner, site_name: str) -> LearnerBasic:
    return LearnerBasic(
        id=learner.id,
        ref=learner.ref,
        first_name=learner.first_name,
        last_name=learner.last_name,
        site_id=learner.site_id,
        site_name=site_name,
        project_codes=tuple(learner.project_codes),
        status=learner.status,
    )


def _as_date(value, field: str, errors: dict[str, str]) -> dt.date | None:
    """ISO (2026-11-23) or French (23/11/2026) dates, as forms and spreadsheets give them."""
    try:
        return v.date(value)
    except v.FieldError as exc:
        errors[field] = exc.message
        return None


def _referent_error(session: Session, referent_id, site_id: int) -> str | None:
    """French error when ``referent_id`` is not an active account of the learner's site."""
    try:
        uid = int(referent_id)
    except (TypeError, ValueError):
        return "compte inconnu."
    user = session.get(User, uid)
    if user is None or not user.is_active:
        return "compte inconnu ou désactivé."
    if user.role != Role.ADMIN.value and site_id not in {s.id for s in user.sites}:
        return "ce compte n'appartient pas au site du stagiaire."
    return None


def _clean(
    session: Session, values: dict, current: Learner | None, site_id: int | None = None
) -> dict:
    """Validate and normalise ``values``; raise ValidationError listing every problem."""
    errors: dict[str, str] = {}
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({k: "champ inconnu." for k in sorted(unknown)})
    out: dict = {}
    for key, value in values.items():
        if isinstance(value, str):
            value = value.strip()
        out[key] = value if value != "" else None

    def final(key):
        return out[key] if key in out else (getattr(current, key) if current else None)

    for key in ("first_name", "last_name"):
        if key in out or current is None:
            if not out.get(key):
                errors[key] = "obligatoire."
            elif len(out[key]) > 80:
                errors[key] = "80 caractères au plus."
    for key in ("birth_date", "entry_date", "available_from", "available_to"):
        if key in out:
            out[key] = _as_date(out[key], key, errors)
    if current is None and not out.get("entry_date"):
        out["entry_date"] = dt.date.today()
    today = dt.date.today()
    birth = final("birth_date")
    if "birth_date" in out and birth is not None:
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        if not 14 <= age <= 35:
            errors["birth_date"] = "âge improbable pour une E2C (16-25 ans) : vérifiez la date."
    a_from, a_to = final("available_from"), final("available_to")
    if a_from and a_to and a_to < a_from:
        errors["available_to"] = "doit être après « disponible à partir du »."
    known_codes = None
    for key in ("project_rome_1", "project_rome_2", "project_rome_3"):
        if out.get(key):
            code = str(out[key]).split("—")[0].strip().upper()
            if known_codes is None:
                known_codes = set(session.scalars(select(RomeJob.code)))
            if code not in known_codes:
                errors[key] = f"code ROME inconnu « {code} »."
            out[key] = code
    if "skills" in out:
        skills = out["skills"]
        out["skills"] = join_list(split_list(skills) if isinstance(skills, str) else skills or [])
    if "mobility" in out:
        modes = out["mobility"]
        modes = split_list(modes) if isinstance(modes, str) else list(modes or [])
        bad = [m for m in modes if m not in {x.value for x in MobilityMode}]
        if bad:
            errors["mobility"] = f"mode inconnu : {', '.join(bad)}."
        elif not modes:
            errors["mobility"] = "au moins un mode de déplacement."
        out["mobility"] = join_list(modes)
    if "max_commute_min" in out and out["max_commute_min"] is not None:
        try:
            minutes = int(out["max_commute_min"])
        except (TypeError, ValueError):
            minutes = -1
        lo, hi = MAX_COMMUTE_RANGE
        if not lo <= minutes <= hi:
            errors["max_commute_min"] = f"entre {lo} et {hi} minutes."
        out["max_commute_min"] = minutes
    if out.get("latitude") is not None or out.get("longitude") is not None:
        try:
            pair = v.coordinates(final("latitude"), final("longitude"))
        except v.FieldError as exc:
            errors["latitude"] = exc.message
        else:
            out["latitude"], out["longitude"] = pair if pair else (None, None)
    checks = {
        "postcode": v.postcode,
        **{k: partial(v.text, max_length=n) for k, n in TEXT_LIMITS.items()},
    }
    for key, check in checks.items():
        if out.get(key) is not None:
            try:
                out[key] = check(out[key])
            except v.FieldError as exc:
                errors[key] = exc.message
    if out.get("referent_id") is not None:
        site = site_id if site_id is not None else current.site_id
        message = _referent_error(session, out["referent_id"], site)
        if message:
            errors["referent_id"] = message
        else:
            out["referent_id"] = int(out["referent_id"])
    if errors:
        raise ValidationError(errors, LEARNER_FIELD_FR)
    # Coordinates: the commune's centre when the address changed and none were given.
    if ("city" in out or "postcode" in out) and "latitude" not in out:
        commune = find_commune(final("city"), final("postcode"))
        if commune is not None:
            out["latitude"], out["longitude"] = commune.latitude, commune.longitude
            out["geo_precision"] = GeoPrecision.COMMUNE.value
    elif out.get("latitude") is not None and out.get("longitude") is not None:
        out["geo_precision"] = GeoPrecision.MANUAL.value
    return out


def create_learner(session: Session, actor: Actor, site_id: int, **values) -> Learner:
    """Create a learner on ``site_id`` (trainers of that site, admins)."""
    authorize(actor, Perm.LEARNER_WRITE, site_id)
    if session.get(Site, site_id) is None:
        raise ValidationError({"site": "site inconnu."})
    clean = _clean(session, values, None, site_id)
    learner = Learner(site_id=site_id, status=LearnerStatus.ACTIVE.value, **clean)
    if learner.referent_id is None and actor.user_id is not None:
        learner.referent_id = actor.user_id
    session.add(learner)
    session.flush()
    audit.record(
        session, actor, "learner.create", "learner", learner.id, fields=sorted(clean), site=site_id
    )
    return learner


def _load(session: Session, learner_id: int) -> Learner:
    learner = get_or_404(session, Learner, learner_id, "Stagiaire")
    return learner


def update_learner(
    session: Session,
    actor: Actor,
    learner_id: int,
    expected_version: int | None = None,
    **values,
) -> Learner:
    """Change some fields; refused if someone saved the learner since ``expected_version``."""
    authorize(actor, Perm.LEARNER_WRITE)
    learner = _load(session, learner_id)
    authorize(actor, Perm.LEARNER_WRITE, learner.site_id)
    expect_version(learner, expected_version)
    clean = _clean(session, values, learner)
    changed = [k for k, v in clean.items() if getattr(learner, k) != v]
    for k in changed:
        setattr(learner, k, clean[k])
    if changed:
        session.flush()
        audit.record(
            session, actor, "learner.update", "learner", learner.id, fields=sorted(changed)
        )
    return learner


def get_learner(session: Session, actor: Actor, learner_id: int) -> Learner | LearnerBasic:
    """The full learner for trainers/managers/admins, the basic view for officers."""
    authorize(actor, Perm.LEARNER_READ_BASIC)
    learner = _load(session, learner_id)
    if actor.has(Perm.LEARNER_READ):
        authorize(actor, Perm.LEARNER_READ, learner.site_id)
        return learner
    authorize(actor, Perm.LEARNER_READ_BASIC, learner.site_id)
    return _basic(learner, learner.site.name)


def list_learners(
    session: Session,
    actor: Actor,
    *,
    site_id: int | None = None,
    status: str | None = LearnerStatus.ACTIVE.value,
) -> list[Learner] | list[LearnerBasic]:
    """Learners of the actor's sites (one site if given), by name."""
    authorize(actor, Perm.LEARNER_READ_BASIC)
    if site_id is not None and not actor.in_scope(site_id):
        raise PermissionDenied()
    stmt = select(Learner, Site.name).join(Site, Learner.site_id == Site.id)
    stmt = stmt.order_by(Learner.last_name, Learner.first_name, Learner.id)
    if site_id is not None:
        stmt = stmt.where(Learner.site_id == site_id)
    elif not actor.is_admin:
        stmt = stmt.where(Learner.site_id.in_(sorted(actor.site_ids)))
    if status:
        stmt = stmt.where(Learner.status == status)
    rows = session.execute(stmt).all()
    if actor.has(Perm.LEARNER_READ):
        return [learner for learner, _ in rows]
    return [_basic(learner, site_name) for learner, site_name in rows]


def sites_for(session: Session, actor: Actor) -> list[Site]:
    """Sites whose learners the actor may see (all for admins)."""
    authorize(actor, Perm.LEARNER_READ_BASIC)
    stmt = select(Site).order_by(Site.name)
    if not actor.is_admin:
        stmt = stmt.where(Site.id.in_(sorted(actor.site_ids)))
    return list(session.scalars(stmt))


def rome_options(session: Session) -> dict[str, str]:
    """ROME code -> "code — label" for pickers (the referential table)."""
    return {
        j.code: f"{j.code} — {j.label}"
        for j in session.scalars(select(RomeJob).order_by(RomeJob.code))
    }


def skill_options(session: Session) -> list[str]:
    """Skill labels of the referential, alphabetical."""
    from crm.models import Skill

    return list(session.scalars(select(Skill.label).order_by(Skill.label)))
