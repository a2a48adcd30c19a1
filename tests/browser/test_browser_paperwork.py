"""End to end in headless Chromium: a trainer downloads a placement's convention (a real PDF
carrying the learner's name) from « Conventions et documents »."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crm.db import make_engine, make_session_factory
from crm.models import Learner, Placement, Site, User
from tests.support.browser import chromium_page, login, streamlit_server
from tests.support.paperwork import pdf_text

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"


def _in_progress_placement(url: str, username: str):
    """An in-progress placement of one of the trainer's sites: learner and company names."""
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        user = s.scalar(select(User).where(User.username == username))
        p = s.scalar(
            select(Placement)
            .join(Learner, Learner.id == Placement.learner_id)
            .where(
                Placement.status == "in_progress",
                Learner.site_id.in_([site.id for site in user.sites]),
            )
            .order_by(Placement.id)
        )
        found = (
            f"{p.learner.first_name} {p.learner.last_name}",
            p.company.name,
            s.scalar(select(Site.name).where(Site.id == p.learner.site_id)),
        )
    engine.dispose()
    return found


def test_trainer_downloads_a_convention(demo_copy, tmp_path):
    learner, company, _site = _in_progress_placement(demo_copy, "trainer")
    with (
        streamlit_server(demo_copy) as base,
        chromium_page(tmp_path, accept_downloads=True) as page,
    ):
        login(page, base, "trainer")
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Conventions et documents").click()
        expect(page.get_by_role("heading", name="Conventions et documents").first).to_be_visible()
        page.get_by_test_id("stSelectbox").filter(has_text="Période").click()
        page.keyboard.type(learner)
        page.get_by_role("option").filter(has_text=company).first.click()
        expect(page.get_by_text("convention signée").first).to_be_visible()
        button = page.get_by_role("button", name="Télécharger : Convention de")
        expect(button).to_be_visible()
        with page.expect_download() as info:
            button.click()
        download = info.value
        assert download.suggested_filename.endswith(".pdf")
        data = Path(download.path()).read_bytes()
        assert data.startswith(b"%PDF-")
        text = pdf_text(data)
        assert learner in text and "Convention" in text and "Signé le" in text
        page.screenshot(path=str(tmp_path / "paperwork.png"), full_page=True)
