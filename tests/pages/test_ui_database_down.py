"""A database that does not answer gives the user a French message, never a stack trace."""

from __future__ import annotations

from crm.auth import Actor
from crm.models import Role
from tests.support.ui import APP, TIMEOUT


def test_page_says_database_unavailable_instead_of_crashing(monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    # Nothing listens on port 1: every connection attempt is refused at once.
    monkeypatch.setenv(
        "PASSERELLE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"
    )
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["actor"] = Actor(1, "officer", Role.OFFICER, frozenset({1}))
    at.session_state["session_token"] = "any"  # the session check itself meets the dead database
    at.run()
    assert not at.exception
    assert any("base de données ne répond pas" in e.value for e in at.error)
    st.cache_resource.clear()
