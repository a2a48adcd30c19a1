"""AppTest: session timeout, single sign-on button, admin pages."""

from __future__ import annotations

import datetime as dt

from tests.ui_helpers import app_as

SSO_LABEL = "Se connecter avec le compte de l'école"


def test_idle_session_expires_back_to_login(demo_sqlite_url, monkeypatch):
    monkeypatch.setenv("PASSERELLE_SESSION_TIMEOUT_MIN", "30")
    at = app_as(demo_sqlite_url, monkeypatch, "officer")
    at.session_state["last_seen"] = dt.datetime.now() - dt.timedelta(minutes=31)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Passerelle"
    assert "Session expirée" in at.info[0].value
    assert "actor" not in at.session_state


def test_recent_session_stays_open(demo_sqlite_url, monkeypatch):
    monkeypatch.setenv("PASSERELLE_SESSION_TIMEOUT_MIN", "30")
    at = app_as(demo_sqlite_url, monkeypatch, "officer")
    at.session_state["last_seen"] = dt.datetime.now() - dt.timedelta(minutes=29)
    at.run()
    assert at.title[0].value == "Entreprises"


def test_without_sso_settings_no_sso_button(demo_sqlite_url, monkeypatch):
    at = app_as(demo_sqlite_url, monkeypatch, None).run()
    assert not at.exception
    assert SSO_LABEL not in [b.label for b in at.button]
    assert at.text_input[0].label == "Identifiant"


def test_with_sso_settings_the_sso_button_is_offered(demo_sqlite_url, monkeypatch):
    at = app_as(demo_sqlite_url, monkeypatch, None)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-only",
        "client_id": "passerelle",
        "client_secret": "test-only",
        "server_metadata_url": "https://sso.example.org/.well-known/openid-configuration",
    }
    at.run()
    assert not at.exception
    assert SSO_LABEL in [b.label for b in at.button]
    # The local form stays available for accounts without single sign-on.
    assert "Identifiant" in [t.label for t in at.text_input]
