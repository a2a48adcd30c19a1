"""Placement paperwork on SQLite and PostgreSQL: documents carry every fact of the records
(adult and minor), missing facts block generation with a French list, signatures move the
status, scans are checked, the "en cours" gate (with an audited admin override), the
trainer's lists, the managers' median delay, the purge and the backup."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from crm.auth import SYSTEM
from crm.errors import PermissionDenied, ValidationError
from crm.models import (
    AuditEvent,
    Learner,
    PaperworkScan,
    PaperworkSignature,
    Placement,
    PlacementPaperwork,
    Role,
)
from crm.services import paperwork as pw
from crm.services import settings as settings_service
from crm.services.placements import change_status
from crm.services.privacy import export_learner_data, purge_learners
from tests.factories import make_actor
from tests.support.paperwork import (
    END,
    FACTS,
    MINOR_FACTS,
    START,
    make_records,
    minimal_pdf,
    pdf_text,
    squash,
)


def _d(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _record_values(r, minor: bool) -> list[str]:
    """Every fact of the records that a convention must show."""
    values = [
        f"{r.learner.first_name} {r.learner.last_name}",
        _d(r.learner.birth_date),
        r.learner.address,
        f"{r.learner.postcode} {r.learner.city}",
        r.site.name,
        r.site.address,
        r.referent.display_name,
        r.referent.email,
        r.company.name,
        r.company.siret,
        r.company.naf,
        r.company.address,
        f"{r.company.postcode} {r.company.city}",
        r.tutor.full_name,
        r.tutor.job_title,
        r.tutor.phone,
        r.tutor.email,
        "Vente en alimentation (D1106)",
        r.offer.title,
        *r.offer.skill_list,
        _d(START),
        _d(END),
        "[X] Confirmer un projet professionnel",
        FACTS["daily_hours"],
        "35 h",
        FACTS["weekly_schedule"],
        FACTS["workplace"],
        FACTS["activities"],
        FACTS["risks"],
        FACTS["protective_equipment"],
        "N° de sécurité sociale",
        "à compléter à la main",
        "Le bénéficiaire",
        "La structure d'accueil (tuteur)",
        "L'école (prescripteur)",
    ]
    if minor:
        values += [*MINOR_FACTS.values(), "Le représentant légal"]
    return values


def _starts_today(session, placement) -> None:
    """Time passes: the period's first day has come (« en cours » follows the dates)."""
    placement.start_date = dt.date.today()
    session.flush()


@pytest.mark.parametrize("minor", [False, True], ids=["adult", "minor"])
@pytest.mark.parametrize("kind", ["pmsmp", "stage"])
def test_convention_shows_every_fact_of_the_records(session, sites, minor, kind):
    tpm, _ = sites
    r = make_records(session, tpm, minor=minor)
    trainer = make_actor(session, Role.TRAINER, tpm)
    pw.save_facts(session, trainer, r.placement.id, {**FACTS, **(MINOR_FACTS if minor else {})})
    session.commit()
    data = pw.generate(session, trainer, r.placement.id, kind)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    missing = [v for v in _record_values(r, minor) if squash(v) not in text]
    assert missing == []
    assert ("représentant légal" in text.lower()) is minor
    title = "PMSMP" if kind == "pmsmp" else "Convention de stage"
    assert title in text and "École de la 2e Chance" in text
    # The generation is audited with ids and the kind only: no document content.
    event = session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "paperwork.generate")
        .order_by(AuditEvent.id.desc())
    )
    assert event.entity_id == r.placement.id and event.details == {"kind": kind}


def test_attestation_and_evaluation_are_prefilled(session, sites):
    tpm, _ = sites
    r = make_records(session, tpm)
    pw.save_facts(session, SYSTEM, r.placement.id, {**FACTS, "hours_done": "70"})
    for role in ("beneficiary", "host", "school"):
        pw.record_signature(session, SYSTEM, r.placement.id, role, dt.date.today())
    # Recorded as started before its date (history corrected by the system).
    change_status(session, SYSTEM, r.placement.id, "in_progress", correct_history=True)
    session.commit()
    text = pdf_text(pw.generate(session, SYSTEM, r.placement.id, "attestation"))
    for value in (
        "Attestation de PMSMP",
        f"{r.learner.first_name} {r.learner.last_name}",
        r.tutor.full_name,
        r.tutor.job_title,
        r.company.name,
        r.company.siret,
        _d(START),
        _d(END),
        "70 h",
    ):
        assert squash(value) in text, value
    text = pdf_text(pw.generate(session, SYSTEM, r.placement.id, "evaluation"))
    for value in (
        "Ponctualité et assiduité",
        "Attitude et savoir-être",
        "Recommanderiez-vous",
        *r.offer.skill_list,
        r.tutor.full_name,
        f"{r.learner.first_name} {r.learner.last_name}",
        r.company.name,
        "Vente en alimentation (D1106)",
    ):
        assert squash(value) in text, value


