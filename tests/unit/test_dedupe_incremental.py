"""The import's incremental duplicate check finds what the full check finds."""

from __future__ import annotations

import random

import pytest

from benchmarks.dedupe import labelled_set
from crm.dedupe import (
    candidate_pairs,
    duplicates_touching,
    find_duplicates,
    pairs_touching,
    prepare,
    score_pair,
)


@pytest.fixture(scope="module")
def labelled():
    records, _, _ = labelled_set(400, 11)
    return records, prepare(records)


@pytest.mark.parametrize("share", [1.0, 0.3, 0.02])
def test_pairs_touching_are_the_full_pairs_with_a_new_record(labelled, share):
    records, prepared = labelled
    rng = random.Random(5)
    new = [i for i in range(len(records)) if rng.random() < share] or [0]
    wanted = set(new)
    full = {p for p in candidate_pairs(prepared) if p[0] in wanted or p[1] in wanted}
    # A small budget: many chunks, and a pair still comes once.
    chunks = pairs_touching(prepared, new, budget=50)
    got = [(int(a), int(b)) for x, y in chunks for a, b in zip(x, y, strict=True)]
    assert len(got) == len(set(got))
    assert set(got) == full
    assert full  # the sample has pairs to find


@pytest.mark.parametrize("threshold", [0.85, 0.6])
def test_duplicates_touching_scores_like_the_full_check(labelled, threshold):
    records, prepared = labelled
    new = list(range(0, len(records), 3))
    wanted = set(new)
    expected = {
        (p.a, p.b): (p.score, p.evidence)
        for p in find_duplicates(records, threshold)
        if p.a in wanted or p.b in wanted
    }
    got = {
        (i, j): (round(s, 3), ev) for i, j, s, ev in duplicates_touching(prepared, new, threshold)
    }
    assert got == expected
    assert expected


def test_a_new_record_like_an_existing_one_is_reported_and_old_pairs_are_not():
    existing = [
        {"id": 1, "name": "Boulangerie Martin", "postcode": "83000", "city": "Toulon",
         "address": "3 rue Paris", "phone": "0494000001"},
        {"id": 2, "name": "Boulangerie Martin SARL", "postcode": "83000", "city": "Toulon",
         "address": "3 rue de Paris", "phone": "0494000001"},
        {"id": 3, "name": "Garage du Port", "postcode": "83400", "city": "Hyères"},
    ]  # fmt: skip
    new = {"id": 4, "name": "GARAGE DU PORT SAS", "postcode": "83400", "city": "Hyeres"}
    prepared = prepare([*existing, new])
    hits = list(duplicates_touching(prepared, [3], 0.85))
    assert [(i, j) for i, j, _, _ in hits] == [(2, 3)]
    # The pair of two existing companies is a duplicate, but not the import's news.
    assert score_pair(prepared[0], prepared[1])[0] >= 0.85
