"""Retention purge, learner data export, settings, audit search, upload limit, unsafe HTML."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.auth import SYSTEM
from crm.errors import PermissionDenied, ValidationError
from crm.models import AuditEvent, Company, Learner, Placement, Role
from crm.services import settings as settings_service
from crm.services._common import months_before
from crm.services.audit_log import search_audit
from crm.services.imports import check_upload_size
from crm.services.privacy import export_learner_data, purge_learners
from tests.factories import make_actor
from tests.support.cli import run_cli

TODAY = dt.date(2026, 11, 23)
ROOT = Path(__file__).resolve().parents[2]


def _learner(session, site, ref, exit_date=None, **kw) -> Learner:
    learner = Learner(
        ref=ref,
        site_id=site.id,
        first_name="Inès",
        last_name=f"Durand-{ref}",
        birth_date=dt.date(2004, 5, 17),
        entry_date=dt.date(2023, 9, 1),
        exit_date=exit_date,
        exit_outcome="employment" if exit_date else None,
        address="12 rue des Lilas",
        postcode="83200",
        city="Toulon",
        latitude=43.12,
        longitude=5.93,
        geo_precision="housenumber",
        project_text="Aime la cuisine",
        support_notes="Suivi social : logement",
        status="exited" if exit_date else "active",
        **kw,
    )
    session.add(learner)
    session.flush()
    return learner


@pytest.fixture
def learners(session, sites):
    tpm, cavem = sites
    company = Company(name="Boulangerie du Port", site_id=tpm.id)
    session.add(company)
    session.flush()
    old = _learner(session, tpm, "L-OLD", exit_date=dt.date(2024, 10, 1))
    old2 = _learner(session, cavem, "L-OLD2", exit_date=dt.date(2023, 1, 15))
    recent = _learner(session, tpm, "L-RECENT", exit_date=dt.date(2025, 6, 1))
    active = _learner(session, tpm, "L-ACTIVE")
    placement = Placement(
        learner_id=old.id,
        company_id=company.id,
        rome_code="D1102",
        start_date=dt.date(2024, 3, 1),
        end_date=dt.date(2024, 3, 15),
        status="done",
        tutor_rating=4,
        tutor_feedback="Inès est ponctuelle",
        outcome="employment",
    )
    session.add(placement)
    session.commit()
    return {"old": old, "old2": old2, "recent": recent, "active": active, "placement": placement}


def test_months_before_clamps_month_end():
    assert months_before(dt.date(2026, 11, 23), 24) == dt.date(2024, 11, 23)
    assert months_before(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
    assert months_before(dt.date(2026, 1, 15), 13) == dt.date(2024, 12, 15)


def test_purge_dry_run_changes_nothing_then_apply_anonymises(session, learners):
    before = session.scalar(select(Learner).where(Learner.ref == "L-OLD")).last_name
    report = purge_learners(session, SYSTEM, today=TODAY)
    session.commit()
    assert (report.months, report.cutoff, report.candidates) == (24, dt.date(2024, 11, 23), 2)
    assert report.by_site == {"TPM": 1, "CAVEM": 1} and not report.applied
    session.expire_all()
    assert session.get(Learner, learners["old"].id).last_name == before
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "anonymise")) is None

    report = purge_learners(session, SYSTEM, today=TODAY, apply=True)
    session.commit()
    assert report.applied and report.candidates == 2
    session.expire_all()
    old = session.get(Learner, learners["old"].id)
    assert (old.first_name, old.last_name) == ("Anonyme", f"n° {old.id}")
    assert old.birth_date == dt.date(2004, 1, 1)
    assert (old.address, old.city, old.latitude, old.longitude) == (None, None, None, None)
    assert old.postcode == "83" and old.support_notes is None and old.project_text is None
    assert old.status == "anonymised" and old.anonymised_at is not None and old.ref is None
    # Statistics stay: exit date and outcome, site, the placement and its outcome.
    assert (old.exit_date, old.exit_outcome, old.site_id) == (
        dt.date(2024, 10, 1),
        "employment",
        learners["old"].site_id,
    )
    placement = session.get(Placement, learners["placement"].id)
    assert (placement.status, placement.outcome, placement.tutor_rating) == (
        "done",
        "employment",
        4,
    )
    assert placement.tutor_feedback is None
    for key in ("recent", "active"):
        kept = session.get(Learner, learners[key].id)
        assert kept.first_name == "Inès" and kept.support_notes
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "anonymise"))
    assert sorted(event.details["learner_ids"]) == sorted([old.id, learners["old2"].id])
    assert "Inès" not in json.dumps(event.details)

    again = purge_learners(session, SYSTEM, today=TODAY, apply=True)
    assert again.candidates == 0  # idempotent


def test_purge_months_option_and_setting(session, learners):
    assert purge_learners(session, SYSTEM, today=TODAY, months=12).candidates == 3
    settings_service.set_setting(session, SYSTEM, "retention_months", 48)
    assert purge_learners(session, SYSTEM, today=TODAY).candidates == 0


def test_only_admin_may_purge(session, learners, sites):
    for role in (Role.OFFICER, Role.TRAINER, Role.MANAGER):
        with pytest.raises(PermissionDenied):
            purge_learners(session, make_actor(session, role, *sites), today=TODAY)


def test_learner_export_is_complete_json_and_audited(session, learners, sites):
    tpm, cavem = sites
    manager = make_actor(session, Role.MANAGER, tpm)
    data = export_learner_data(session, manager, learners["old"].id)
    session.commit()
    text = json.dumps(data)  # serialisable
    assert data["profile"]["last_name"] == "Durand-L-OLD" and data["profile"]["site"] == "TPM"
    assert data["profile"]["support_notes"] == "Suivi social : logement"
    assert [p["company"] for p in data["placements"]] == ["Boulangerie du Port"]
    assert data["placements"][0]["tutor_feedback"] == "Inès est ponctuelle"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert event.entity == "learner" and event.entity_id == learners["old"].id
    assert "Durand" not in json.dumps(event.details)
    again = export_learner_data(session, manager, learners["old"].id)
    assert event.id in again["audit_event_ids"]
    assert "Durand" in text
    with pytest.raises(PermissionDenied):
        export_learner_data(session, manager, learners["old2"].id)  # other site
    with pytest.raises(PermissionDenied):
        export_learner_data(session, make_actor(session, Role.TRAINER, tpm), learners["old"].id)


def test_purge_and_export_cli(db_url, session, learners, tmp_path):
    r = run_cli(db_url, "purge", "--dry-run", "--months", "24")
    assert r.returncode == 0, r.stderr
    assert "2 learner(s) to anonymise (dry run" in r.stdout
    assert "Durand" not in r.stdout and "Inès" not in r.stdout
    out = tmp_path / "export.json"
    r = run_cli(db_url, "learner-export", "L-RECENT", str(out))
    assert r.returncode == 0, r.stderr
    assert "Durand" not in r.stdout
    assert json.loads(out.read_text())["profile"]["ref"] == "L-RECENT"
    assert out.stat().st_mode & 0o077 == 0
    r = run_cli(db_url, "purge", "--apply")
    assert r.returncode == 0 and "2 learner(s) anonymised" in r.stdout
    r = run_cli(db_url, "purge", "--apply")
    assert "0 learner(s) anonymised" in r.stdout
    r = run_cli(db_url, "learner-export", "NOPE", str(out))
    assert r.returncode == 2 and "NOPE" in r.stderr


def test_settings_defaults_validation_and_audit(session, sites):
    assert settings_service.get_setting(session, "retention_months") == 24
    assert settings_service.get_setting(session, "dormant_months") == 6
    admin = make_actor(session, Role.ADMIN)
    weights = settings_service.set_setting(
        session, admin, "matching_weights", {"project": 2, "commute": 1}
    )
    assert weights == {"project": 2.0, "commute": 1.0, "skills": 0.0, "availability": 0.0}
    session.commit()
    assert settings_service.get_setting(session, "matching_weights")["project"] == 2.0
    for key, bad in (
        ("matching_weights", {"project": -1}),
        ("matching_weights", {"project": "lourd"}),
        ("matching_weights", {"couleur": 1}),
        ("matching_weights", {"project": 0}),
        ("matching_weights", [1, 2]),
        ("retention_months", 0),
        ("retention_months", 6.5),
        ("dormant_months", "six"),
    ):
        with pytest.raises(ValidationError):
            settings_service.set_setting(session, admin, key, bad)
    with pytest.raises(PermissionDenied):
        settings_service.set_setting(
            session, make_actor(session, Role.MANAGER, sites[0]), "dormant_months", 3
        )
    events = search_audit(session, admin, entity="setting")
    assert [(e.action, e.details["key"]) for e in events] == [("update", "matching_weights")]


def test_audit_search_filters(session, sites):
    from crm import audit

    admin = make_actor(session, Role.ADMIN, username="alice")
    other = make_actor(session, Role.OFFICER, sites[0], username="bob")
    audit.record(session, admin, "create", "company", 1)
    audit.record(session, other, "update", "company", 1, fields=["name"])
    audit.record(session, other, "create", "contact", 7)
    session.commit()
    assert len(search_audit(session, admin)) == 3
    assert [e.entity for e in search_audit(session, admin, actor_name="bob")] == [
        "contact",
        "company",
    ]
    assert len(search_audit(session, admin, action="create")) == 2
    assert len(search_audit(session, admin, entity="company", entity_id=1)) == 2
    today = dt.date.today()
    assert len(search_audit(session, admin, date_from=today, date_to=today)) == 3
    assert search_audit(session, admin, date_to=today - dt.timedelta(days=2)) == []
    with pytest.raises(PermissionDenied):
        search_audit(session, other)


def test_upload_size_limit(monkeypatch):
    monkeypatch.setenv("PASSERELLE_MAX_UPLOAD_MB", "1")
    check_upload_size(b"x" * 1024 * 1024)
    with pytest.raises(ValidationError, match="1 Mo au plus"):
        check_upload_size(b"x" * (1024 * 1024 + 1))
    with pytest.raises(ValidationError, match="vide"):
        check_upload_size(b"")


_UNSAFE = re.compile(r"unsafe_allow_html\s*=\s*True")
_CONSTANT_CALL = re.compile(
    r"st\.(markdown|html|write|caption)\(\s*(\"\"\"|'''|\"|')(?:(?!\{).)*?\2\s*,\s*unsafe_allow_html\s*=\s*True",
    re.S,
)


def _unsafe_html_calls(source: str) -> list[int]:
    """Lines of ``st.html(...)`` calls whose content is not safe by construction.

    Safe: a string literal, a module constant (UPPER_CASE) bound to a literal, or an
    f-string whose only interpolations are ``json.dumps(...)`` (a JSON-encoded value
    inside a script, e.g. a redirect address we built).
    """
    tree = ast.parse(source)
    constants = {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for t in node.targets
        if isinstance(t, ast.Name) and t.id.isupper()
    }

    def safe(arg: ast.expr) -> bool:
        if isinstance(arg, ast.Constant):
            return True
        if isinstance(arg, ast.Name):
            return arg.id in constants
        if isinstance(arg, ast.JoinedStr):
            return all(
                isinstance(v, ast.Constant)
                or (
                    isinstance(v, ast.FormattedValue)
                    and isinstance(v.value, ast.Call)
                    and ast.unparse(v.value.func) == "json.dumps"
                )
                for v in arg.values
            )
        return False

    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and ast.unparse(node.func) == "st.html"
        and not (node.args and safe(node.args[0]))
    ]


def test_pages_render_no_user_html():
    """unsafe_allow_html only with literal strings (no f-string, no variable); st.html only
    with literals, constants or JSON-encoded values."""
    offenders = []
    for path in [*ROOT.joinpath("pages").glob("*.py"), ROOT / "streamlit_app.py"]:
        text = path.read_text(encoding="utf-8")
        allowed = len(_CONSTANT_CALL.findall(text))
        if len(_UNSAFE.findall(text)) > allowed or _unsafe_html_calls(text):
            offenders.append(path.name)
    assert offenders == []
    # The checker itself catches the dangerous forms.
    assert _UNSAFE.search('st.markdown(f"<b>{name}</b>", unsafe_allow_html=True)')
    assert not _CONSTANT_CALL.search('st.markdown(f"<b>{name}</b>", unsafe_allow_html=True)')
    assert not _CONSTANT_CALL.search("st.markdown(name, unsafe_allow_html=True)")
    assert _CONSTANT_CALL.search('st.markdown("<br>", unsafe_allow_html=True)')
    assert _unsafe_html_calls('st.html(f"<b>{name}</b>")') == [1]
    assert _unsafe_html_calls("st.html(name)") == [1]
    assert _unsafe_html_calls('CSS = "<style></style>"\nst.html(CSS)') == []
    assert _unsafe_html_calls('st.html(f"<script>go({json.dumps(url)})</script>")') == []