def test_missing_facts_block_generation_with_a_french_list(session, sites):
    tpm, _ = sites
    r = make_records(session, tpm, minor=True)
    r.placement.tutor_id = None
    r.offer.tutor_id = None
    r.company.siret = None
    session.commit()
    with pytest.raises(pw.PaperworkIncomplete) as exc:
        pw.generate(session, SYSTEM, r.placement.id, "pmsmp")
    message = str(exc.value)
    assert message.startswith("Convention de PMSMP impossible à générer : il manque")
    for label in (
        "tuteur de la période",
        "SIRET de l'entreprise",
        "horaires journaliers",
        "durée hebdomadaire",
        "nom du représentant légal",
        "objectif de la période",
    ):
        assert label in message
    view = pw.get_paperwork(session, SYSTEM, r.placement.id)
    assert view.status == "to_prepare" and view.status_label == "à préparer" and view.minor
    assert not session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "paperwork.generate")
    )


def test_signature_workflow_minor_needs_the_legal_representative(session, sites):
    tpm, _ = sites
    r = make_records(session, tpm, minor=True)
    trainer = make_actor(session, Role.TRAINER, tpm)
    with pytest.raises(pw.PaperworkIncomplete):  # nothing to sign before the facts are there
        pw.record_signature(session, trainer, r.placement.id, "beneficiary", dt.date.today())
    view = pw.save_facts(session, trainer, r.placement.id, {**FACTS, **MINOR_FACTS})
    assert view.status == "to_sign"
    assert [s.role for s in view.signatures] == ["beneficiary", "legal_rep", "host", "school"]
    day = dt.date.today() - dt.timedelta(days=2)
    for role in ("beneficiary", "host", "school"):
        assert pw.record_signature(session, trainer, r.placement.id, role, day) == "to_sign"
    assert (
        pw.record_signature(
            session, trainer, r.placement.id, "legal_rep", day, signer_name="F. Lefèvre"
        )
        == "signed"
    )
    session.commit()
    view = pw.get_paperwork(session, trainer, r.placement.id)
    assert view.status_label == "signée" and view.signed_at is not None
    signed = {s.role: (s.signed_on, s.signer_name) for s in view.signatures}
    assert signed["legal_rep"] == (day, "F. Lefèvre") and signed["host"][0] == day
    # The signed PDF shows who signed when.
    text = pdf_text(pw.generate(session, trainer, r.placement.id, "pmsmp"))
    assert f"Signé le {_d(day)}" in text and "F. Lefèvre" in text
    # Terms of a signed convention no longer change; hours done still may.
    with pytest.raises(ValidationError) as exc:
        pw.save_facts(session, trainer, r.placement.id, {"daily_hours": "9h-17h"})
    assert "déjà signée" in exc.value.errors["paperwork"]
    pw.save_facts(session, trainer, r.placement.id, {"hours_done": 60})
    audit = session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "paperwork.signature")
    ).all()
    assert len(audit) == 4 and all(set(d) == {"role", "status"} for d in audit)


def test_adult_has_no_legal_representative_signature(session, sites):
    tpm, _ = sites
    r = make_records(session, tpm)
    pw.save_facts(session, SYSTEM, r.placement.id, FACTS)
    with pytest.raises(ValidationError) as exc:
        pw.record_signature(session, SYSTEM, r.placement.id, "legal_rep", dt.date.today())
    assert "majeur" in exc.value.errors["signer_role"]
    with pytest.raises(ValidationError):
        pw.save_facts(session, SYSTEM, r.placement.id, {"weekly_hours": "soixante"})


