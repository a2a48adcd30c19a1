"""The passerelle command line, run as a user would (a real subprocess)."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.auth import verify_password
from crm.db import make_engine, make_session_factory
from crm.models import Company, User
from tests.support.cli import run_cli


def test_db_upgrade_demo_and_users_add(db_url):
    r = run_cli(db_url, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    assert "revision" in r.stdout
    r = run_cli(db_url, "demo", "--today", "2026-11-23")
    assert r.returncode == 0, r.stderr
    assert "companies=" in r.stdout
    r = run_cli(db_url, "demo", "--today", "2026-11-23")
    assert "nothing added" in r.stdout

    r = run_cli(
        db_url,
        "users",
        "add",
        "--username",
        "nora",
        "--role",
        "trainer",
        "--site",
        "CAVEM",
        "--password-stdin",
        stdin="un mot de passe sûr\n",
    )
    assert r.returncode == 0, r.stderr
    assert "un mot de passe" not in r.stdout + r.stderr
    engine = make_engine(db_url)
    with make_session_factory(engine)() as s:
        user = s.scalar(select(User).where(User.username == "nora"))
        assert user.role == "trainer" and [x.name for x in user.sites] == ["CAVEM"]
        assert verify_password(user.password_hash, "un mot de passe sûr")
        assert s.scalar(select(func.count()).select_from(Company)) >= 120
    engine.dispose()


def test_users_add_refuses_bad_input_clearly(db_url):
    run_cli(db_url, "demo", "--today", "2026-11-23")
    r = run_cli(
        db_url,
        "users",
        "add",
        "--username",
        "x",
        "--role",
        "trainer",
        "--site",
        "Nulle-part",
        "--password-stdin",
        stdin="assez long pour passer\n",
    )
    assert r.returncode == 2
    assert "site inconnu" in r.stderr
    r = run_cli(
        db_url,
        "users",
        "add",
        "--username",
        "y",
        "--role",
        "officer",
        "--site",
        "TPM",
        "--password-stdin",
        stdin="court\n",
    )
    assert r.returncode == 2 and "12 caractères" in r.stderr
    r = run_cli(
        db_url,
        "users",
        "add",
        "--username",
        "officer",
        "--role",
        "officer",
        "--site",
        "TPM",
        "--password-stdin",
        stdin="assez long pour passer\n",
    )
    assert r.returncode == 2 and "existe déjà" in r.stderr
