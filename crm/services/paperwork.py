"""Placement paperwork: conventions (PMSMP Cerfa 13912, the school's convention de stage),
attestation and evaluation form, generated as French A4 PDFs from the records; signatures
and scanned signed agreements; the "signed before it starts" gate.

Status of a placement's agreement (``placement_paperwork.status``):
- à préparer: facts are missing (the French list says which) — no document can be generated;
- à signer: every fact is there; signatures are recorded one by one (beneficiary, legal
  representative when the learner is a minor on the first day, host, school);
- signée: every required signature is recorded (``signed_at`` = when the last one was).

Access: a learner's documents carry their birth date and address, so only staff who read
full learner records of the learner's site (trainers, managers) and admins read or generate
them; writes (facts, signatures, scans) are the trainers' (and admins'). Audit events hold
ids, kinds and field names, never document content.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import statistics
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from crm import audit
from crm.auth import Actor, Perm, authorize
from crm.db import expect_version
from crm.errors import NotFound, PermissionDenied, ValidationError
from crm.labels import (
    PAPERWORK_FIELD_FR,
    PAPERWORK_KIND_FR,
    PAPERWORK_STATUS_FR,
    PLACEMENT_OBJECTIVE_FR,
    SIGNER_ROLE_FR,
)
from crm.models import (
    Company,
    Contact,
    Learner,
    Offer,
    PaperworkScan,
    PaperworkSignature,
    PaperworkStatus,
    Placement,
    PlacementKind,
    PlacementPaperwork,
    PlacementStatus,
    RomeJob,
    SignerRole,
    Site,
    User,
    split_list,
    utcnow,
)
from crm.services._common import get_or_404

KINDS = ("pmsmp", "stage", "attestation", "evaluation")
FACT_FIELDS = (
    "objective",
    "daily_hours",
    "weekly_hours",
    "weekly_schedule",
    "workplace",
    "activities",
    "risks",
    "protective_equipment",
    "legal_rep_name",
    "legal_rep_phone",
    "legal_rep_address",
    "hours_done",
)
# Facts that may still change once the convention is signed (they are not in it).
AFTER_SIGNATURE_FIELDS = frozenset({"hours_done"})
PDF_MAGIC = b"%PDF-"
EVALUATION_DUE_DAYS = 7  # an evaluation is due from a week before the end of the period
HAND_ENTRY = "____________________ (à compléter à la main)"


# A refusal keyed by paperwork field, named in French by PAPERWORK_FIELD_FR.
_invalid = functools.partial(ValidationError, labels=PAPERWORK_FIELD_FR)


class PaperworkIncomplete(ValidationError):
    """Facts are missing: the document is not generated; ``missing`` lists them in French."""

    def __init__(self, kind: str, missing: list[str]):
        self.kind = kind
        self.missing = list(missing)
        super().__init__({label: "à renseigner" for label in missing})
        self.args = (
            f"{PAPERWORK_KIND_FR[kind]} impossible à générer : il manque "
            + ", ".join(self.missing)
            + ".",
        )

    def __str__(self) -> str:
        return self.args[0]


# --------------------------------------------------------------------------- loading


@dataclass
class _Records:
    placement: Placement
    learner: Learner
    company: Company
    offer: Offer | None
    tutor: Contact | None
    site: Site
    referent: User | None
    paperwork: PlacementPaperwork
    signatures: dict[str, PaperworkSignature]
    rome_label: str | None


def _placement_and_learner(session: Session, placement_id: int) -> tuple[Placement, Learner]:
    placement = get_or_404(session, Placement, placement_id, "Période")
    return placement, session.get(Learner, placement.learner_id)


def _paperwork_row(session: Session, placement: Placement, create: bool) -> PlacementPaperwork:
    """The placement's paperwork row; a pre-filled unsaved one when none exists and not ``create``

    (reads never insert: two people opening the same placement never race on its creation).
    """
    row = session.get(PlacementPaperwork, placement.id)
    if row is None:
        row = PlacementPaperwork(placement_id=placement.id, status=PaperworkStatus.TO_PREPARE.value)
        offer = session.get(Offer, placement.offer_id) if placement.offer_id else None
        if offer is not None and offer.description:
            row.activities = offer.description  # a starting point the trainer edits
        previous = session.scalar(  # a minor's legal representative is typed once per learner
            select(PlacementPaperwork)
            .join(Placement, Placement.id == PlacementPaperwork.placement_id)
            .where(
                Placement.learner_id == placement.learner_id,
                PlacementPaperwork.legal_rep_name.is_not(None),
            )
            .order_by(Placement.start_date.desc())
            .limit(1)
        )
        if previous is not None:
            row.legal_rep_name = previous.legal_rep_name
            row.legal_rep_phone = previous.legal_rep_phone
            row.legal_rep_address = previous.legal_rep_address
        if create:
            session.add(row)
            session.flush()
    return row


def _records(
    session: Session, placement: Placement, learner: Learner, create: bool = False
) -> _Records:
    paperwork = _paperwork_row(session, placement, create)
    signatures = {
        s.role: s
        for s in session.scalars(
            select(PaperworkSignature).where(PaperworkSignature.placement_id == placement.id)
        )
    }
    offer = session.get(Offer, placement.offer_id) if placement.offer_id else None
    tutor_id = placement.tutor_id or (offer.tutor_id if offer else None)
    rome = session.get(RomeJob, placement.rome_code) if placement.rome_code else None
    return _Records(
        placement=placement,
        learner=learner,
        company=session.get(Company, placement.company_id),
        offer=offer,
        tutor=session.get(Contact, tutor_id) if tutor_id else None,
        site=session.get(Site, learner.site_id),
        referent=session.get(User, learner.referent_id) if learner.referent_id else None,
        paperwork=paperwork,
        signatures=signatures,
        rome_label=rome.label if rome else None,
    )


def is_minor(placement: Placement, learner: Learner) -> bool:
    age = learner.age_on(placement.start_date)
    return age is not None and age < 18


def required_signers(placement: Placement, learner: Learner) -> list[str]:
    roles = [SignerRole.BENEFICIARY.value]
    if is_minor(placement, learner):
        roles.append(SignerRole.LEGAL_REPRESENTATIVE.value)
    return [*roles, SignerRole.HOST.value, SignerRole.SCHOOL.value]


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def missing_facts(r: _Records, kind: str) -> list[str]:
    """What must be filled (in French, where) before ``kind`` can be generated."""
    p, lr, c, pw, t = r.placement, r.learner, r.company, r.paperwork, r.tutor
    missing: list[str] = []

    def need(cond: bool, label: str) -> None:
        if cond:
            missing.append(label)

    if kind in ("pmsmp", "stage"):
        need(lr.birth_date is None, "date de naissance du stagiaire (fiche stagiaire)")
        need(
            _blank(lr.address) or _blank(lr.postcode) or _blank(lr.city),
            "adresse complète du stagiaire (fiche stagiaire)",
        )
        if is_minor(p, lr):
            need(_blank(pw.legal_rep_name), "nom du représentant légal (stagiaire mineur)")
            need(_blank(pw.legal_rep_phone), "téléphone du représentant légal")
            need(_blank(pw.legal_rep_address), "adresse du représentant légal")
        need(r.referent is None, "formateur référent du stagiaire (fiche stagiaire)")
        need(_blank(c.siret), "SIRET de l'entreprise (fiche entreprise)")
        need(
            _blank(c.address) or _blank(c.postcode) or _blank(c.city),
            "adresse de l'entreprise (fiche entreprise)",
        )
        need(_blank(c.naf), "code NAF de l'entreprise (fiche entreprise)")
        need(t is None, "tuteur de la période (offre ou période)")
        if t is not None:
            need(_blank(t.job_title), "fonction du tuteur (contact)")
            need(_blank(t.phone), "téléphone du tuteur (contact)")
        need(_blank(p.rome_code), "métier (code ROME) de la période")
        need(_blank(pw.objective), "objectif de la période")
        need(_blank(pw.daily_hours), "horaires journaliers")
        need(pw.weekly_hours is None, "durée hebdomadaire (heures)")
        need(_blank(pw.weekly_schedule), "jours travaillés")
        need(_blank(pw.activities), "activités confiées")
        need(_blank(pw.risks), "risques du poste (« aucun risque particulier » si c'est le cas)")
        need(
            _blank(pw.protective_equipment),
            "équipements de protection (« aucun » si c'est le cas)",
        )
    elif kind == "attestation":
        need(t is None, "tuteur de la période (offre ou période)")
        need(_blank(c.siret), "SIRET de l'entreprise (fiche entreprise)")
        need(pw.hours_done is None, "nombre d'heures effectuées")
        need(
            p.status not in (PlacementStatus.IN_PROGRESS, PlacementStatus.DONE),
            "période commencée (statut « en cours » ou « terminée »)",
        )
    elif kind == "evaluation":
        need(t is None, "tuteur de la période (offre ou période)")
    return missing


def _status_for(r: _Records) -> str:
    required = required_signers(r.placement, r.learner)
    if all(role in r.signatures for role in required):
        return PaperworkStatus.SIGNED.value  # facts were complete when signatures were taken
    if not missing_facts(r, _kind_of(r)):
        return PaperworkStatus.TO_SIGN.value
    return PaperworkStatus.TO_PREPARE.value


def _kind_of(r: _Records) -> str:
    return "stage" if r.placement.kind == PlacementKind.STAGE else "pmsmp"


def _refresh_status(session: Session, r: _Records) -> str:
    status = _status_for(r)
    pw = r.paperwork
    if pw not in session:  # nothing saved yet: the status is only computed
        pw.status = status
        return status
    if status != pw.status:
        pw.status = status
    if status == PaperworkStatus.SIGNED.value:
        last = max(s.recorded_at for s in r.signatures.values())
        if pw.signed_at != last:
            pw.signed_at = last
    elif pw.signed_at is not None:
        pw.signed_at = None
    session.flush()
    return status


# --------------------------------------------------------------------------- reading


@dataclass
class SignatureView:
    role: str
    label: str
    required: bool
    signer_name: str | None
    signed_on: dt.date | None


@dataclass
class ScanView:
    id: int
    filename: str
    size: int
    uploaded_at: dt.datetime


@dataclass
class PaperworkView:
    placement_id: int
    placement_ref: str | None
    kind: str  # "pmsmp" or "stage": the convention of this placement
    status: str
    status_label: str
    version: int
    minor: bool
    facts: dict[str, object]
    signatures: list[SignatureView]
    missing: dict[str, list[str]]  # document kind -> missing facts
    scans: list[ScanView] = field(default_factory=list)
    signed_at: dt.datetime | None = None


def _load_for_read(session: Session, actor: Actor, placement_id: int):
    authorize(actor, Perm.LEARNER_READ)
    placement, learner = _placement_and_learner(session, placement_id)
    authorize(actor, Perm.LEARNER_READ, learner.site_id)
    return placement, learner


def _load_for_write(
    session: Session, actor: Actor, placement_id: int, expected_version: int | None = None
):
    authorize(actor, Perm.PLACEMENT_WRITE)
    placement, learner = _placement_and_learner(session, placement_id)
    authorize(actor, Perm.PLACEMENT_WRITE, learner.site_id)
    r = _records(session, placement, learner, create=True)
    expect_version(r.paperwork, expected_version)
    return r


def get_paperwork(session: Session, actor: Actor, placement_id: int) -> PaperworkView:
    """Status, facts, who signed when, missing facts per document and scans of a placement."""
    placement, learner = _load_for_read(session, actor, placement_id)
    r = _records(session, placement, learner)
    _refresh_status(session, r)
    required = required_signers(placement, learner)
    roles = [role.value for role in SignerRole]
    scans = session.execute(
        select(
            PaperworkScan.id, PaperworkScan.filename, PaperworkScan.size, PaperworkScan.uploaded_at
        )
        .where(PaperworkScan.placement_id == placement.id)
        .order_by(PaperworkScan.id)
    ).all()
    return PaperworkView(
        placement_id=placement.id,
        placement_ref=placement.ref,
        kind=_kind_of(r),
        status=r.paperwork.status,
        status_label=PAPERWORK_STATUS_FR[r.paperwork.status],
        version=r.paperwork.version,
        minor=is_minor(placement, learner),
        facts={name: getattr(r.paperwork, name) for name in FACT_FIELDS},
        signatures=[
            SignatureView(
                role=role,
                label=SIGNER_ROLE_FR[role],
                required=role in required,
                signer_name=r.signatures[role].signer_name if role in r.signatures else None,
                signed_on=r.signatures[role].signed_on if role in r.signatures else None,
            )
            for role in roles
            if role in required or role in r.signatures
        ],
        missing={kind: missing_facts(r, kind) for kind in KINDS},
        scans=[ScanView(*row) for row in scans],
        signed_at=r.paperwork.signed_at,
    )


# --------------------------------------------------------------------------- writing


def _clean_text(value, limit: int) -> str | None:
    if value is None:
        return None
    value = " ".join(str(value).split()) if limit <= 300 else str(value).strip()
    return value[:limit] or None


def save_facts(
    session: Session,
    actor: Actor,
    placement_id: int,
    facts: dict,
    *,
    expected_version: int | None = None,
) -> PaperworkView:
    """Store the agreement's facts (objective, hours, schedule, activities, risks...)."""
    r = _load_for_write(session, actor, placement_id, expected_version)
    pw = r.paperwork
    unknown = sorted(set(facts) - set(FACT_FIELDS))
    if unknown:
        raise _invalid({name: "champ inconnu." for name in unknown})
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    for name, raw in facts.items():
        if name == "objective":
            if raw in (None, ""):
                values[name] = None
            elif raw in PLACEMENT_OBJECTIVE_FR:
                values[name] = raw
            else:
                errors["objective"] = f"valeur inconnue « {raw} »."
        elif name in ("weekly_hours", "hours_done"):
            if raw in (None, ""):
                values[name] = None
                continue
            try:
                number = float(str(raw).replace(",", "."))
            except ValueError:
                number = -1.0
            high = 48 if name == "weekly_hours" else 2000
            if not 0 < number <= high:
                errors[name] = f"un nombre d'heures entre 0 et {high}."
            else:
                values[name] = round(number, 2)
        elif name in ("activities", "risks", "protective_equipment"):
            values[name] = _clean_text(raw, 4000)
        elif name == "legal_rep_phone":
            values[name] = _clean_text(raw, 20)
        elif name in ("daily_hours",):
            values[name] = _clean_text(raw, 120)
        elif name in ("weekly_schedule",):
            values[name] = _clean_text(raw, 200)
        elif name == "legal_rep_name":
            values[name] = _clean_text(raw, 160)
        else:
            values[name] = _clean_text(raw, 300)
    if errors:
        raise _invalid(errors)
    changed = [name for name, value in values.items() if getattr(pw, name) != value]
    if pw.status == PaperworkStatus.SIGNED and set(changed) - AFTER_SIGNATURE_FIELDS:
        raise _invalid(
            {
                "paperwork": "déjà signée : ses termes ne changent plus (seules les heures effectuées)."
            }
        )
    for name in changed:
        setattr(pw, name, values[name])
    if changed:
        session.flush()
        audit.record(
            session, actor, "paperwork.facts", "placement", r.placement.id, fields=sorted(changed)
        )
    _refresh_status(session, r)
    return get_paperwork(session, actor, placement_id)


