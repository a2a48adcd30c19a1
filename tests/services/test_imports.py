"""The import pipeline (crm/services/imports): limits, bad input, --as-user, bulk = row by row."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.auth import SYSTEM
from crm.db import make_engine, make_session_factory
from crm.errors import PasserelleError, ValidationError
from crm.models import AuditEvent, Company, CompanyStatusChange, Offer, Role, User
from crm.services.imports import (
    COLUMNS,
    KINDS,
    ImportReport,
    import_data,
    importable_kinds,
    read_rows,
    template_bytes,
    template_filename,
)
from crm.validation import FieldError
from tests.factories import make_actor
from tests.support.cli import run_cli

LONG_REF = "R" * 65


def test_field_error_is_a_passerelle_error():
    assert issubclass(FieldError, PasserelleError) and issubclass(FieldError, ValueError)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kind", KINDS)
def test_a_ref_over_64_characters_is_a_row_error_on_every_kind(session, sites, kind):
    header = ";".join(COLUMNS[kind])
    row = ";".join(LONG_REF if c == "ref" else "x" for c in COLUMNS[kind])
    report = import_data(session, SYSTEM, kind, f"{header}\n{row}\n".encode(), "f.csv")
    assert not report.imported and [e.line for e in report.rejected] == [2]
    assert report.rejected[0].reason.startswith("ref : Texte trop long"), report.rejected


def test_a_rejected_learner_row_never_echoes_the_birth_date(session, sites):
    csv = "ref;first_name;last_name;birth_date;site;entry_date\nL1;Lou;Martin;31/02/2008;TPM;2026-11-02\n"
    report = import_data(session, SYSTEM, "learners", csv.encode(), "s.csv")
    assert len(report.rejected) == 1
    reason = report.rejected[0].reason
    assert "31/02" not in reason and "2008" not in reason and "Date" in reason


def test_an_unclosed_quote_refuses_its_line_and_keeps_the_others(session, sites):
    csv = (
        "ref;name;postcode;city\n"
        "Q1;Boulangerie Martin;83000;Toulon\n"
        'Q2;"Garage du Port;83000;Toulon\n'
        "Q3;Hôtel Mistral;83400;Hyères\n"
    )
    table = read_rows(csv.encode())
    assert [line for line, _ in table.rows] == [2, 4]
    assert [line for line, _ in table.refused] == [3]
    report = import_data(session, SYSTEM, "companies", csv.encode(), "c.csv")
    assert not report.imported and [e.line for e in report.rejected] == [3]
    assert "guillemet" in report.rejected[0].reason
    report = import_data(session, SYSTEM, "companies", csv.encode(), "c.csv", skip_invalid=True)
    session.commit()
    names = session.scalars(select(Company.name).order_by(Company.ref)).all()
    assert names == ["Boulangerie Martin", "Hôtel Mistral"]  # nothing merged into one company


def test_an_unclosed_quote_on_the_last_line_is_refused(session, sites):
    table = read_rows(b'ref,name\nA1,Martin\nA2,"Garage\n')
    assert [line for line, _ in table.rows] == [2] and [line for line, _ in table.refused] == [3]
    # A legitimate cell on two lines is kept.
    table = read_rows(b'ref,name,address\nA1,Martin,"12 rue Foch\nBat B"\nA2,Port,3 quai\n')
    assert [r["address"] for _, r in table.rows] == ["12 rue Foch\nBat B", "3 quai"]
    assert table.refused == []


def test_row_and_byte_limits_before_anything_is_written(session, sites, monkeypatch):
    monkeypatch.setenv("PASSERELLE_IMPORT_MAX_ROWS", "3")
    rows = "".join(f"L{i};Entreprise {i}\n" for i in range(4))
    with pytest.raises(ValidationError, match="3 lignes au plus"):
        import_data(session, SYSTEM, "companies", f"ref;name\n{rows}".encode(), "c.csv")
    monkeypatch.setenv("PASSERELLE_MAX_UPLOAD_MB", "1")
    big = b"ref;name\n" + b"A;B\n" * 300_000  # 1.2 MB
    with pytest.raises(ValidationError, match="1 Mo au plus"):
        import_data(session, SYSTEM, "companies", big, "c.csv")
    assert session.scalar(select(func.count()).select_from(Company)) == 0


# --------------------------------------------------------------------------- bulk = row by row

FILE = """ref;name;siret;postcode;city;phone;site;status
B1;Boulangerie Martin;732 829 320 00074;83000;Toulon;04 94 12 34 56;TPM;partner
B2;Garage du Port;;83000;Toulon;;TPM;
B3;SARL Boulangerie Martin;;83000;Toulon;04 94 12 34 56;TPM;prospect
B4;Sans code postal;;830;Toulon;;TPM;
B5;Site inconnu;;83000;Toulon;;Nulle Part;
EX;Existante renommée;;83400;Hyères;;CAVEM;contacted
B2;Garage du Port et Fils;;83000;Toulon;;TPM;
"""
OFFERS = """ref;company_ref;rome;title;seats;start_date;end_date
O1;B1;D1102;Vendeur;2;2027-01-01;2027-02-01
O2;B2;D1102;Mécanicien;1;2027-03-01;2027-01-01
O3;NOPE;D1102;Inconnue;1;;
EO;EX;D1102;Offre existante modifiée;3;;
O1;B1;D1102;Vendeur en boulangerie;2;2027-01-01;2027-02-01
"""


def _snapshot(session):
    companies = session.execute(
        select(
            Company.ref,
            Company.name,
            Company.status,
            Company.site_id,
            Company.latitude,
            Company.geo_precision,
            Company.siret,
            Company.phone,
        ).order_by(Company.ref)
    ).all()
    offers = session.execute(
        select(Offer.ref, Offer.title, Offer.seats, Offer.rome_code, Offer.status).order_by(
            Offer.ref
        )
    ).all()
    history = session.execute(
        select(Company.ref, CompanyStatusChange.from_status, CompanyStatusChange.to_status)
        .join(Company, Company.id == CompanyStatusChange.company_id)
        .order_by(Company.ref, CompanyStatusChange.id)
    ).all()
    audit = session.execute(
        select(AuditEvent.action, AuditEvent.entity, AuditEvent.details).order_by(AuditEvent.id)
    ).all()
    return companies, offers, history, sorted(map(repr, audit))


def _report(r: ImportReport):
    return (
        r.rows,
        r.created,
        r.updated,
        r.unchanged,
        r.imported,
        [(e.line, e.reason) for e in r.rejected],
        [(d.line, d.ref_a, d.ref_b, d.score) for d in r.duplicates],
    )


def _run_both_ways(session, sites, bulk: bool):
    session.add(Company(ref="EX", name="Existante", status="prospect", site_id=sites[1].id))
    session.flush()
    session.add(
        Offer(
            ref="EO",
            company_id=session.scalar(select(Company.id)),
            rome_code="D1102",
            title="Offre",
        )
    )
    session.commit()
    progress = []
    r1 = import_data(
        session,
        SYSTEM,
        "companies",
        FILE.encode(),
        "c.csv",
        skip_invalid=True,
        bulk_path=bulk,
        progress=lambda done, total: progress.append((done, total)),
    )
    session.commit()
    r2 = import_data(
        session, SYSTEM, "offers", OFFERS.encode(), "o.csv", skip_invalid=True, bulk_path=bulk
    )
    session.commit()
    r3 = import_data(
        session, SYSTEM, "companies", FILE.encode(), "c.csv", skip_invalid=True, bulk_path=bulk
    )
    session.commit()
    return [_report(r) for r in (r1, r2, r3)], _snapshot(session), progress


def test_bulk_path_gives_the_row_by_row_results(session, sites, tmp_path):
    bulk_reports, bulk_state, progress = _run_both_ways(session, sites, bulk=True)
    assert progress and progress[-1] == (7, 7)
    # Same file through the services row by row, on a second database of the same backend.
    from crm.db import upgrade
    from crm.models import Site
    from crm.reference import load_reference_tables

    url = session.get_bind().url
    session.rollback()
    if url.get_backend_name() == "sqlite":
        other = f"sqlite:///{tmp_path / 'per_row.db'}"
        engine = make_engine(other)
        upgrade(engine)
    else:
        engine = session.get_bind()  # reset below: truncate and reload
        from tests.conftest import _truncate_pg

        _truncate_pg(engine)
    with make_session_factory(engine)() as s2:
        load_reference_tables(s2)
        a = Site(name="TPM", city="Toulon", postcode="83000")
        b = Site(name="CAVEM", city="Fréjus", postcode="83600")
        s2.add_all([a, b])
        s2.commit()
        row_reports, row_state, _ = _run_both_ways(s2, (a, b), bulk=False)
    assert bulk_reports == row_reports
    assert bulk_state == row_state
    first = bulk_reports[0]
    assert first[1:4] == (3, 2, 0)  # B1 B2 B3 created, EX updated, B2 updated by its 2nd line
    assert [line for line, _ in first[5]] == [5, 6]
    assert "Code postal" in first[5][0][1] and first[5][1][1] == "Site : Site inconnu."
    assert first[6], "B1 ~ B3 reported as a likely duplicate"
    assert bulk_reports[2][1:4] == (0, 2, 3)  # again: B2 renamed back and forth, the rest unchanged


# --------------------------------------------------------------------------- templates


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_templates_import_as_they_are(session, sites, fmt):
    for kind in KINDS:
        data = template_bytes(kind, fmt)
        report = import_data(session, SYSTEM, kind, data, template_filename(kind, fmt))
        assert report.rejected == [] and report.unknown_columns == [], (kind, report)
        assert report.rows == 0


def test_importable_kinds_follow_the_permissions(session, sites):
    tpm, _ = sites
    assert importable_kinds(make_actor(session, Role.TRAINER, tpm)) == [
        "learners",
        "interactions",
        "placements",
    ]
    assert importable_kinds(make_actor(session, Role.OFFICER, tpm)) == [
        "companies",
        "contacts",
        "offers",
        "interactions",
    ]
    assert importable_kinds(make_actor(session, Role.MANAGER, tpm)) == []
    assert importable_kinds(SYSTEM) == list(KINDS)


# --------------------------------------------------------------------------- CLI


def _officer(db_url, tpm_name="TPM"):
    from crm.models import Site
    from crm.reference import load_reference_tables

    engine = make_engine(db_url)
    with make_session_factory(engine)() as s:
        load_reference_tables(s)
        tpm = Site(name="TPM", city="Toulon", postcode="83000")
        cavem = Site(name="CAVEM", city="Fréjus", postcode="83600")
        s.add_all([tpm, cavem, User(username="gone", role="officer", is_active=False, sites=[tpm])])
        s.add(User(username="agent.tpm", role="officer", display_name="Agent", sites=[tpm]))
        s.commit()
    engine.dispose()


def test_cli_as_user_imports_with_that_users_scope(db_url, tmp_path):
    _officer(db_url)
    src = tmp_path / "entreprises.csv"
    src.write_text("ref;name;site\nA1;Chez nous;TPM\nB1;Ailleurs;CAVEM\n", encoding="utf-8")
    r = run_cli(db_url, "import", "companies", str(src), "--as-user", "agent.tpm", "--skip-invalid")
    assert r.returncode == 0, r.stderr
    assert "ligne 3 : Accès refusé" in r.stdout, r.stdout
    engine = make_engine(db_url)
    with make_session_factory(engine)() as s:
        assert s.scalars(select(Company.ref)).all() == ["A1"]
        authors = set(
            s.scalars(select(AuditEvent.actor_name).where(AuditEvent.entity == "company")).all()
        )
        assert authors == {"agent.tpm"}
        assert s.scalar(select(Company.owner_id)) is not None  # officer's own import
    engine.dispose()
    for user, message in (("nobody", "Utilisateur inconnu"), ("gone", "désactivé")):
        r = run_cli(db_url, "import", "companies", str(src), "--as-user", user)
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_as_user_import_lets_other_users_save_while_the_file_is_checked(
    db_url, tmp_path, monkeypatch
):
    """The --as-user look-up must not leave a write transaction open over the check."""
    import crm.services.imports.bulk as bulk
    from crm.cli import main

    _officer(db_url)
    src = tmp_path / "entreprises.csv"
    src.write_text("ref;name;site\nA1;Chez nous;TPM\n", encoding="utf-8")
    original = bulk.plan_import
    saved: list[str] = []

    def check_while_someone_saves(reader, *args, **kwargs):
        plan = original(reader, *args, **kwargs)
        _save_elsewhere(db_url, "saved_meanwhile")
        saved.append("ok")
        return plan

    monkeypatch.setattr(bulk, "plan_import", check_while_someone_saves)
    monkeypatch.setenv("PASSERELLE_DATABASE_URL", db_url)
    assert main(["import", "companies", str(src), "--as-user", "agent.tpm"]) == 0
    assert saved == ["ok"]
    engine = make_engine(db_url)
    with make_session_factory(engine)() as s:
        assert s.scalars(select(Company.ref)).all() == ["A1"]
    engine.dispose()


def test_cli_limits_and_progress(db_url, tmp_path):
    _officer(db_url)
    src = tmp_path / "entreprises.csv"
    src.write_text("ref;name\n" + "".join(f"L{i};E {i}\n" for i in range(5)), encoding="utf-8")
    r = run_cli(db_url, "import", "companies", str(src), env={"PASSERELLE_IMPORT_MAX_ROWS": "4"})
    assert r.returncode == 2 and "4 lignes au plus" in r.stderr, r.stderr
    big = tmp_path / "gros.csv"
    big.write_bytes(b"ref;name\n" + b"A;B\n" * 300_000)
    r = run_cli(db_url, "import", "companies", str(big), env={"PASSERELLE_MAX_UPLOAD_MB": "1"})
    assert r.returncode == 2 and "1 Mo au plus" in r.stderr, r.stderr
    r = run_cli(db_url, "import", "companies", str(src), "--progress")
    assert r.returncode == 0 and "100 % 5/5" in r.stderr, r.stderr
    assert "entreprises : 5 ligne(s)" in r.stdout


# --------------------------------------------------------------------------- page


def test_page_limits_kinds_and_templates(demo_copy, monkeypatch):
    from tests.pages.test_ui_crm import capture_downloads
    from tests.support.ui import app_as, open_page

    downloads = capture_downloads(monkeypatch)
    at = open_page(app_as(demo_copy, monkeypatch, "trainer"), "pages/import_export.py")
    assert not at.exception
    assert at.selectbox(key="import_kind").options == [
        "Stagiaires",
        "Journal de contacts",
        "Périodes en entreprise",
    ]
    names = [b.proto.url for b in at.get("download_button")]
    assert any(n.endswith(".csv") for n in names) and any(n.endswith(".xlsx") for n in names)

    monkeypatch.setenv("PASSERELLE_IMPORT_MAX_ROWS", "2")
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/import_export.py")
    at.text_area(key="import_paste").input("ref;name\nA;a\nB;b\nC;c\n").run()
    at.button(key="import_go").click().run()
    assert not at.exception
    shown = " ".join([e.value for e in at.error] + [m.value for m in at.markdown])
    assert "2 lignes au plus" in shown
    monkeypatch.setenv("PASSERELLE_MAX_UPLOAD_MB", "1")
    at.get("file_uploader")[0].upload(
        "gros.csv", b"ref;name\n" + b"A;B\n" * 300_000, "text/csv"
    ).run()
    assert not at.exception
    shown = " ".join([e.value for e in at.error] + [m.value for m in at.markdown])
    assert "1 Mo au plus" in shown
    assert not [b for b in at.button if b.key == "import_go"]  # refused before parsing
    assert "entreprises.csv" in downloads


def test_an_offer_import_lowering_seats_refuses_when_a_booking_came_meanwhile(
    session, sites, engine, monkeypatch
):
    """The check phase counts bookings without a lock: the write counts them again, so a
    booking made between the two never leaves an offer with fewer seats than periods."""
    import crm.services.imports.bulk as bulk
    from crm.services.placements import book_placement
    from tests.factories import END, START, make_company, make_offer, register_learner

    tpm, _ = sites
    trainer = make_actor(session, Role.TRAINER, tpm)
    company = make_company(session, tpm, ref="C-SEATS")
    offer = make_offer(session, company, seats=2, ref="O-SEATS")
    first = register_learner(session, trainer, tpm)
    second = register_learner(session, trainer, tpm, first_name="Noa")
    book_placement(session, trainer, first.id, offer.id, START, END)
    session.commit()
    offer_id, second_id = offer.id, second.id
    csv = f"ref;company_ref;rome;title;seats\nO-SEATS;C-SEATS;D1106;{offer.title};1\n"

    original = bulk.BulkPlan.write

    def booking_meanwhile(self, write_session):
        other = make_session_factory(engine)()
        try:  # another trainer books the second seat between the check and the write
            book_placement(other, trainer, second_id, offer_id, START, END)
            other.commit()
        finally:
            other.close()
        return original(self, write_session)

    monkeypatch.setattr(bulk.BulkPlan, "write", booking_meanwhile)
    with pytest.raises(ValidationError) as exc:
        import_data(session, SYSTEM, "offers", csv.encode(), "offres.csv")
    assert "pendant l'import" in str(exc.value)
    session.rollback()
    assert session.get(Offer, offer_id, populate_existing=True).seats == 2  # nothing written


def _import_in_a_unit_of_work(engine, csv: str) -> ImportReport:
    """Import companies in a writer session, as the page and the CLI open one."""
    from crm.db import writer_session

    unit = writer_session(make_session_factory(engine))
    try:
        report = import_data(unit, SYSTEM, "companies", csv.encode(), "e.csv")
        unit.commit()
    finally:
        unit.close()
    return report


def _save_elsewhere(db_url: str, key: str) -> None:
    """Another user's small save; it gives up after 0.3 s if the database is locked."""
    from crm.models import Setting

    other = make_engine(db_url, busy_timeout_ms=300)
    try:
        with make_session_factory(other)() as s:
            s.add(Setting(key=key, value=1))
            s.commit()
    finally:
        other.dispose()


