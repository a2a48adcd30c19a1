"""Each role's daily job in headless Chromium, through the real server (passerelle_app.py).

One server and one browser per module. Checked as a user would: a reload and a second tab
keep the session, logout ends it, a link opens the record, booking asks dates and tutor and
keeps what was typed when refused, a disabled account's open tab is logged out, and no
English string (or "None" cell) shows on any page of the role.
"""

from __future__ import annotations

import re
import shutil
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, login, streamlit_server

pytestmark = pytest.mark.browser

ENGLISH = re.compile(
    r"Choose an option|Drag and drop|Browse files|Limit 200MB|No results|No options"
    r"|\bNone\b|\bnan\b|Press Enter|Select all|Clear all"
)


@pytest.fixture(scope="module")
def db(demo_sqlite_url, tmp_path_factory) -> str:
    dst = tmp_path_factory.mktemp("daily") / "demo.db"
    shutil.copy(urlparse(demo_sqlite_url).path, dst)
    return f"sqlite:///{dst}"


@pytest.fixture(scope="module")
def base(db, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with streamlit_server(db, PASSERELLE_HOME=str(home)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser, tmp_path):
    ctx = browser.new_context(locale="fr-FR", viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(30_000)
    yield ctx
    for i, page in enumerate(ctx.pages):
        page.screenshot(path=str(tmp_path / f"page{i}.png"), full_page=True)
    ctx.close()


def _one(db: str, sql: str, **params):
    engine = create_engine(db)
    with engine.connect() as conn:
        row = conn.execute(text(sql), params).first()
    engine.dispose()
    return row


def main_text(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def assert_french(page, where: str) -> None:
    body = page.locator("body").inner_text()
    found = ENGLISH.findall(body)
    assert not found, f"English on {where}: {found}"


def walk_menu(page) -> list[str]:
    """Open every page of the menu; each must render (a title, no exception) in French."""
    titles = [t.strip() for t in page.get_by_test_id("stSidebarNavLink").all_inner_texts()]
    for title in titles:
        page.get_by_test_id("stSidebarNavLink").filter(
            has_text=re.compile(f"^{re.escape(title)}$")
        ).click()
        expect(page.get_by_test_id("stMain").get_by_role("heading").first).to_be_visible()
        page.wait_for_timeout(1500)  # late widgets (maps, tables)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        assert_french(page, title)
    return titles


def date_of(scope, label: str) -> str:
    """The JJ/MM/AAAA shown by a date field (Streamlit draws day, month, year segments)."""
    parts = [
        scope.get_by_role("spinbutton", name=f"{part}, {label}").inner_text().strip()
        for part in ("day", "month", "year")
    ]
    return "/".join(parts)


def type_date(scope, label: str, value: str) -> None:
    scope.get_by_role("spinbutton", name=f"day, {label}").click()
    scope.page.keyboard.type(value.replace("/", ""))
    scope.page.keyboard.press("Tab")


def logged_in(page, heading: str) -> None:
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


def test_trainer_day(base, db, context):
    page = context.new_page()
    login(page, base, "trainer")
    logged_in(page, "Stagiaires")
    cookie = next(c for c in context.cookies() if c["name"] == "passerelle_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "trainer" not in page.url and "ticket" not in page.url

    # F5 and a second tab keep the session.
    page.reload()
    logged_in(page, "Stagiaires")
    second = context.new_page()
    second.goto(base)
    logged_in(second, "Stagiaires")
    second.close()

    # A link opens the learner's file; another site's learner is refused in French.
    own = _one(
        db,
        "SELECT l.id, l.last_name, l.first_name FROM learners l JOIN sites s ON s.id = l.site_id "
        "WHERE s.name = 'TPM' AND l.status = 'active' ORDER BY l.id LIMIT 1",
    )
    foreign = _one(
        db,
        "SELECT l.id FROM learners l JOIN sites s ON s.id = l.site_id "
        "WHERE s.name != 'TPM' AND l.status = 'active' ORDER BY l.id LIMIT 1",
    )
    page.goto(f"{base}/?stagiaire={own.id}")
    expect(page.get_by_role("combobox", name="Fiche")).to_have_value(
        re.compile(f"^{own.last_name} {own.first_name} — TPM — entrée le ")
    )
    expect(page.get_by_label("Nom", exact=True)).to_have_value(own.last_name)
    page.goto(f"{base}/?stagiaire={foreign.id}")
    expect(page.get_by_text("Accès refusé").first).to_be_visible()
    expect(page.get_by_label("Nom", exact=True)).to_have_value("")  # nothing of theirs shown

    # Suggestions: projects as job labels; "Proposer" asks dates and tutor, then confirms.
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Suggestions").click()
    page.get_by_test_id("stSelectbox").filter(has_text="Stagiaire").click()
    page.keyboard.type(own.last_name)
    page.get_by_role("option").first.click()
    expect(page.get_by_text(re.compile(r"^Projet : .+\([A-N]\d{4}\)"))).to_be_visible()
    page.get_by_role("button", name="Proposer").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("group", name="Début")).to_be_visible()
    expect(dialog.get_by_role("group", name="Fin")).to_be_visible()
    expect(dialog.get_by_text("Tuteur dans l'entreprise")).to_be_visible()
    start = date_of(dialog, "Début")
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", start), start
    assert date_of(dialog, "Fin") != start  # the usual PMSMP length by default
    # Refused: an end before the start. The dialog stays, the dates typed stay.
    type_date(dialog, "Fin", "01/01/2020")
    dialog.get_by_role("button", name="Confirmer la proposition").click()
    expect(dialog.get_by_text("Rien n'a été enregistré")).to_be_visible()
    expect(dialog.get_by_text("la date de fin doit suivre la date de début.")).to_be_visible()
    assert date_of(dialog, "Fin") == "01/01/2020"
    assert date_of(dialog, "Début") == start
    # Fixed: booked.
    type_date(dialog, "Fin", start)
    dialog.get_by_role("button", name="Confirmer la proposition").click()
    expect(page.get_by_text("Période proposée chez")).to_be_visible()
    booked = _one(
        db,
        "SELECT id, start_date, end_date FROM placements WHERE learner_id = :l "
        "AND status = 'proposed' ORDER BY id DESC LIMIT 1",
        l=own.id,
    )
    assert booked is not None and str(booked.start_date) == str(booked.end_date)

    # Suivi des périodes: the link opens the period; a status change keeps it selected.
    page.goto(f"{base}/?periode={booked.id}")
    expect(page.get_by_role("heading", name="Suivi des périodes")).to_be_visible()
    expect(page.get_by_role("button", name="Passer à « Confirmée »")).to_be_visible()
    page.get_by_role("button", name="Passer à « Confirmée »").click()
    expect(page.get_by_text("Période passée à « Confirmée »")).to_be_visible()
    expect(page.get_by_role("combobox", name="Période à suivre")).to_have_value(
        re.compile(own.last_name)
    )
    assert "Confirmée" in main_text(page)

    walk_menu(page)

    # Logout ends the session, even after a reload.
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_label("Identifiant")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Identifiant")).to_be_visible()
    assert_french(page, "Connexion")

    # A link followed while logged out opens its record right after the login.
    page.goto(f"{base}/?periode={booked.id}")
    page.get_by_label("Identifiant").fill("trainer")
    page.get_by_label("Mot de passe").fill("passerelle-demo")
    page.get_by_test_id("stFormSubmitButton").click()
    expect(page.get_by_role("heading", name="Suivi des périodes")).to_be_visible()
    expect(page.get_by_role("combobox", name="Période à suivre")).to_have_value(
        re.compile(own.last_name)
    )


def test_manager_day(base, context):
    page = context.new_page()
    login(page, base, "manager")
    logged_in(page, "Tableau de bord")
    page.reload()
    logged_in(page, "Tableau de bord")
    titles = walk_menu(page)
    assert "Suivi des périodes" not in titles  # not a manager's page


def test_admin_day_and_a_disabled_trainer_is_logged_out(base, browser, context):
    # trainer2 works in another browser...
    other = browser.new_context(locale="fr-FR", viewport={"width": 1400, "height": 1000})
    trainer_page = other.new_page()
    login(trainer_page, base, "trainer2")
    logged_in(trainer_page, "Stagiaires")

    page = context.new_page()
    login(page, base, "admin")
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Utilisateurs").click()
    expect(page.get_by_role("heading", name="Utilisateurs").first).to_be_visible()
    page.get_by_test_id("stSelectbox").filter(has_text="Compte à modifier").click()
    page.keyboard.type("trainer2")
    page.get_by_role("option").first.click()
    page.get_by_role("button", name="Désactiver le compte").click()
    expect(page.get_by_text("Compte désactivé").first).to_be_visible()

    # ... and is logged out at their next click, with a French reason.
    trainer_page.get_by_test_id("stSidebarNavLink").filter(has_text="Suivi des périodes").click()
    expect(trainer_page.get_by_label("Identifiant")).to_be_visible()
    expect(trainer_page.get_by_text("Session expirée ou fermée")).to_be_visible()
    other.close()

    # The audit log reads in French, with a summary instead of JSON.
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Journal d'audit").click()
    expect(page.get_by_role("heading", name="Journal d'audit").first).to_be_visible()
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_contain_text("Compte désactivé")
    expect(grid).to_contain_text("Connexion")
    assert "{" not in grid.inner_text()

    # The matching weights are labelled sliders.
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Paramètres").click()
    expect(page.get_by_test_id("stSlider").first).to_be_visible()
    expect(page.get_by_test_id("stSlider").filter(has_text="Projet")).to_have_count(1)
    walk_menu(page)