def record_signature(
    session: Session,
    actor: Actor,
    placement_id: int,
    role: str,
    signed_on: dt.date,
    signer_name: str | None = None,
) -> str:
    """Record that ``role`` signed the convention on ``signed_on``; returns the new status."""
    r = _load_for_write(session, actor, placement_id)
    if role not in SIGNER_ROLE_FR:
        raise _invalid({"signer_role": f"rôle inconnu « {role} »."})
    required = required_signers(r.placement, r.learner)
    if role not in required:
        raise _invalid(
            {
                "signer_role": "pas de représentant légal : le stagiaire est majeur au début de la période."
            }
        )
    missing = missing_facts(r, _kind_of(r))
    if missing:
        raise PaperworkIncomplete(_kind_of(r), missing)
    if not isinstance(signed_on, dt.date) or signed_on > dt.date.today() + dt.timedelta(days=1):
        raise _invalid({"signed_on": "une date passée ou du jour."})
    existing = r.signatures.get(role)
    if existing is None:
        existing = PaperworkSignature(placement_id=r.placement.id, role=role)
        session.add(existing)
        r.signatures[role] = existing
    existing.signed_on = signed_on
    existing.signer_name = _clean_text(signer_name, 160)
    existing.recorded_at = utcnow()
    existing.recorded_by_id = actor.user_id
    session.flush()
    status = _refresh_status(session, r)
    audit.record(
        session, actor, "paperwork.signature", "placement", r.placement.id, role=role, status=status
    )
    return status


