"""Real-browser support: a Streamlit server on a free port and Debian's headless Chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(database_url: str, script: str = "passerelle_app.py", **env) -> Iterator[str]:
    """The app as ``make run`` serves it (passerelle_app.py: with the session-cookie routes)."""
    port = _free_port()
    environ = {**os.environ, "PASSERELLE_DATABASE_URL": database_url, **env}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / script),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                pytest.fail(f"streamlit server did not start:\n{out}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def chromium_page(tmp_path: Path, accept_downloads: bool = False):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(
            "chromium is missing: run scripts/ensure-chromium.sh (apt-get install chromium chromium-driver)"
        )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            locale="fr-FR",
            viewport={"width": 1400, "height": 1000},
            accept_downloads=accept_downloads,
        )
        context.set_default_timeout(30_000)
        page = context.new_page()
        try:
            yield page
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            raise
        finally:
            context.close()
            browser.close()


def login(page, base: str, username: str, password: str = "passerelle-demo") -> None:
    from playwright.sync_api import expect

    page.goto(base)
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_test_id("stFormSubmitButton").click()
    expect(page.get_by_test_id("stSidebarNavLink").first).to_be_visible()


def map_shot(page, path: Path) -> None:
    """Save the first map of the page (with its caption) once its offline outlines are drawn."""
    from playwright.sync_api import expect

    chart = page.get_by_test_id("stDeckGlJsonChart").first
    expect(chart).to_be_visible()
    chart.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(2500)  # deck.gl draws the outlines after the first frame
    expect(page.get_by_text("Fond hors ligne (contours)").first).to_be_visible()
    box = chart.bounding_box()
    top = max(0, box["y"] - 10)
    page.screenshot(
        path=str(path),
        clip={"x": 0, "y": top, "width": 1400, "height": min(box["height"] + 150, 990 - top)},
    )
