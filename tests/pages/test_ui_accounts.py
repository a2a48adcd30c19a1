"""AppTest: session timeout, single sign-on button, admin pages, own password change."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from crm.auth import verify_password
from crm.demo import DEMO_PASSWORD
from crm.models import User, utcnow
from tests.support.ui import app_as, open_page, session_token_for

SSO_LABEL = "Se connecter avec le compte de l'école"


def test_idle_session_expires_back_to_login(demo_sqlite_url, monkeypatch):
    monkeypatch.setenv("PASSERELLE_SESSION_TIMEOUT_MIN", "30")
    at = app_as(demo_sqlite_url, monkeypatch, "officer")
    # The server-side session was last used 31 minutes ago.
    at.session_state["session_token"] = session_token_for(
        demo_sqlite_url, "officer", now=utcnow() - dt.timedelta(minutes=31)
    )
    at.run()
    assert not at.exception
    assert at.title[0].value == "Passerelle"
    assert "Session expirée" in at.info[0].value
    assert "actor" not in at.session_state


def test_recent_session_stays_open(demo_sqlite_url, monkeypatch):
    monkeypatch.setenv("PASSERELLE_SESSION_TIMEOUT_MIN", "30")
    at = app_as(demo_sqlite_url, monkeypatch, "officer")
    at.session_state["session_token"] = session_token_for(
        demo_sqlite_url, "officer", now=utcnow() - dt.timedelta(minutes=29)
    )
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


# --------------------------------------------------------------------------- admin pages


def _writable_demo(demo_sqlite_url, tmp_path) -> str:
    import shutil
    from urllib.parse import urlparse

    dst = tmp_path / "demo.db"
    shutil.copy(urlparse(demo_sqlite_url).path, dst)
    return f"sqlite:///{dst}"


def test_admin_pages_refused_to_other_roles(demo_sqlite_url, monkeypatch):
    for page in ("pages/admin_users.py", "pages/admin_settings.py", "pages/admin_audit.py"):
        for username in ("officer", "trainer", "manager"):
            at = open_page(app_as(demo_sqlite_url, monkeypatch, username), page)
            assert not at.exception
            assert at.error[0].value.startswith("Accès refusé"), (page, username)
            assert len(at.dataframe) == 0 and len(at.title) == 0


def test_admin_creates_disables_and_resets_a_user(demo_sqlite_url, monkeypatch, tmp_path):
    url = _writable_demo(demo_sqlite_url, tmp_path)
    at = open_page(app_as(url, monkeypatch, "admin"), "pages/admin_users.py")
    assert not at.exception and at.title[0].value == "Utilisateurs"
    assert "trainer" in list(at.dataframe[0].value["Identifiant"])
    at.text_input(key="create_user__username").input("lea")
    at.selectbox(key="create_user__role").select("trainer")
    at.multiselect(key="create_user__sites").select("TPM")
    at.text_input(key="create_user__password").input("mot-de-passe-de-lea")
    at.button(key="FormSubmitter:create_user-Créer le compte").click().run()
    assert not at.exception
    assert "Compte « lea » créé." in [s.value for s in at.success]

    at.run()
    assert "lea" in list(at.dataframe[0].value["Identifiant"])
    options = at.selectbox(key="edit_user").options
    at.selectbox(key="edit_user").select_index(
        next(i for i, o in enumerate(options) if o.startswith("lea "))
    )
    at.run()
    at.button(key="toggle_active").click().run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("Identifiant")
    assert table.loc["lea", "Actif"] == "non"
    at.button(key="toggle_active").click().run()  # re-enable
    at.text_input(key="reset_new").input("nouveau-secret-de-lea")
    at.text_input(key="reset_again").input("nouveau-secret-de-lea")
    at.button(key="FormSubmitter:reset_password-Réinitialiser le mot de passe").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Mot de passe réinitialisé")
    at.button(key="toggle_active").click().run()  # and disable again

    from crm.auth import authenticate
    from crm.db import make_engine, make_session_factory
    from crm.errors import AuthenticationError

    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        try:
            authenticate(s, "lea", "nouveau-secret-de-lea")
            raise AssertionError("a disabled account logged in")
        except AuthenticationError as exc:
            assert "désactivé" in str(exc)
        user = s.scalar(select(User).where(User.username == "lea"))
        assert verify_password(user.password_hash, "nouveau-secret-de-lea")
    engine.dispose()


def test_admin_settings_weights_are_labelled_sliders(demo_sqlite_url, monkeypatch, tmp_path):
    url = _writable_demo(demo_sqlite_url, tmp_path)
    at = open_page(app_as(url, monkeypatch, "admin"), "pages/admin_settings.py")
    assert not at.exception and at.title[0].value == "Paramètres"
    assert at.number_input(key="settings__retention_months").value == 24
    assert at.number_input(key="settings__dormant_months").value == 6
    labels = {sl.label: sl.value for sl in at.slider}
    assert labels == {
        "Projet (métier visé)": 40,
        "Trajet": 30,
        "Compétences": 20,
        "Disponibilité": 10,
    }
    # Every weight at zero is refused, in French, and what was set stays.
    for sl in at.slider:
        sl.set_value(0)
    at.number_input(key="settings__retention_months").set_value(36)
    at.button[0].click().run()
    assert not at.exception
    assert at.error[0].value.startswith("Rien n'a été enregistré")
    assert any("au moins un poids" in e.value for e in at.error)
    assert at.number_input(key="settings__retention_months").value == 36
    assert all(sl.value == 0 for sl in at.slider)
    at.slider(key="settings__weight_project").set_value(100)
    at.slider(key="settings__weight_commute").set_value(50)
    at.button[0].click().run()
    assert at.success[0].value == "Paramètres enregistrés."
    at = open_page(app_as(url, monkeypatch, "admin"), "pages/admin_settings.py")
    assert at.number_input(key="settings__retention_months").value == 36
    assert at.slider(key="settings__weight_project").value == 100
    assert at.slider(key="settings__weight_skills").value == 0


def test_admin_audit_page_lists_and_filters(demo_sqlite_url, monkeypatch, tmp_path):
    url = _writable_demo(demo_sqlite_url, tmp_path)
    at = app_as(url, monkeypatch, None).run()
    at.text_input[0].input("admin")
    at.text_input[1].input("passerelle-demo")
    at.button[0].click().run()  # the login itself is audited
    at = open_page(at, "pages/admin_audit.py")
    assert not at.exception and at.title[0].value == "Journal d'audit"
    table = at.dataframe[0].value
    assert "Connexion" in list(table["Action"])  # French labels, not codes
    assert "Méthode : mot de passe" in list(table["Détails"])  # a summary, not JSON
    at.selectbox(key="audit_action").select("login").run()
    assert set(at.dataframe[0].value["Action"]) == {"Connexion"}
    assert "admin" in set(at.dataframe[0].value["Utilisateur"])  # this login, among earlier ones


def _password_form(at, old: str, new: str, again: str) -> None:
    fields = {t.label.split(" (")[0]: t for t in at.text_input}
    fields["Mot de passe actuel"].input(old)
    fields["Nouveau mot de passe"].input(new)
    fields["Confirmer le nouveau mot de passe"].input(again)
    next(b for b in at.button if b.label == "Changer le mot de passe").click().run()


def test_own_password_change_names_the_wrong_field_then_succeeds(demo_copy, monkeypatch):
    at = open_page(app_as(demo_copy, monkeypatch, "trainer"), "pages/account.py")
    assert not at.exception and at.title[0].value == "Mon compte"
    _password_form(at, "pas-le-bon-mot", "un-nouveau-secret-2026", "un-nouveau-secret-2026")
    shown = [m.value for m in at.markdown]
    assert "- **Mot de passe actuel** : incorrect." in shown, shown
    _password_form(at, DEMO_PASSWORD, "court", "court")
    shown = [m.value for m in at.markdown]
    assert any(m.startswith("- **Nouveau mot de passe** : au moins") for m in shown), shown
    _password_form(at, DEMO_PASSWORD, "un-nouveau-secret-2026", "un-nouveau-secret-2026")
    assert not at.exception
    assert at.success[0].value.startswith("Mot de passe changé.")
    engine = create_engine(demo_copy)
    with Session(engine) as s:
        user = s.scalar(select(User).where(User.username == "trainer"))
        assert verify_password(user.password_hash, "un-nouveau-secret-2026")
    engine.dispose()