def test_en_cours_needs_a_signed_convention_admin_override_audited(session, sites):
    tpm, _ = sites
    r = make_records(session, tpm)
    trainer = make_actor(session, Role.TRAINER, tpm)
    admin = make_actor(session, Role.ADMIN)
    pw.save_facts(session, trainer, r.placement.id, FACTS)
    pw.record_signature(session, trainer, r.placement.id, "beneficiary", dt.date.today())
    _starts_today(session, r.placement)
    session.commit()
    with pytest.raises(ValidationError) as exc:
        change_status(session, trainer, r.placement.id, "in_progress")
    message = exc.value.errors["paperwork"]
    assert "non signée" in message and "la structure d'accueil" in message
    session.rollback()
    assert session.get(Placement, r.placement.id).status == "confirmed"
    with pytest.raises(PermissionDenied):  # only an admin may force it
        change_status(session, trainer, r.placement.id, "in_progress", override_reason="Urgence")
    session.rollback()
    change_status(
        session, admin, r.placement.id, "in_progress", override_reason="Convention papier reçue"
    )
    session.commit()
    assert session.get(Placement, r.placement.id).status == "in_progress"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "paperwork.override"))
    assert event.actor_id == admin.user_id and event.entity_id == r.placement.id
    assert event.details["reason"] == "Convention papier reçue"


def test_en_cours_allowed_once_signed(session, sites):
    tpm, _ = sites
    r = make_records(session, tpm)
    trainer = make_actor(session, Role.TRAINER, tpm)
    pw.save_facts(session, trainer, r.placement.id, FACTS)
    for role in ("beneficiary", "host", "school"):
        pw.record_signature(session, trainer, r.placement.id, role, dt.date.today())
    _starts_today(session, r.placement)
    change_status(session, trainer, r.placement.id, "in_progress")
    session.commit()
    assert session.get(Placement, r.placement.id).status == "in_progress"
    with pytest.raises(ValidationError):  # a started period keeps its signatures
        pw.remove_signature(session, trainer, r.placement.id, "host")


def test_scan_upload_pdf_only_size_limit_and_read(session, sites, monkeypatch):
    tpm, cavem = sites
    r = make_records(session, tpm)
    trainer = make_actor(session, Role.TRAINER, tpm)
    other_trainer = make_actor(session, Role.TRAINER, cavem)
    with pytest.raises(ValidationError) as exc:
        pw.upload_scan(
            session, trainer, r.placement.id, "photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 50
        )
    assert "pas un PDF" in exc.value.errors["scan"]
    with pytest.raises(ValidationError):
        pw.upload_scan(session, trainer, r.placement.id, "vide.pdf", b"")
    monkeypatch.setenv("PASSERELLE_MAX_UPLOAD_MB", "1")
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10) + b"\n%%EOF\n"
    with pytest.raises(ValidationError) as exc:
        pw.upload_scan(session, trainer, r.placement.id, "gros.pdf", big)
    assert "trop volumineux" in exc.value.errors["scan"]
    scan = minimal_pdf()
    scan_id = pw.upload_scan(
        session, trainer, r.placement.id, "C:\\scans\\convention signée.pdf", scan
    )
    session.commit()
    name, data = pw.get_scan(session, trainer, scan_id)
    assert (name, data) == ("convention signée.pdf", scan)
    with pytest.raises(PermissionDenied):
        pw.get_scan(session, other_trainer, scan_id)
    view = pw.get_paperwork(session, trainer, r.placement.id)
    assert [(s.filename, s.size) for s in view.scans] == [("convention signée.pdf", len(scan))]


def test_trainer_lists_oldest_first_and_manager_median_delay(session, sites):
    tpm, cavem = sites
    a = make_records(session, tpm, tag="A")
    b = make_records(session, tpm, tag="B")
    b.placement.start_date = START - dt.timedelta(days=7)
    c = make_records(session, cavem, tag="C")
    trainer = make_actor(session, Role.TRAINER, tpm)
    manager = make_actor(session, Role.MANAGER, tpm)
    session.commit()
    todo = pw.conventions_to_sign(session, trainer)
    assert [i.placement_id for i in todo] == [b.placement.id, a.placement.id]  # oldest first
    everyone = [i.placement_id for i in pw.conventions_to_sign(session, SYSTEM)]
    assert sorted(everyone) == sorted([a.placement.id, b.placement.id, c.placement.id])
    # Sign A: it leaves the list; its delay counts for managers.
    pw.save_facts(session, trainer, a.placement.id, FACTS)
    for role in ("beneficiary", "host", "school"):
        pw.record_signature(session, trainer, a.placement.id, role, dt.date.today())
    a.placement.created_at = a.placement.created_at - dt.timedelta(days=4)
    session.commit()
    assert [i.placement_id for i in pw.conventions_to_sign(session, trainer)] == [b.placement.id]
    median, n = pw.median_signature_delay(session, manager)
    assert n == 1 and 3.9 <= median <= 4.1
    with pytest.raises(PermissionDenied):
        pw.median_signature_delay(session, trainer)
    # Evaluations due: started periods ending within a week without the tutor's rating.
    a.placement.start_date = dt.date.today() - dt.timedelta(days=20)
    change_status(session, trainer, a.placement.id, "in_progress")
    a.placement.end_date = dt.date.today() - dt.timedelta(days=2)
    session.commit()
    due = pw.evaluations_due(session, trainer)
    assert [i.placement_id for i in due] == [a.placement.id]


