"""Regenerate the screenshots of every page for each role under docs/img/ (``make screenshots``).

Builds a fresh demo database in a temporary directory, starts the real server
(passerelle_app.py) on a free port, logs in with each demo account in headless Chromium
and saves one full-page PNG per menu entry: ``docs/img/<role>-<page>.png``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROLES = ("officer", "trainer", "manager", "admin")


def slug(title: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def build_demo(path: Path) -> str:
    import datetime as dt

    from crm.db import make_engine, make_session_factory, upgrade
    from crm.demo import load_demo

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine).begin() as session:
        load_demo(session, today=dt.date.today())
    engine.dispose()
    return url


def _learner_suggestions(page, base) -> bool:
    """Suggestions for the first learner of the picker (what a trainer sees every day)."""
    from playwright.sync_api import expect

    page.get_by_test_id("stSidebarNavLink").filter(has_text="Suggestions").click()
    page.get_by_test_id("stSelectbox").filter(has_text="Stagiaire").click()
    page.get_by_role("option").nth(2).click()
    expect(page.get_by_role("button", name="Proposer").first).to_be_visible()
    return True


def _booking_dialog(page, base) -> bool:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Proposer").first.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    return True


def _period(page, base) -> bool:
    from playwright.sync_api import expect

    page.keyboard.press("Escape")
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Suivi des périodes").click()
    page.get_by_test_id("stSelectbox").filter(has_text="Période à suivre").click()
    page.get_by_role("option").first.click()
    expect(page.get_by_role("link", name="Fiche du stagiaire")).to_be_visible()
    return True


def _company_file(page, base) -> bool:
    """The file of a company chosen in the picker (identity, contacts, capacity, timeline)."""
    from playwright.sync_api import expect

    page.get_by_test_id("stSidebarNavLink").filter(has_text="Fiche entreprise").click()
    page.get_by_test_id("stSelectbox").filter(has_text="Entreprise").click()
    page.get_by_role("option").first.click()
    expect(page.get_by_role("heading", name="Identité")).to_be_visible()
    return True


# Pages shown on a record, after the menu walk: (file name suffix, action).
EXTRA = {
    "officer": [("fiche-entreprise-ouverte", _company_file)],
    "trainer": [
        ("suggestions-stagiaire", _learner_suggestions),
        ("proposer", _booking_dialog),
        ("suivi-periode", _period),
    ],
}


def _dashboard_map(page, base) -> None:
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Tableau de bord").click()
    page.get_by_role("tab", name="Carte").click()


def _company_map(page, base) -> None:
    page.goto(f"{base}/?entreprise=1")


def _suggestions_map(page, base) -> None:
    page.keyboard.press("Escape")
    _learner_suggestions(page, base)


# The maps shown in docs/GEOGRAPHY.md: role → (image name, how to reach the map).
MAPS = {
    "manager": [("map_dashboard.png", _dashboard_map)],
    "officer": [("map_company.png", _company_map)],
    "trainer": [("map_suggestions.png", _suggestions_map)],
}


def shoot(base: str, out: Path, roles: tuple[str, ...]) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, login, map_shot

    expect.set_options(timeout=30_000)
    written: list[Path] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for role in roles:
            context = browser.new_context(locale="fr-FR", viewport={"width": 1400, "height": 900})
            page = context.new_page()
            if role == roles[0]:
                page.goto(base)
                expect(page.get_by_label("Identifiant")).to_be_visible()
                page.wait_for_timeout(500)
                page.screenshot(path=str(out / "login.png"))
                written.append(out / "login.png")
            login(page, base, role)
            links = page.get_by_test_id("stSidebarNavLink")
            titles = [t.strip() for t in links.all_inner_texts()]
            for title in titles:
                links.filter(has_text=re.compile(f"^{re.escape(title)}$")).click()
                expect(page.get_by_test_id("stMain").get_by_role("heading").first).to_be_visible()
                page.wait_for_timeout(2500)  # maps and tables finish drawing
                target = out / f"{role}-{slug(title)}.png"
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
                print(target)
            for name, action in EXTRA.get(role, []):
                if action(page, base):
                    target = out / f"{role}-{name}.png"
                    page.wait_for_timeout(2500)
                    page.screenshot(path=str(target), full_page=True)
                    written.append(target)
                    print(target)
            for name, reach in MAPS.get(role, []):
                reach(page, base)
                map_shot(page, out / name)
                written.append(out / name)
                print(out / name)
            context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--role", action="append", choices=ROLES, help="only these roles")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from tests.support.browser import streamlit_server

    with tempfile.TemporaryDirectory() as tmp:
        url = build_demo(Path(tmp) / "demo.db")
        with streamlit_server(url, PASSERELLE_HOME=tmp) as base:
            shoot(base, args.out, tuple(args.role or ROLES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