def remove_signature(session: Session, actor: Actor, placement_id: int, role: str) -> str:
    """Undo a signature recorded by mistake (only before the period starts)."""
    r = _load_for_write(session, actor, placement_id)
    if r.placement.status in (PlacementStatus.IN_PROGRESS, PlacementStatus.DONE):
        raise _invalid({"signer_role": "la période a commencé : la convention reste signée."})
    signature = r.signatures.pop(role, None)
    if signature is None:
        raise NotFound("Aucune signature de ce signataire.")
    session.delete(signature)
    session.flush()
    status = _refresh_status(session, r)
    audit.record(
        session, actor, "paperwork.unsign", "placement", r.placement.id, role=role, status=status
    )
    return status


def upload_scan(
    session: Session, actor: Actor, placement_id: int, filename: str, data: bytes
) -> int:
    """Keep a scanned signed agreement (PDF only, size limit); returns the scan id."""
    from crm.services.imports import check_upload_size

    r = _load_for_write(session, actor, placement_id)
    check_upload_size(data, "scan")
    if not bytes(data[:1024]).lstrip().startswith(PDF_MAGIC) or b"%%EOF" not in bytes(data[-2048:]):
        raise _invalid({"scan": "ce fichier n'est pas un PDF : déposez le scan au format PDF."})
    name = (filename or "convention.pdf").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    scan = PaperworkScan(
        placement_id=r.placement.id,
        filename=name or "convention.pdf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=bytes(data),
        uploaded_by_id=actor.user_id,
    )
    session.add(scan)
    session.flush()
    audit.record(
        session,
        actor,
        "paperwork.upload",
        "placement",
        r.placement.id,
        scan_id=scan.id,
        size=len(data),
    )
    return scan.id


