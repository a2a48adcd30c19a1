"""pages/_forms.py: refused forms keep what was typed, errors under the field, cleared on success."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from crm.models import Company, Interaction, User
from pages._forms import max_len


def _app():
    import streamlit as st

    from crm.errors import ValidationError
    from pages._forms import Form

    def action(session):
        name = st.session_state["demo__name"]
        if len(name) < 3:
            raise ValidationError({"Raison sociale": "Trop court."})
        st.session_state["saved"] = name

    f = Form("demo")
    with f:
        f.text_input("Raison sociale *", "name", max_chars=10)
        f.number_input("Places", "seats", min_value=1, max_value=500, value=1)
        submitted = st.form_submit_button("Créer")
    if submitted:
        f.submit(action, success="Créée.")
    f.show_flash()


def _patch_db(monkeypatch):
    import contextlib

    import pages._forms as forms

    monkeypatch.setattr(forms, "db_session", contextlib.nullcontext)


def test_max_len_reads_the_column():
    assert max_len(Company.name) == Company.__table__.c.name.type.length
    assert max_len(User.username) == 80
    assert max_len(Interaction.summary) == getattr(
        Interaction.__table__.c.summary.type, "length", None
    )


def test_refused_form_keeps_values_and_shows_error_under_field(monkeypatch):
    _patch_db(monkeypatch)
    at = AppTest.from_function(_app, default_timeout=30).run()
    at.text_input(key="demo__name").input("ab")
    at.number_input(key="demo__seats").set_value(3)
    at.button[0].click().run()
    assert not at.exception
    assert at.text_input(key="demo__name").value == "ab"
    assert at.number_input(key="demo__seats").value == 3
    assert [e.value for e in at.error][-1] == "Trop court."
    at.text_input(key="demo__name").input("abcd")
    at.button[0].click().run()
    assert at.session_state["saved"] == "abcd"
    assert at.success[0].value == "Créée."
    assert at.text_input(key="demo__name").value == ""
    assert not at.error


def _app_english_keys():
    import streamlit as st

    from crm.errors import ValidationError
    from crm.labels import COMPANY_FIELD_FR
    from pages._forms import Form

    def action(session):
        raise ValidationError(
            {"name": "Trop court.", "siret": "Clé de contrôle fausse."}, COMPANY_FIELD_FR
        )

    f = Form("demo")
    with f:
        f.text_input("Raison sociale *", "name", max_chars=10)
        submitted = st.form_submit_button("Créer")
    if submitted:
        f.submit(action)


def test_errors_keyed_by_field_name_show_under_the_field_or_with_their_french_label(
    monkeypatch,
):
    """A service keys errors in English; the page shows each under its widget, and one
    with no widget at the bottom under its French label (never the English key)."""
    _patch_db(monkeypatch)
    at = AppTest.from_function(_app_english_keys, default_timeout=30).run()
    at.text_input(key="demo__name").input("ab")
    at.button[0].click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert "Trop court." in errors  # under "Raison sociale *"
    assert "SIRET : Clé de contrôle fausse." in errors
    assert not any("siret" in e or "name :" in e for e in errors)


def test_md_escape_keeps_user_text_literal():
    from pages._forms import md_escape

    # Every Markdown trigger is backslash-escaped (CommonMark: an escaped punctuation
    # character is shown as itself), ordinary punctuation is left alone.
    assert md_escape("[lien](https://exemple.fr) **URGENT**") == (
        "\\[lien\\](https\\://exemple.fr) \\*\\*URGENT\\*\\*"
    )
    assert md_escape("- tiret\n1. liste\n# titre\n> cite") == (
        "\\- tiret  \n1\\. liste  \n\\# titre  \n\\> cite"
    )
    assert md_escape("<b>x</b> `c` $x$ :red[r] a@b.fr") == (
        "\\<b\\>x\\</b\\> \\`c\\` \\$x\\$ \\:red\\[r\\] a\\@b.fr"
    )
    assert md_escape("La fin doit être après le début.") == "La fin doit être après le début."
    assert md_escape(None) == ""