def test_purge_deletes_scans_and_legal_representative(session, sites):
    tpm, _ = sites
    r = make_records(session, tpm, minor=True)
    pw.save_facts(session, SYSTEM, r.placement.id, {**FACTS, **MINOR_FACTS})
    pw.record_signature(
        session, SYSTEM, r.placement.id, "legal_rep", dt.date.today(), signer_name="F. L."
    )
    pw.upload_scan(session, SYSTEM, r.placement.id, "scan.pdf", minimal_pdf())
    learner = session.get(Learner, r.learner.id)
    learner.exit_date = dt.date(2020, 1, 1)
    session.commit()
    # An access request shows the paperwork held (JSON-serialisable).
    exported = export_learner_data(session, SYSTEM, r.learner.id)["paperwork"]
    json.dumps(exported)
    assert exported[0]["legal_rep_name"] == MINOR_FACTS["legal_rep_name"]
    assert [s["role"] for s in exported[0]["signatures"]] == ["legal_rep"]
    assert exported[0]["scans"][0]["filename"] == "scan.pdf"
    report = purge_learners(session, SYSTEM, apply=True)
    session.commit()
    assert report.candidates == 1
    assert session.scalar(select(func.count()).select_from(PaperworkScan)) == 0
    row = session.get(PlacementPaperwork, r.placement.id)
    assert (row.legal_rep_name, row.legal_rep_phone, row.legal_rep_address) == (None, None, None)
    assert session.scalar(select(PaperworkSignature.signer_name)) is None


def test_backup_json_keeps_scans(session, sites, db_url, tmp_path):
    from crm import backup as bk

    tpm, _ = sites
    r = make_records(session, tpm)
    scan = minimal_pdf()
    pw.upload_scan(session, SYSTEM, r.placement.id, "scan.pdf", scan)
    session.commit()
    info = bk.backup(db_url, tmp_path / "b.json", fmt="json")
    assert info.counts["paperwork_scans"] == 1
    session.execute(PaperworkScan.__table__.delete())
    session.commit()
    bk.restore(db_url, tmp_path / "b.json")
    session.expire_all()
    assert session.scalar(select(PaperworkScan.content)) == scan


def test_school_name_and_logo_from_settings(session, sites):
    import base64
    import io

    from pypdf import PdfReader

    tpm, _ = sites
    r = make_records(session, tpm)
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    )
    settings_service.set_setting(session, SYSTEM, "school_name", "E2C Var — Toulon Provence")
    settings_service.set_setting(session, SYSTEM, "school_logo", base64.b64encode(png).decode())
    with pytest.raises(ValidationError):
        settings_service.set_setting(
            session, SYSTEM, "school_logo", base64.b64encode(b"GIF89a").decode()
        )
    session.commit()
    data = pw.generate(session, SYSTEM, r.placement.id, "evaluation")
    assert "E2C Var — Toulon Provence" in pdf_text(data)
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert len(page.images) == 1  # the logo


def test_without_dejavu_the_core_font_keeps_french_accents(session, sites, monkeypatch):
    from crm import paperwork_pdf

    tpm, _ = sites
    r = make_records(session, tpm)
    session.commit()
    monkeypatch.setattr(paperwork_pdf, "font_path", lambda: None)
    text = pdf_text(pw.generate(session, SYSTEM, r.placement.id, "evaluation"))
    assert "Bilan et évaluation de la période" in text
    assert "École de la 2e Chance" in text and r.company.name in text
    assert "Nguy?n-Dubois" in text  # outside Latin-1: replaced, never an error