def test_other_users_keep_saving_while_a_file_is_checked(session, sites, engine, monkeypatch):
    """The check phase of a bulk import reads only: another user's save during it goes
    through at once (on SQLite it would otherwise wait for the whole check)."""
    import time

    from sqlalchemy import update

    import crm.services.imports.bulk as bulk
    from crm.db import writer_session

    tpm, _ = sites
    session.add(Company(name="Garage du Port", site_id=tpm.id, ref="C-BUSY"))
    session.commit()
    original = bulk.plan_import
    waited: list[float] = []

    def check_while_someone_saves(reader, *args, **kwargs):
        plan = original(reader, *args, **kwargs)  # the check phase has read everything
        other = writer_session(make_session_factory(engine))
        t0 = time.monotonic()
        try:
            other.execute(update(Company).where(Company.ref == "C-BUSY").values(phone=None))
            other.commit()
        finally:
            other.close()
        waited.append(time.monotonic() - t0)
        return plan

    monkeypatch.setattr(bulk, "plan_import", check_while_someone_saves)
    csv = "ref;name;postcode;city;site\nC-NEW;Boulangerie Martin;83000;Toulon;TPM\n"
    report = _import_in_a_unit_of_work(engine, csv)
    assert report.imported and report.created == 1, report
    assert waited and waited[0] < 5, waited


