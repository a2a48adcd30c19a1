"""AppTest: no page shows another site's learners to a trainer.

Logged in as the demo trainer of CAVEM, the learner-facing pages (Stagiaires,
Suggestions, Suivi des périodes) are searched for the names of every learner of the
other sites (compared against the database): none may appear in any table, picker,
text or metric. Asking for another site's learner through the session state (the
id the pages share) gets the service's refusal, not the learner.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.db import make_engine, make_session_factory
from crm.labels import PLACEMENT_STATUS_FR
from crm.models import Learner, Site
from tests.support.ui import app_as, open_page

TRAINER = "trainer-cavem"
OWN_SITE = "CAVEM"
PAGES = (
    "pages/learners.py",
    "pages/suggestions.py",
    "pages/placements.py",
    "pages/paperwork.py",
)
REFUSAL = "Accès refusé"


@pytest.fixture(scope="module")
def learner_names(demo_sqlite_url) -> dict[str, set[str]]:
    """Full names ("Prénom Nom" and "Nom Prénom") of own-site and other-site learners."""
    engine = make_engine(demo_sqlite_url)
    with make_session_factory(engine)() as s:
        rows = s.execute(
            select(Learner.first_name, Learner.last_name, Site.name).join(
                Site, Site.id == Learner.site_id
            )
        ).all()
    engine.dispose()
    own, other = set(), set()
    for first, last, site in rows:
        names = {f"{first} {last}", f"{last} {first}"}
        (own if site == OWN_SITE else other).update(names)
    # A homonym on both sides could not tell a leak from a legitimate row.
    return {"own": own, "other": other - own}


def _active_learner(url: str, *, own: bool) -> tuple[int, str]:
    """An active learner of the trainer's site (or of another one): id and "Nom Prénom"."""
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        learner = s.scalar(
            select(Learner)
            .join(Site, Site.id == Learner.site_id)
            .where((Site.name == OWN_SITE) if own else (Site.name != OWN_SITE))
            .where(Learner.status == "active")
            .order_by(Learner.id)
        )
        found = learner.id, f"{learner.last_name} {learner.first_name}"
    engine.dispose()
    return found


def page_text(at) -> str:
    """Everything a user can read on the page: tables, pickers' options, texts, metrics."""
    parts: list[str] = []
    for df in at.dataframe:
        parts.append(df.value.to_csv(index=False))
    for table in at.table:
        parts.append(table.value.to_csv(index=False))
    for widget in [*at.selectbox, *at.multiselect, *at.radio]:
        parts.extend(str(o) for o in widget.options)
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "text",
        "info",
        "warning",
        "error",
        "success",
    ):
        parts.extend(str(e.value) for e in getattr(at, kind))
    for m in at.metric:
        parts.extend([str(m.label), str(m.value)])
    return "\n".join(parts)


def _leaks(text: str, names: set[str]) -> list[str]:
    return sorted(n for n in names if n in text)


def test_demo_has_learners_on_both_sides(learner_names):
    assert learner_names["own"] and learner_names["other"]


@pytest.mark.parametrize("page", PAGES)
def test_trainer_sees_no_learner_of_another_site(demo_sqlite_url, monkeypatch, learner_names, page):
    at = open_page(app_as(demo_sqlite_url, monkeypatch, TRAINER), page)
    assert not at.exception
    if page == "pages/placements.py":  # every status, not only the current ones
        at.multiselect(key="placements_status").set_value(list(PLACEMENT_STATUS_FR)).run()
        assert not at.exception
    text = page_text(at)
    # The page does list this trainer's own learners (the check below is not vacuous)...
    assert _leaks(text, learner_names["own"]), f"{page} shows none of the trainer's learners"
    # ...and none of another site's.
    assert _leaks(text, learner_names["other"]) == [], f"{page} shows other sites' learners"


def test_trainer_sees_no_other_site_learner_on_suggestions_after_choosing(
    demo_sqlite_url, monkeypatch, learner_names
):
    own_id, own_name = _active_learner(demo_sqlite_url, own=True)
    at = open_page(
        app_as(demo_sqlite_url, monkeypatch, TRAINER), "pages/suggestions.py", learner_id=own_id
    )
    assert not at.exception
    assert at.selectbox(key="suggest_learner").value == own_id
    assert own_name in page_text(at)
    assert at.dataframe or at.info  # suggestions (or "none") for the chosen learner
    assert _leaks(page_text(at), learner_names["other"]) == []


@pytest.mark.parametrize("page", ["pages/learners.py", "pages/suggestions.py"])
def test_asking_for_another_sites_learner_is_refused(demo_sqlite_url, monkeypatch, page):
    other_id, other_name = _active_learner(demo_sqlite_url, own=False)
    at = open_page(app_as(demo_sqlite_url, monkeypatch, TRAINER), page, learner_id=other_id)
    assert not at.exception
    assert any(REFUSAL in e.value for e in at.error), f"{page}: no refusal shown"
    assert other_name not in page_text(at)
    assert "learner_id" not in at.session_state or at.session_state["learner_id"] != other_id
