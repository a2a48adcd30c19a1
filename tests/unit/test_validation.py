"""Every validation rule of crm.validation (pure functions: no database)."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm import validation as v
from crm.validation import FieldError


def msg(fn, *args) -> str:
    with pytest.raises(FieldError) as exc:
        fn(*args)
    assert isinstance(exc.value, ValueError)
    return exc.value.message


@pytest.mark.parametrize("raw", ["73282932000074", "732 829 320 00074", " 732.829.320.00074 "])
def test_siret_accepts_spaces_and_stores_14_digits(raw):
    assert v.siret(raw) == "73282932000074"


def test_siret_errors_are_french_and_specific():
    assert "clé de contrôle" in msg(v.siret, "73282932000075")
    assert "14 chiffres" in msg(v.siret, "7328293200007")
    assert "chiffres" in msg(v.siret, "7328293200007A")
    assert v.siret("") is None and v.siret(None) is None


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789", min_size=14, max_size=14), st.booleans())
def test_siret_and_siren_checks_agree_with_python_stdnum(number, la_poste):
    # Our direct Luhn check (the import checks 50,000 SIRETs) against the reference library.
    from stdnum.fr import siren as ref_siren
    from stdnum.fr import siret as ref_siret

    if la_poste:
        number = "356000000" + number[9:]
    for ours, ref, value in ((v.siret, ref_siret, number), (v.siren, ref_siren, number[:9])):
        try:
            expected = ref.validate(value)
        except Exception:
            expected = None
        try:
            got = ours(value)
        except FieldError:
            got = None
        assert got == expected
    assert v.siret("35600000000048") == "35600000000048"  # La Poste's head office: Luhn


def test_siren():
    assert v.siren("732 829 320") == "732829320"
    assert "clé" in msg(v.siren, "732829321")
    assert "9 chiffres" in msg(v.siren, "7328")


def test_postcode():
    assert v.postcode("83000") == "83000"
    assert v.postcode(6000) == "06000"  # spreadsheet dropped the leading zero
    assert "5 chiffres" in msg(v.postcode, "8300")
    assert "5 chiffres" in msg(v.postcode, "83OOO")
    assert "inconnu" in msg(v.postcode, "00100")


@pytest.mark.parametrize(
    "raw",
    [
        "0494123456",
        "04 94 12 34 56",
        "04.94.12.34.56",
        "04-94-12-34-56",
        "+33 4 94 12 34 56",
        "+33494123456",
        "0033 4 94 12 34 56",
        "+33 (0)4 94 12 34 56",
    ],
)
def test_phone_normalised_to_one_format(raw):
    assert v.phone(raw) == "04 94 12 34 56"


def test_phone_rejects():
    assert "10 chiffres" in msg(v.phone, "04 94 12 34")
    assert "français" in msg(v.phone, "+44 20 7946 0958")
    assert "10 chiffres" in msg(v.phone, "appelez-moi")


def test_email():
    assert v.email(" Jean.Dupont@Exemple.FR ") == "Jean.Dupont@exemple.fr"
    for bad in ["jean", "jean@", "jean@exemple", "a b@c.fr", "jean..d@x.fr"]:
        assert "e-mail" in msg(v.email, bad)


def test_naf():
    assert v.naf("47.11F") == "47.11F"
    assert v.naf("4711f") == "47.11F"
    assert "47.11F" in msg(v.naf, "471F")
    assert "47.11F" in msg(v.naf, "47.111")


def test_website():
    assert v.website("www.exemple.fr") == "https://www.exemple.fr"
    assert v.website("HTTP://exemple.fr/a?b") == "http://exemple.fr/a?b"
    assert "site web" in msg(v.website, "pas un site")
    assert "site web" in msg(v.website, "ftp://x.fr")
    assert "site web" in msg(v.website, "exemple")


def test_dates():
    assert v.date("2026-11-23") == dt.date(2026, 11, 23)
    assert v.date("23/11/2026") == dt.date(2026, 11, 23)
    assert v.date("3/1/2026") == dt.date(2026, 1, 3)
    assert v.date("2026-11-23 00:00:00") == dt.date(2026, 11, 23)
    assert v.date(dt.datetime(2026, 1, 2, 8)) == dt.date(2026, 1, 2)
    assert "impossible" in msg(v.date, "31/02/2026")
    assert "JJ/MM/AAAA" in msg(v.date, "demain")


def test_coordinates():
    assert v.coordinates("43,1242", "5.93") == (43.1242, 5.93)
    assert v.coordinates(None, "") is None
    assert "entre -90 et 90" in msg(v.latitude, "91")
    assert "entre -180 et 180" in msg(v.longitude, "-181")
    assert "hors de France" in msg(v.coordinates, "5.93", "43.12")  # swapped
    assert "ensemble" in msg(v.coordinates, "43.1", None)
    assert "nombre" in msg(v.latitude, "nord")


def test_rome_codes():
    assert v.rome_code(" d1106 ") == "D1106"
    assert v.rome_codes("D1106; H2102,D1106") == ["D1106", "H2102"]
    assert "une lettre et 4 chiffres" in msg(v.rome_code, "D116")
    assert "inconnu" in msg(v.rome_code, "D9999")


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("oui", True),
        ("Non", False),
        ("1", True),
        (0, False),
        ("true", True),
        ("FALSE", False),
        ("vrai", True),
        ("", None),
    ],
)
def test_boolean(raw, expected):
    assert v.boolean(raw) is expected


def test_boolean_rejects():
    assert "oui/non" in msg(v.boolean, "peut-être")
    assert "oui/non" in msg(v.boolean, 2)


def test_integer():
    assert v.integer("3") == 3 and v.integer(3.0) == 3 and v.integer(" 12 ") == 12
    assert "entier" in msg(v.integer, "2,5")
    assert "entier" in msg(v.integer, 2.5)
    assert "au moins 0" in msg(v.integer, "-1", 0)
    assert "au plus 10" in msg(v.integer, "11", 0, 10)


def test_mobility_modes():
    assert v.mobility("walk;Vélo; car ;walk") == ["walk", "bike", "car"]
    assert "Mode de déplacement" in msg(v.mobility, "walk;teleport")


def test_required():
    assert "obligatoire" in msg(v.required, "  ", "Le nom")


VALIDATORS = [
    v.siret,
    v.siren,
    v.postcode,
    v.phone,
    v.email,
    v.naf,
    v.website,
    v.date,
    v.latitude,
    v.longitude,
    v.rome_code,
    v.rome_codes,
    v.boolean,
    v.integer,
    v.mobility,
    v.text,
]


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.booleans(), st.binary()))
def test_validators_only_raise_field_errors(value):
    for fn in VALIDATORS:
        try:
            fn(value)
        except FieldError as exc:
            assert exc.message
    with contextlib.suppress(FieldError):
        v.coordinates(value, value)