def test_other_users_keep_saving_while_the_rows_are_staged(
    session, sites, db_url, engine, monkeypatch
):
    """The write phase sends the rows before it takes SQLite's write lock (temporary
    tables): another user's save in the meantime goes through at once; the import then
    writes its rows, status history and audit rows with their own ids."""
    import crm.services.imports.bulk as bulk

    dialect = session.get_bind().dialect.name
    name = "_stage" if dialect == "sqlite" else "_copy"
    original = getattr(bulk, name)
    saved: list[str] = []

    def send_while_someone_saves(*args, **kwargs):
        out = original(*args, **kwargs)
        _save_elsewhere(db_url, f"saved_{len(saved)}")
        saved.append("ok")
        return out

    monkeypatch.setattr(bulk, name, send_while_someone_saves)
    csv = "ref;name;postcode;city;site\nS1;Boulangerie Martin;83000;Toulon;TPM\nS2;Garage;83400;Hyères;TPM\n"
    session.commit()
    report = _import_in_a_unit_of_work(engine, csv)
    assert report.imported and report.created == 2, report
    assert saved and set(saved) == {"ok"}  # companies, status history, audit rows
    ids = dict(session.execute(select(Company.ref, Company.id)).all())
    assert sorted(ids) == ["S1", "S2"]
    history = session.execute(select(CompanyStatusChange.company_id)).scalars().all()
    assert sorted(history) == sorted(ids.values())
    created = session.scalars(
        select(AuditEvent.entity_id).where(AuditEvent.action == "create")
    ).all()
    assert sorted(created) == sorted(ids.values())
