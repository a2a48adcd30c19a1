"""`passerelle match` and `passerelle allocate` on the demo data, both databases."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from crm.db import make_engine, make_session_factory
from crm.models import Learner, Offer
from tests.factories import DEMO_TODAY
from tests.support.cli import run_cli

TODAY = DEMO_TODAY.isoformat()


def test_match_csv_json_table(demo_url):
    r = run_cli(
        demo_url,
        "match",
        "DEMO-L0002",
        "DEMO-L0015",
        "--top",
        "3",
        "--format",
        "csv",
        "--today",
        TODAY,
    )
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    for col in (
        "learner_ref",
        "rank",
        "offer_ref",
        "company_ref",
        "score",
        "project_score",
        "skills_score",
        "commute_min",
        "distance_km",
    ):
        assert col in rows[0]
    assert {row["learner_ref"] for row in rows} == {"DEMO-L0002", "DEMO-L0015"}
    mine = [row for row in rows if row["learner_ref"] == "DEMO-L0002"]
    assert [int(row["rank"]) for row in mine] == [1, 2, 3]
    scores = [float(row["score"]) for row in mine]
    assert scores == sorted(scores, reverse=True)
    # Every suggested offer fits the learner's hard constraints (checked against the DB).
    engine = make_engine(demo_url)
    with make_session_factory(engine)() as s:
        learner = s.scalar(select(Learner).where(Learner.ref == "DEMO-L0002"))
        for row in mine:
            offer = s.scalar(select(Offer).where(Offer.ref == row["offer_ref"]))
            assert float(row["commute_min"]) <= learner.max_commute_min
            assert offer.start_date <= learner.available_to
            assert offer.end_date >= learner.available_from
    engine.dispose()
    # No names in the output, references only.
    assert learner.last_name not in r.stdout

    r = run_cli(demo_url, "match", "DEMO-L0002", "--top", "2", "--format", "json", "--today", TODAY)
    data = json.loads(r.stdout)
    assert len(data) == 2 and data[0]["explanation"].startswith("Même métier")
    r = run_cli(demo_url, "match", "DEMO-L0002", "--top", "2", "--today", TODAY)
    assert "== DEMO-L0002" in r.stdout and "min" in r.stdout
    r = run_cli(demo_url, "match", "NOPE", "--today", TODAY)
    assert r.returncode == 2 and "introuvable" in r.stderr


def test_allocate_prints_optimal_vs_greedy(demo_url):
    r = run_cli(demo_url, "allocate", "--site", "TPM", "--today", TODAY, "--show")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    opt = next(line for line in lines if line.startswith("optimal")).split()
    greedy = next(line for line in lines if line.startswith("greedy")).split()
    assert float(opt[1]) >= float(greedy[1])
    assert int(opt[2]) > 0
    assert "->" in r.stdout
    r = run_cli(demo_url, "allocate", "--site", "Nowhere", "--today", TODAY)
    assert r.returncode == 2 and "introuvable" in r.stderr


def test_match_all_ranks_like_the_suggestions_page(demo_url):
    """`match --all` (one index check and one exclusion query for the cohort) gives every
    learner exactly the offers, order and scores that the page's suggestions_for gives."""
    from crm.auth import SYSTEM
    from crm.models import LearnerStatus
    from crm.services.matching import suggestions_for

    r = run_cli(demo_url, "match", "--all", "--top", "4", "--format", "json", "--today", TODAY)
    assert r.returncode == 0, r.stderr
    got: dict[str, list[tuple[str, float]]] = {}
    for row in json.loads(r.stdout):
        got.setdefault(row["learner_ref"], [])
        if row.get("rank") is not None:
            got[row["learner_ref"]].append((row["offer_ref"], round(row["score"], 4)))
    engine = make_engine(demo_url)
    with make_session_factory(engine)() as s:
        learners = s.scalars(
            select(Learner).where(Learner.status == LearnerStatus.ACTIVE.value)
        ).all()
        assert set(got) == {lr.ref for lr in learners}
        with_offers = 0
        for lr in learners:
            _, expected = suggestions_for(s, SYSTEM, lr.id, top=4, today=DEMO_TODAY)
            want = [(sg.offer_ref, round(sg.score, 4)) for sg in expected]
            assert got[lr.ref] == want, lr.ref
            with_offers += bool(want)
    engine.dispose()
    assert with_offers > 10  # the comparison is not vacuous