def get_scan(session: Session, actor: Actor, scan_id: int) -> tuple[str, bytes]:
    """(file name, PDF bytes) of a scanned agreement; the read is audited."""
    authorize(actor, Perm.LEARNER_READ)
    scan = get_or_404(session, PaperworkScan, scan_id, "Scan")
    _placement, learner = _placement_and_learner(session, scan.placement_id)
    authorize(actor, Perm.LEARNER_READ, learner.site_id)
    audit.record(
        session, actor, "paperwork.scan_read", "placement", scan.placement_id, scan_id=scan.id
    )
    return scan.filename, bytes(scan.content)


# --------------------------------------------------------------------------- the gate


def ensure_signed_for_start(
    session: Session, actor: Actor, placement_id: int, *, override_reason: str | None = None
) -> None:
    """Refuse to start a placement ("en cours") whose convention is not signed.

    An admin may force it with a reason: the override is recorded in the audit trail.
    Called by ``crm.services.placements.change_status``.
    """
    authorize(actor, Perm.PLACEMENT_WRITE)
    placement, learner = _placement_and_learner(session, placement_id)
    authorize(actor, Perm.PLACEMENT_WRITE, learner.site_id)
    r = _records(session, placement, learner)
    if _refresh_status(session, r) == PaperworkStatus.SIGNED:
        return
    reason = (override_reason or "").strip()
    if reason:
        if not actor.is_admin:
            raise PermissionDenied(
                "Seul un administrateur peut démarrer une période sans convention signée."
            )
        audit.record(
            session,
            actor,
            "paperwork.override",
            "placement",
            placement.id,
            status=r.paperwork.status,
            reason=reason[:200],
        )
        return
    required = required_signers(placement, learner)
    absent = [SIGNER_ROLE_FR[role].lower() for role in required if role not in r.signatures]
    detail = (
        "préparez-la d'abord (faits manquants)"
        if r.paperwork.status == PaperworkStatus.TO_PREPARE
        else "signature(s) manquante(s) : " + ", ".join(absent)
    )
    raise _invalid(
        {
            "paperwork": f"non signée ({detail}) : la période ne peut pas passer « en cours ». "
            "Un administrateur peut forcer le passage en indiquant un motif."
        }
    )


# --------------------------------------------------------------------------- follow-up lists


@dataclass
class WorkItem:
    placement_id: int
    placement_ref: str | None
    learner_name: str
    company: str
    start_date: dt.date
    end_date: dt.date
    placement_status: str
    paperwork_status: str  # "to_prepare" / "to_sign" (conventions) or "" (evaluations)
    due: dt.date  # the date the item is waited for (start for conventions, end for evaluations)


def _site_filter(actor: Actor, site_id: int | None, stmt):
    if site_id is not None:
        return stmt.where(Learner.site_id == site_id)
    if not actor.is_admin:
        return stmt.where(Learner.site_id.in_(sorted(actor.site_ids)))
    return stmt


