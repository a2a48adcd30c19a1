"""Property-based tests (hypothesis) of the validators and of the importer.

Validators (crm/validation.py) take anything a form or a spreadsheet can give
(text, numbers, dates, None, huge values, control characters) and either return
a normalised value or raise ``FieldError`` with a French message; the value they
return is a fixed point (validating it again gives it back unchanged).

The importer (crm/services/imports/) is fed random and malformed files: it either
imports cleanly or refuses with French per-file/per-row errors, and never writes
half a file (row counts before/after, on SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import string
from urllib.parse import urlparse

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from crm import validation as v
from crm.auth import SYSTEM
from crm.db import make_engine, make_session_factory
from crm.errors import ValidationError
from crm.models import AuditEvent, Company, Contact, Interaction, Learner, Offer, Placement, Site
from crm.services.imports import KINDS, REQUIRED, import_data, read_table

EXAMPLES = 150

# Anything a cell or a form field can hold.
nasty_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
digits_like = st.from_regex(r"\A[+(]?[0-9 .\-/()]{0,20}[A-Za-z]?\Z")
any_value = st.one_of(
    st.none(),
    nasty_text,
    digits_like,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers().map(lambda n: n * 10**400),  # too big for a float
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.sampled_from(["", "  ", "\u00a0", "\x00", "=cmd|' /C calc'!A0", "1e999", "nan", "-0"]),
)

# (validator, how to feed its output back to it)
SCALAR_VALIDATORS = {
    "siret": v.siret,
    "siren": v.siren,
    "postcode": v.postcode,
    "phone": v.phone,
    "email": v.email,
    "website": v.website,
    "naf": v.naf,
    "rome_code": v.rome_code,
    "date": v.date,
    "integer": v.integer,
    "integer_bounded": lambda x: v.integer(x, 0, 99),
    "latitude": v.latitude,
    "longitude": v.longitude,
    "boolean": v.boolean,
    "text": lambda x: v.text(x, 30),
    "choice": lambda x: v.choice(x, {"call": "Appel", "visit": "Visite"}, "Type"),
}
LIST_VALIDATORS = {"rome_codes": v.rome_codes, "mobility": v.mobility}


def _check_scalar(fn, value):
    try:
        out = fn(value)
    except v.FieldError as exc:
        assert isinstance(exc.message, str) and exc.message.strip()
        return
    if out is not None:
        assert fn(out) == out, f"not idempotent: {value!r} -> {out!r} -> {fn(out)!r}"


@pytest.mark.parametrize("name", sorted(SCALAR_VALIDATORS))
@settings(max_examples=EXAMPLES, deadline=None)
@given(value=any_value)
def test_scalar_validators_raise_only_field_error_and_are_idempotent(name, value):
    _check_scalar(SCALAR_VALIDATORS[name], value)


@pytest.mark.parametrize("name", sorted(LIST_VALIDATORS))
@settings(max_examples=EXAMPLES, deadline=None)
@given(
    value=st.one_of(
        any_value,
        st.lists(
            st.sampled_from(["D1106", "G1602", "d 1106", "Z9999", "vélo", "car", "à pied", "x"]),
            max_size=5,
        ).map(";".join),
    )
)
def test_list_validators_raise_only_field_error_and_are_idempotent(name, value):
    fn = LIST_VALIDATORS[name]
    try:
        out = fn(value)
    except v.FieldError as exc:
        assert exc.message.strip()
        return
    assert isinstance(out, list)
    assert fn(";".join(out)) == out


@settings(max_examples=EXAMPLES, deadline=None)
@given(lat=any_value, lon=any_value)
def test_coordinates_raise_only_field_error_and_are_idempotent(lat, lon):
    try:
        out = v.coordinates(lat, lon)
    except v.FieldError as exc:
        assert exc.message.strip()
        return
    if out is not None:
        assert v.coordinates(*out) == out


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    siren8=st.from_regex(r"\A[1-9][0-9]{7}\Z"),
    nic4=st.from_regex(r"\A[0-9]{4}\Z"),
    seps=st.sampled_from(["", " ", "."]),
)
def test_valid_siret_is_accepted_with_separators(siren8, nic4, seps):
    """A SIRET whose SIREN and whole number pass the Luhn check is accepted, however spaced."""
    siren = siren8 + next(d for d in string.digits if v.luhn_ok(siren8 + d))
    body = siren + nic4
    number = body + next(d for d in string.digits if v.luhn_ok(body + d))
    assume(number[:9] != "356000000")  # La Poste: its own key rule
    raw = seps.join([number[:3], number[3:6], number[6:9], number[9:]])
    assert v.siret(raw) == number
    assert v.siren(siren) == siren


@settings(max_examples=EXAMPLES, deadline=None)
@given(day=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_dates_in_every_accepted_format(day):
    for raw in (day.isoformat(), f"{day:%d/%m/%Y}", f"{day:%d.%m.%Y}", f"{day:%d-%m-%Y}"):
        assert v.date(raw) == day
    assert v.date(f"{day.isoformat()} 00:00:00") == day


@settings(max_examples=EXAMPLES, deadline=None)
@given(digits=st.from_regex(r"\A0[1-79][0-9]{8}\Z"), fmt=st.sampled_from(["plain", "dots", "+33"]))
def test_valid_phone_numbers_normalise_to_one_form(digits, fmt):
    raw = {
        "plain": digits,
        "dots": ".".join(digits[i : i + 2] for i in range(0, 10, 2)),
        "+33": "+33 " + digits[1:],
    }[fmt]
    out = v.phone(raw)
    assert out.replace(" ", "") == digits and len(out) == 14


# --------------------------------------------------------------------------- importer

TABLES = (Site, Company, Contact, Offer, Learner, Interaction, Placement, AuditEvent)


def _counts(session) -> dict[str, int]:
    session.expire_all()
    return {m.__name__: session.scalar(select(func.count()).select_from(m)) for m in TABLES}


def _import(session, kind, data, filename):
    """Import as a user would; returns the report or the French refusal."""
    try:
        report = import_data(session, SYSTEM, kind, data, filename)
    except ValidationError as exc:
        session.rollback()
        assert exc.errors and all(isinstance(m, str) and m for m in exc.errors.values())
        return None
    for err in report.rejected:
        assert isinstance(err.line, int) and err.reason.strip()
    session.commit()
    return report


def _assert_all_or_nothing(session, before, report):
    after = _counts(session)
    if report is None or not report.imported:
        assert after == before, "a refused import wrote something"
    else:
        assert report.rejected == []
        assert after["AuditEvent"] >= before["AuditEvent"] + 1


COMPANY_HEADER = "ref,name,postcode,city,siret,phone,email,site\n"


def _xlsx(rows: list[list[object]]) -> bytes:
    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame(rows[1:], columns=rows[0]).to_excel(buf, index=False, engine="openpyxl")
    return buf.getvalue()


MALFORMED = {
    "empty": (b"", "c.csv"),
    "header only": (COMPANY_HEADER.encode(), "c.csv"),
    "random bytes": (bytes(range(256)) * 4, "c.csv"),
    "utf-16": (
        (COMPANY_HEADER + "R1,École Hyères,83400,Hyères,,,,TPM\n").encode("utf-16"),
        "c.csv",
    ),
    "latin-1 accents": (
        (COMPANY_HEADER + "R1,Boulangerie Léonard,83000,Toulon,,,,TPM\n").encode("latin-1"),
        "c.csv",
    ),
    "huge cell": (
        (COMPANY_HEADER + "R1," + "x" * 1_000_000 + ",83000,Toulon,,,,TPM\n").encode(),
        "c.csv",
    ),
    "missing required column": (b"ref,city\nR1,Toulon\n", "c.csv"),
    "extra columns": (
        (COMPANY_HEADER.strip() + ",couleur,=1+1\nR1,Garage,83000,Toulon,,,,TPM,bleu,3\n").encode(),
        "c.csv",
    ),
    "formulas": (
        (
            COMPANY_HEADER + "R1,=cmd|' /C calc'!A0,83000,Toulon,,,,TPM\n"
            "R2,@SUM(A1),83000,Toulon,,+33 4 94 00 00 00,,TPM\n"
        ).encode(),
        "c.csv",
    ),
    "xlsx that is not a zip": (b"PK\x03\x04 not really a zip", "c.xlsx"),
    "csv named xlsx": (COMPANY_HEADER.encode(), "c.xlsx"),
    "mixed separators": (
        b"ref;name,postcode;city\nR1;Garage,83000;Toulon\nR2,Garage;83000,Toulon\n",
        "c.csv",
    ),
    "unterminated quote": ((COMPANY_HEADER + 'R1,"Garage,83000,Toulon,,,,TPM\n').encode(), "c.csv"),
    "nul bytes": ((COMPANY_HEADER + "R1,Gar\x00age,83000,Toulon,,,,TPM\n").encode(), "c.csv"),
    "one bad row among good": (
        (
            COMPANY_HEADER + "R1,Garage,83000,Toulon,,,,TPM\nR2,Garage 2,8300,Toulon,123,,,TPM\n"
        ).encode(),
        "c.csv",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_are_refused_cleanly_or_imported_whole(session, sites, case):
    data, filename = MALFORMED[case]
    before = _counts(session)
    report = _import(session, "companies", data, filename)
    _assert_all_or_nothing(session, before, report)
    if case in ("one bad row among good", "huge cell"):
        assert report is None or (not report.imported and report.rejected)
    if case == "one bad row among good":
        assert [e.line for e in report.rejected] == [3]
    if case in ("latin-1 accents", "utf-16"):
        assert report is not None and report.imported and report.created == 1
        name = session.scalar(select(Company.name).where(Company.ref == "R1"))
        assert "é" in name.lower()
    if case == "formulas":
        assert report.imported
        names = set(session.scalars(select(Company.name)))
        assert "=cmd|' /C calc'!A0" in names  # stored as text, never evaluated


def test_malformed_xlsx_cells(session, sites):
    data = _xlsx(
        [
            ["ref", "name", "postcode", "city", "phone", "siret", "site"],
            ["R1", "Garage", 83000, "Toulon", 494123456, 73282932000074, "TPM"],
            ["R2", float("nan"), 8300.5, None, 1e20, "abc", "TPM"],
        ]
    )
    before = _counts(session)
    report = _import(session, "companies", data, "c.xlsx")
    _assert_all_or_nothing(session, before, report)
    assert report is not None and not report.imported and [e.line for e in report.rejected] == [3]


cell = st.one_of(
    nasty_text,
    st.sampled_from(
        ["", "TPM", "CAVEM", "83000", "Toulon", "=1+1", "04 94 12 34 56", "D1106", '"', ";", ","]
    ),
)


@st.composite
def random_files(draw):
    kind = draw(st.sampled_from(KINDS))
    headers = draw(
        st.lists(
            st.sampled_from(
                list(REQUIRED[kind]) + ["ref", "name", "city", "postcode", "x", "Téléphone", ""]
            ),
            min_size=0,
            max_size=6,
        )
    )
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=7), max_size=4))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    text_ = "\n".join(sep.join(r) for r in [headers, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"]))
    data = text_.encode(encoding, errors="replace")
    if draw(st.booleans()):
        data = draw(st.binary(max_size=200)) + data[: draw(st.integers(0, len(data)))]
    return kind, data, draw(st.sampled_from(["f.csv", "f.xlsx", "f.txt", ""]))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(f=random_files())
def test_random_files_never_crash_nor_half_import(session, sites, f):
    kind, data, filename = f
    before = _counts(session)
    report = _import(session, kind, data, filename)
    _assert_all_or_nothing(session, before, report)


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.binary(max_size=300), name=st.sampled_from(["f.csv", "f.xlsx", ""]))
def test_read_table_on_random_bytes(data, name):
    try:
        rows = read_table(data, name)
    except ValidationError as exc:
        assert all(m for m in exc.errors.values())
        return
    for line, rec in rows:
        assert isinstance(line, int) and isinstance(rec, dict)


# --------------------------------------------------------------------------- the import page


@pytest.mark.parametrize(
    "filename,data,message",
    [
        ("entreprises.csv", b"ref,name\nR1," + b"x" * 1_000_000 + b"\n", "cellule trop longue"),
        ("entreprises.xlsx", b"PK\x03\x04 pas un classeur", "Classeur XLSX illisible"),
        ("entreprises.csv", b"ref,ville\nR1,Toulon\n", "Colonne(s) obligatoire(s) absente(s)"),
    ],
)
def test_import_page_shows_the_error_for_a_malformed_upload(
    demo_sqlite_url, tmp_path, monkeypatch, filename, data, message
):
    """Uploading a malformed file through st.file_uploader: a French error, no exception."""
    from tests.support.ui import app_as, open_page

    copy = tmp_path / "demo.db"
    shutil.copy(urlparse(demo_sqlite_url).path, copy)
    url = f"sqlite:///{copy}"
    at = open_page(app_as(url, monkeypatch, "officer"), "pages/import_export.py")
    mime = "text/csv" if filename.endswith(".csv") else "application/octet-stream"
    at.get("file_uploader")[0].upload(filename, data, mime).run()
    assert not at.exception
    at.button(key="import_go").click().run()
    assert not at.exception
    shown = " ".join([e.value for e in at.error] + [m.value for m in at.markdown])
    assert "Rien n'a été enregistré" in shown and message in shown, shown
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        imports = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import")
        )
    engine.dispose()
    assert imports == 0
