"""Helpers for Streamlit AppTest and browser tests."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from crm.auth import Actor
from crm.db import make_engine, make_session_factory
from crm.models import User

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 60


def session_token_for(url: str, username: str, now=None) -> str:
    """Open a server-side session (as the login page does) and return its token."""
    from crm.services import sessions

    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        user = s.scalar(select(User).where(User.username == username))
        token, _ticket = sessions.open_session(s, user.id, now=now)
        s.commit()
    engine.dispose()
    return token


def actor_for(url: str, username: str) -> Actor:
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        actor = Actor.from_user(s.scalar(select(User).where(User.username == username)))
    engine.dispose()
    return actor


def app_as(url: str, monkeypatch, username: str | None) -> AppTest:
    """An AppTest on database ``url``, logged in as ``username`` (None: logged out)."""
    monkeypatch.setenv("PASSERELLE_DATABASE_URL", url)
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if username:
        at.session_state["actor"] = actor_for(url, username)
        at.session_state["session_token"] = session_token_for(url, username)
    return at


def open_page(at: AppTest, page: str, **state) -> AppTest:
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page)
    return at.run()