def conventions_to_sign(
    session: Session, actor: Actor, *, site_id: int | None = None
) -> list[WorkItem]:
    """Proposed/confirmed placements whose convention is not signed, oldest start first."""
    authorize(actor, Perm.LEARNER_READ, site_id)
    stmt = (
        select(Placement, Learner, Company.name, PlacementPaperwork.status)
        .join(Learner, Placement.learner_id == Learner.id)
        .join(Company, Placement.company_id == Company.id)
        .outerjoin(PlacementPaperwork, PlacementPaperwork.placement_id == Placement.id)
        .where(
            Placement.status.in_([PlacementStatus.PROPOSED.value, PlacementStatus.CONFIRMED.value]),
            (PlacementPaperwork.status.is_(None))
            | (PlacementPaperwork.status != PaperworkStatus.SIGNED.value),
        )
        .order_by(Placement.start_date, Placement.id)
    )
    stmt = _site_filter(actor, site_id, stmt)
    return [
        WorkItem(
            p.id,
            p.ref,
            f"{lr.first_name} {lr.last_name}",
            company,
            p.start_date,
            p.end_date,
            p.status,
            status or PaperworkStatus.TO_PREPARE.value,
            p.start_date,
        )
        for p, lr, company, status in session.execute(stmt).all()
    ]


def evaluations_due(
    session: Session, actor: Actor, *, site_id: int | None = None, today: dt.date | None = None
) -> list[WorkItem]:
    """Started placements ending within a week (or ended) without the tutor's evaluation, oldest end first."""
    authorize(actor, Perm.LEARNER_READ, site_id)
    today = today or dt.date.today()
    stmt = (
        select(Placement, Learner, Company.name)
        .join(Learner, Placement.learner_id == Learner.id)
        .join(Company, Placement.company_id == Company.id)
        .where(
            Placement.status.in_([PlacementStatus.IN_PROGRESS.value, PlacementStatus.DONE.value]),
            Placement.tutor_rating.is_(None),
            Placement.end_date <= today + dt.timedelta(days=EVALUATION_DUE_DAYS),
        )
        .order_by(Placement.end_date, Placement.id)
    )
    stmt = _site_filter(actor, site_id, stmt)
    return [
        WorkItem(
            p.id,
            p.ref,
            f"{lr.first_name} {lr.last_name}",
            company,
            p.start_date,
            p.end_date,
            p.status,
            "",
            p.end_date,
        )
        for p, lr, company in session.execute(stmt).all()
    ]


