"""An officer's day in headless Chromium (issue 12): search a company, open it by clicking its
row, a refused form keeps what was typed with the error under the field, ?entreprise=ID opens
the company, the list filters survive a visit elsewhere."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crm.db import make_engine, make_session_factory
from crm.models import Company
from tests.support.browser import chromium_page, login, streamlit_server

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PASSERELLE_SHOTS")  # set to a folder to keep the screenshots


def company_id(url: str, name: str) -> int:
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        cid = s.scalar(select(Company.id).where(Company.name == name))
    engine.dispose()
    return cid


def shot(page, tmp_path: Path, name: str) -> None:
    folder = Path(SHOTS) if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNavLink").filter(has_text=title).click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=30_000)


def click_first_row(page) -> None:
    """One click on the first data row of the (canvas) table."""
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible()
    page.wait_for_timeout(500)  # the canvas takes its rows after the element shows
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the row marker of row 1


def test_officer_daily_job(demo_copy, tmp_path):
    name = "Marine Levage"
    cid = company_id(demo_copy, name)
    with streamlit_server(demo_copy) as base, chromium_page(tmp_path) as page:
        login(page, base, "officer")
        expect(page.get_by_role("heading", name="Entreprises").first).to_be_visible(timeout=60_000)
        # The new-company form is at the top, before the search.
        new = page.get_by_text("Nouvelle entreprise").first
        search = page.get_by_label("Rechercher (nom, SIRET, ville)")
        assert new.bounding_box()["y"] < search.bounding_box()["y"]
        search.fill("marine levage")
        search.press("Enter")
        expect(page.get_by_text("1 entreprise(s)", exact=True)).to_be_visible()
        shot(page, tmp_path, "officer-companies")

        # One click on the row opens the company file, with a copyable ?entreprise=ID URL.
        click_first_row(page)
        expect(page.get_by_role("heading", name=name).first).to_be_visible(timeout=30_000)
        expect(page).to_have_url(re.compile(rf"entreprise={cid}\b"))
        shot(page, tmp_path, "officer-company")

        # A refused form keeps what was typed, the French error under the field.
        page.get_by_text("Contacts : ajouter / modifier").click()
        form = page.get_by_test_id("stForm").filter(has_text="Ajouter le contact")
        form.get_by_label("Nom *").fill("Durand")
        form.get_by_label("Fonction").fill("Chef d'atelier")
        form.get_by_label("Courriel").fill("pas-un-courriel")
        form.get_by_test_id("stFormSubmitButton").click()
        form = page.get_by_test_id("stForm").filter(has_text="Ajouter le contact")
        error = form.get_by_test_id("stAlertContentError").filter(
            has_text="Adresse e-mail invalide"
        )
        expect(error.first).to_be_visible()
        expect(form.get_by_label("Nom *")).to_have_value("Durand")
        expect(form.get_by_label("Fonction")).to_have_value("Chef d'atelier")
        expect(form.get_by_label("Courriel")).to_have_value("pas-un-courriel")
        email_box = form.get_by_label("Courriel").bounding_box()
        assert error.first.bounding_box()["y"] > email_box["y"]  # under the field
        shot(page, tmp_path, "officer-refused-contact")

        # Filters survive a visit to another page.
        nav(page, "Capacité d'accueil")
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
        shot(page, tmp_path, "officer-capacity")
        nav(page, "Entreprises")
        expect(page.get_by_label("Rechercher (nom, SIRET, ville)")).to_have_value("marine levage")
        expect(page.get_by_text("1 entreprise(s)", exact=True)).to_be_visible()

        nav(page, "Mes relances")
        expect(page.get_by_text("Fiche :").first).to_be_visible()
        shot(page, tmp_path, "officer-followups")
        nav(page, "Journal de contacts")
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
        shot(page, tmp_path, "officer-journal")
        click_first_row(page)  # one click opens the company of that contact
        expect(page.get_by_text("Contacts et tuteurs")).to_be_visible(timeout=30_000)
        assert "entreprise=" in page.url

        # The copied link opens the company (in a fresh tab: the session cookie logs it in).
        other = page.context.new_page()
        other.goto(f"{base}/?entreprise={cid}")
        expect(other.get_by_role("heading", name=name).first).to_be_visible()
        other.goto(f"{base}/?entreprise=999999")
        expect(other.get_by_text("introuvable").first).to_be_visible()
        other.close()