def median_signature_delay(
    session: Session,
    actor: Actor,
    *,
    site_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> tuple[float | None, int]:
    """(median days from booking to signed convention, number of signed conventions).

    Over placements booked between ``date_from`` and ``date_to`` (inclusive) of the
    actor's sites (managers, admins).
    """
    authorize(actor, Perm.STATS_READ, site_id)
    stmt = (
        select(Placement.created_at, PlacementPaperwork.signed_at)
        .join(PlacementPaperwork, PlacementPaperwork.placement_id == Placement.id)
        .join(Learner, Placement.learner_id == Learner.id)
        .where(PlacementPaperwork.signed_at.is_not(None))
    )
    if date_from is not None:
        stmt = stmt.where(Placement.created_at >= dt.datetime.combine(date_from, dt.time.min))
    if date_to is not None:
        stmt = stmt.where(Placement.created_at <= dt.datetime.combine(date_to, dt.time.max))
    stmt = _site_filter(actor, site_id, stmt)
    delays = [
        max(0.0, (signed - booked).total_seconds() / 86400)
        for booked, signed in session.execute(stmt).all()
        if booked is not None
    ]
    if not delays:
        return None, 0
    return round(statistics.median(delays), 1), len(delays)


# --------------------------------------------------------------------------- documents


def _d(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def _address(*parts) -> str:
    street, postcode, city = parts
    tail = " ".join(p for p in (postcode, city) if p)
    return ", ".join(p for p in (street, tail) if p)


def _hours(value: float | None) -> str:
    if value is None:
        return ""
    text = f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{text} h"


def _school_identity(session: Session) -> tuple[str, bytes | None]:
    import base64

    from crm.services.settings import SCHOOL_LOGO, SCHOOL_NAME, get_setting

    logo = get_setting(session, SCHOOL_LOGO)
    return str(get_setting(session, SCHOOL_NAME)), (base64.b64decode(logo) if logo else None)


def build_document(session: Session, r: _Records, kind: str):
    """The :class:`crm.paperwork_pdf.Document` of ``kind`` for these records (no access check)."""
    from crm.paperwork_pdf import Document, Row, Section, SignatureBox

    p, lr, c, pw, t, site = r.placement, r.learner, r.company, r.paperwork, r.tutor, r.site
    school, logo = _school_identity(session)
    learner_name = f"{lr.first_name} {lr.last_name}"
    job = (
        f"{r.rome_label or ''} ({p.rome_code})"
        if p.rome_code
        else (r.offer.title if r.offer else "")
    )
    period_kind = "PMSMP" if p.kind == PlacementKind.PMSMP else "stage"
    tutor_name = t.full_name if t else ""
    skills = r.offer.skill_list if r.offer else []
    minor = is_minor(p, lr)
    workplace = pw.workplace or _address(c.address, c.postcode, c.city)
    referent = r.referent.display_name or r.referent.username if r.referent else ""

    beneficiary = Section(
        "Le bénéficiaire",
        [
            Row("Nom et prénom", learner_name),
            Row("Date de naissance", _d(lr.birth_date)),
            Row("Adresse", _address(lr.address, lr.postcode, lr.city)),
            Row("N° de sécurité sociale", HAND_ENTRY),
            Row("Statut / identifiant France Travail", HAND_ENTRY),
        ],
    )
    legal_rep = Section(
        "Le représentant légal (bénéficiaire mineur)",
        [
            Row("Nom et prénom", pw.legal_rep_name or ""),
            Row("Téléphone", pw.legal_rep_phone or ""),
            Row("Adresse", pw.legal_rep_address or ""),
        ],
    )
    prescriber = Section(
        "La structure d'accompagnement (prescripteur)",
        [
            Row("Structure", f"{school} — site {site.name}"),
            Row("Adresse", _address(site.address, site.postcode, site.city)),
            Row("Référent(e)", referent),
            Row("Contact du référent", (r.referent.email or "") if r.referent else ""),
        ],
    )
    host = Section(
        "La structure d'accueil",
        [
            Row("Raison sociale", c.name),
            Row("SIRET", c.siret or ""),
            Row("Code NAF", c.naf or ""),
            Row("Adresse", _address(c.address, c.postcode, c.city)),
            Row("Tuteur", tutor_name),
            Row("Fonction du tuteur", (t.job_title or "") if t else ""),
            Row("Téléphone du tuteur", (t.phone or "") if t else ""),
            Row("Courriel du tuteur", (t.email or "") if t else ""),
        ],
    )
    objective_lines = "\n".join(
        f"[{'X' if pw.objective == key else ' '}] {label}"
        for key, label in PLACEMENT_OBJECTIVE_FR.items()
    )
    period = Section(
        f"La période de {'mise en situation en milieu professionnel' if period_kind == 'PMSMP' else 'stage'}",
        [
            Row("Objectif", objective_lines),
            Row("Dates", f"du {_d(p.start_date)} au {_d(p.end_date)}"),
            Row("Horaires journaliers", pw.daily_hours or ""),
            Row("Durée hebdomadaire", _hours(pw.weekly_hours)),
            Row("Jours travaillés", pw.weekly_schedule or ""),
            Row("Lieu d'exécution", workplace),
        ],
    )
    tasks = Section(
        "Le métier, les activités et les compétences visées",
        [
            Row("Métier (ROME)", job),
            Row("Intitulé de l'offre", r.offer.title if r.offer else ""),
            Row("Activités confiées", pw.activities or ""),
            Row("Compétences visées", "; ".join(skills) or "—"),
        ],
    )
    prevention = Section(
        "Prévention des risques",
        [
            Row("Risques du poste", pw.risks or ""),
            Row("Équipements de protection", pw.protective_equipment or ""),
        ],
    )
    signers = required_signers(p, lr)
    names = {
        SignerRole.BENEFICIARY.value: learner_name,
        SignerRole.LEGAL_REPRESENTATIVE.value: pw.legal_rep_name or "",
        SignerRole.HOST.value: f"{tutor_name} — {c.name}" if tutor_name else c.name,
        SignerRole.SCHOOL.value: f"{referent} — {school}" if referent else school,
    }
    boxes = [
        SignatureBox(
            SIGNER_ROLE_FR[role],
            (
                r.signatures[role].signer_name
                if role in r.signatures and r.signatures[role].signer_name
                else names[role]
            ),
            _d(r.signatures[role].signed_on) if role in r.signatures else None,
        )
        for role in signers
    ]
    reference = p.ref or str(p.id)

    if kind == "pmsmp":
        sections = [
            prescriber,
            beneficiary,
            *([legal_rep] if minor else []),
            host,
            period,
            tasks,
            prevention,
        ]
        engagement = Section(
            "Engagements des parties",
            text=(
                "La structure d'accueil s'engage à accueillir le bénéficiaire dans les conditions "
                "ci-dessus, à désigner un tuteur et à respecter la réglementation du travail "
                "(durée, repos, hygiène et sécurité). Le bénéficiaire reste sous le statut qu'il "
                "avait avant la période ; il ne perçoit aucune rémunération de la structure "
                "d'accueil. Le prescripteur assure le suivi de la période et sa couverture "
                "accident du travail. Articles L5135-1 et suivants du code du travail."
            ),
        )
        return Document(
            title="Convention de mise en situation en milieu professionnel (PMSMP)",
            subtitle="Données du Cerfa n° 13912 — établie par " + school,
            school_name=school,
            reference=reference,
            sections=[*sections, engagement],
            signatures=boxes,
            logo=logo,
        )
    if kind == "stage":
        articles = Section(
            "Articles",
            text=(
                "Article 1 — La présente convention règle les rapports entre l'école, la "
                "structure d'accueil et le stagiaire pour un stage d'observation et de mise en "
                "pratique dans le cadre de son parcours à l'École de la 2e Chance.\n"
                "Article 2 — Le stagiaire reste stagiaire de la formation professionnelle de "
                "l'école pendant le stage ; il respecte le règlement intérieur de l'entreprise.\n"
                "Article 3 — Le tuteur accompagne le stagiaire, l'évalue en fin de stage sur la "
                "fiche de bilan et signale toute absence ou difficulté au référent.\n"
                "Article 4 — En cas d'accident, la structure d'accueil prévient l'école dans les "
                "24 heures ; l'école effectue la déclaration."
            ),
        )
        sections = [
            beneficiary,
            *([legal_rep] if minor else []),
            prescriber,
            host,
            period,
            tasks,
            prevention,
        ]
        return Document(
            title="Convention de stage",
            subtitle=f"{school} — site {site.name}",
            school_name=school,
            reference=reference,
            sections=[*sections, articles],
            signatures=boxes,
            logo=logo,
        )
    if kind == "attestation":
        what = (
            "une période de mise en situation en milieu professionnel (PMSMP)"
            if period_kind == "PMSMP"
            else "un stage"
        )
        statement = (
            f"Je soussigné(e) {tutor_name}, {t.job_title or 'tuteur'} au sein de {c.name} "
            f"(SIRET {c.siret}), atteste que {learner_name} a effectué {what} du "
            f"{_d(p.start_date)} au {_d(p.end_date)}, soit {_hours(pw.hours_done)} de présence, "
            f"sur le métier {job}."
        )
        return Document(
            title=f"Attestation de {'PMSMP' if period_kind == 'PMSMP' else 'stage'}",
            subtitle=f"{school} — site {site.name}",
            school_name=school,
            reference=reference,
            sections=[
                Section("Attestation", text=statement),
                Section(
                    "Récapitulatif",
                    [
                        Row("Stagiaire", learner_name),
                        Row("Structure d'accueil", c.name),
                        Row("Lieu d'exécution", workplace),
                        Row("Dates", f"du {_d(p.start_date)} au {_d(p.end_date)}"),
                        Row("Heures effectuées", _hours(pw.hours_done)),
                        Row("Tuteur", tutor_name),
                    ],
                ),
                Section("", text="Fait pour servir et valoir ce que de droit."),
            ],
            signatures=[
                SignatureBox("La structure d'accueil (tuteur)", f"{tutor_name} — {c.name}")
            ],
            logo=logo,
        )
    # evaluation
    scale = "[ ] Très bien   [ ] Bien   [ ] Insuffisant"
    criteria = [
        Row("Ponctualité et assiduité", scale),
        Row("Attitude et savoir-être", scale),
        Row("Respect des consignes et de la sécurité", scale),
        Row("Intégration dans l'équipe", scale),
    ]
    skill_rows = [Row(s, "[ ] Acquise   [ ] En cours   [ ] Non observée") for s in skills] or [
        Row("Compétences", "[ ] Acquises   [ ] En cours   [ ] Non observées")
    ]
    prefilled = []
    if p.tutor_rating is not None:
        prefilled.append(Row("Appréciation déjà saisie", f"{p.tutor_rating}/5"))
    if p.skills_observed:
        prefilled.append(
            Row("Compétences déjà observées", "; ".join(split_list(p.skills_observed)))
        )
    return Document(
        title="Bilan et évaluation de la période",
        subtitle=f"À remplir par le tuteur — {school} — site {site.name}",
        school_name=school,
        reference=reference,
        sections=[
            Section(
                "La période",
                [
                    Row("Stagiaire", learner_name),
                    Row("Type", "PMSMP" if period_kind == "PMSMP" else "Stage"),
                    Row("Structure d'accueil", c.name),
                    Row(
                        "Tuteur",
                        f"{tutor_name}, {t.job_title}" if t and t.job_title else tutor_name,
                    ),
                    Row("Dates", f"du {_d(p.start_date)} au {_d(p.end_date)}"),
                    Row("Métier (ROME)", job),
                    Row("Référent(e) de l'école", referent),
                    *prefilled,
                ],
            ),
            Section("Savoir-être", criteria),
            Section("Compétences observées (compétences visées par l'offre)", skill_rows),
            Section(
                "Recommandation",
                [
                    Row(
                        "Recommanderiez-vous ce stagiaire pour ce métier ?",
                        "[ ] Oui   [ ] Oui, avec réserves   [ ] Non",
                    ),
                    Row(
                        "Suite envisagée",
                        "[ ] Embauche   [ ] Alternance   [ ] Nouvelle période   [ ] Aucune",
                    ),
                    Row("Observations", "\n\n\n"),
                ],
            ),
        ],
        signatures=[
            SignatureBox("Le tuteur", f"{tutor_name} — {c.name}"),
            SignatureBox("Le stagiaire", learner_name),
        ],
        logo=logo,
    )


def generate(session: Session, actor: Actor, placement_id: int, kind: str) -> bytes:
    """The PDF of ``kind`` (pmsmp, stage, attestation, evaluation) for a placement.

    Raises :class:`PaperworkIncomplete` (French list of what to fill) when facts are missing.
    """
    from crm.paperwork_pdf import render

    placement, learner = _load_for_read(session, actor, placement_id)
    if kind not in KINDS:
        raise _invalid({"kind": f"type inconnu « {kind} » ({', '.join(KINDS)})."})
    r = _records(session, placement, learner)
    _refresh_status(session, r)
    missing = missing_facts(r, kind)
    if missing:
        raise PaperworkIncomplete(kind, missing)
    data = render(build_document(session, r, kind))
    audit.record(session, actor, "paperwork.generate", "placement", placement.id, kind=kind)
    return data


def placement_id_for_ref(session: Session, ref: str) -> int:
    """The id of the placement whose reference is ``ref`` (or whose id is ``ref``)."""
    found = session.scalar(select(Placement.id).where(Placement.ref == ref))
    if found is None and ref.isdigit():
        found = session.scalar(select(Placement.id).where(Placement.id == int(ref)))
    if found is None:
        raise NotFound(f"Aucune période avec la référence « {ref} ».")
    return found


# --------------------------------------------------------------------------- privacy and demo


def purge_for_learners(session: Session, learner_ids: list[int]) -> int:
    """Erase the paperwork personal data of anonymised learners (called by the purge).

    Scans are deleted; the legal representative's details and signers' names are erased;
    statuses and dates stay for statistics. Returns the number of scans deleted.
    """
    if not learner_ids:
        return 0
    placement_ids = select(Placement.id).where(Placement.learner_id.in_(learner_ids))
    deleted = session.execute(
        delete(PaperworkScan).where(PaperworkScan.placement_id.in_(placement_ids))
    ).rowcount
    session.execute(
        update(PlacementPaperwork)
        .where(PlacementPaperwork.placement_id.in_(placement_ids))
        .values(legal_rep_name=None, legal_rep_phone=None, legal_rep_address=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(PaperworkSignature)
        .where(PaperworkSignature.placement_id.in_(placement_ids))
        .values(signer_name=None)
        .execution_options(synchronize_session=False)
    )
    return int(deleted or 0)


def export_for_learner(session: Session, learner_id: int) -> list[dict]:
    """A learner's paperwork for an access request (called by privacy.export_learner_data)."""
    out = []
    for pw in session.scalars(
        select(PlacementPaperwork)
        .join(Placement, Placement.id == PlacementPaperwork.placement_id)
        .where(Placement.learner_id == learner_id)
        .order_by(Placement.start_date)
    ):
        signatures = session.scalars(
            select(PaperworkSignature)
            .where(PaperworkSignature.placement_id == pw.placement_id)
            .order_by(PaperworkSignature.id)
        )
        scans = session.execute(
            select(PaperworkScan.filename, PaperworkScan.size, PaperworkScan.uploaded_at)
            .where(PaperworkScan.placement_id == pw.placement_id)
            .order_by(PaperworkScan.id)
        ).all()
        out.append(
            {
                "placement_id": pw.placement_id,
                "status": pw.status,
                **{name: getattr(pw, name) for name in FACT_FIELDS},
                "signed_at": pw.signed_at.isoformat() if pw.signed_at else None,
                "signatures": [
                    {
                        "role": sig.role,
                        "signer_name": sig.signer_name,
                        "signed_on": sig.signed_on.isoformat(),
                    }
                    for sig in signatures
                ],
                "scans": [
                    {"filename": f, "size": n, "uploaded_at": at.isoformat()} for f, n, at in scans
                ],
            }
        )
    return out


DEMO_DAILY_HOURS = "9h00-12h30 et 13h30-17h00"


def demo_paperwork(session: Session) -> int:
    """Signed conventions for the demo's started/finished placements, facts for the others.

    Deterministic; used by crm.demo after the placements exist. Returns rows created.
    """
    import random

    rng = random.Random(15)
    rows = session.execute(
        select(Placement, Learner.birth_date, Offer.description)
        .join(Learner, Placement.learner_id == Learner.id)
        .outerjoin(Offer, Placement.offer_id == Offer.id)
        .outerjoin(PlacementPaperwork, PlacementPaperwork.placement_id == Placement.id)
        .where(PlacementPaperwork.placement_id.is_(None))
        .order_by(Placement.id)
    ).all()
    created = 0
    for placement, birth_date, description in rows:
        started = placement.status in (
            PlacementStatus.IN_PROGRESS.value,
            PlacementStatus.DONE.value,
        ) or (placement.status == PlacementStatus.CANCELLED.value and placement.tutor_rating)
        objective = rng.choice(list(PLACEMENT_OBJECTIVE_FR))
        pw = PlacementPaperwork(
            placement_id=placement.id,
            objective=objective,
            daily_hours=DEMO_DAILY_HOURS,
            weekly_hours=35.0,
            weekly_schedule="du lundi au vendredi",
            activities=description or "Découverte du poste aux côtés du tuteur.",
            risks="Aucun risque particulier identifié",
            protective_equipment="Chaussures fermées",
            status=PaperworkStatus.TO_SIGN.value,
        )
        minor = birth_date is not None and (
            placement.start_date.year
            - birth_date.year
            - (
                (placement.start_date.month, placement.start_date.day)
                < (birth_date.month, birth_date.day)
            )
            < 18
        )
        if minor:
            pw.legal_rep_name = "Représentant légal (démo)"
            pw.legal_rep_phone = "04 94 00 00 00"
            pw.legal_rep_address = "Adresse du représentant légal (démo)"
        weeks = max(1, ((placement.end_date - placement.start_date).days + 1) // 7)
        if placement.status == PlacementStatus.DONE.value:
            pw.hours_done = 35.0 * weeks
        session.add(pw)
        created += 1
        if started:
            booked = dt.datetime.combine(
                placement.start_date - dt.timedelta(days=rng.randint(10, 25)), dt.time(10)
            )
            placement.created_at = booked
            last = booked
            roles = [SignerRole.BENEFICIARY, SignerRole.HOST, SignerRole.SCHOOL]
            if minor:
                roles.insert(1, SignerRole.LEGAL_REPRESENTATIVE)
            for role in roles:
                day = min(
                    placement.start_date - dt.timedelta(days=1),
                    booked.date() + dt.timedelta(days=rng.randint(1, 8)),
                )
                at = dt.datetime.combine(day, dt.time(16))
                last = max(last, at)
                session.add(
                    PaperworkSignature(
                        placement_id=placement.id, role=role.value, signed_on=day, recorded_at=at
                    )
                )
            pw.status = PaperworkStatus.SIGNED.value
            pw.signed_at = last
    session.flush()
    return created


def paperwork_counts(session: Session) -> dict[str, int]:
    """Placements per paperwork status (no access control: figures only, for checks)."""
    return dict(
        session.execute(
            select(PlacementPaperwork.status, func.count()).group_by(PlacementPaperwork.status)
        ).all()
    )
