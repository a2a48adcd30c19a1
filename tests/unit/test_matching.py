"""The matcher (pure): labelled scenario, each hard filter, each score, allocation."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from matching import (
    LearnerProfile,
    OfferIndex,
    OfferRecord,
    Weights,
    allocate,
    greedy_allocation,
    optimal_allocation,
    reliability_of,
    suggest,
)
from matching.commute import haversine_km

TODAY = dt.date(2026, 11, 23)
KM_LAT = 1 / 111.2  # degrees of latitude per km


def offset(lat: float, lon: float, north_km: float, east_km: float = 0.0) -> tuple[float, float]:
    return lat + north_km * KM_LAT, lon + east_km / (111.2 * np.cos(np.radians(lat)))


_ids = itertools.count(1)


def offer(lat, lon, code, **kw) -> OfferRecord:
    i = next(_ids)
    base = dict(
        id=i,
        ref=f"O{i}",
        company_id=kw.pop("company_id", 1000 + i),
        company_ref=f"C{i}",
        latitude=lat,
        longitude=lon,
        rome_codes=(code,),
        title=kw.pop("title", code),
        skills=kw.pop("skills", ()),
        start_date=kw.pop("start_date", TODAY + dt.timedelta(days=14)),
        end_date=kw.pop("end_date", TODAY + dt.timedelta(days=74)),
    )
    base.update(kw)
    return OfferRecord(**base)


def learner(lat, lon, codes, **kw) -> LearnerProfile:
    base = dict(
        id=next(_ids),
        latitude=lat,
        longitude=lon,
        project_codes=tuple(codes),
        modes=("transit", "walk"),
        max_commute_min=45,
        available_from=TODAY + dt.timedelta(days=7),
        available_to=TODAY + dt.timedelta(days=60),
        birth_date=dt.date(2005, 1, 1),  # adult
    )
    base.update(kw)
    return LearnerProfile(**base)


# --------------------------------------------------------------------------- labelled scenario

CITIES = {
    "Toulon": (43.1242, 5.9280),
    "Hyères": (43.1204, 6.1286),
    "Fréjus": (43.4330, 6.7370),
    "Marseille": (43.2965, 5.3698),
}
# (city, project codes, sibling code, unrelated code, minor?)
SCENARIO = [
    ("Toulon", ["D1106"], "D1107", "F1606", True),
    ("Hyères", ["G1602", "G1605"], "G1603", "K1304", False),
    ("Fréjus", ["F1606"], "F1602", "D1106", True),
    ("Marseille", ["K1304"], "K1303", "G1602", False),
]


def build_scenario():
    """Per learner: the right offer and labelled decoys; offers of all learners in one index."""
    offers: list[OfferRecord] = []
    cases = []
    for city, codes, sibling, unrelated, minor in SCENARIO:
        lat, lon = CITIES[city]
        birth = dt.date(2010, 6, 1) if minor else dt.date(2003, 6, 1)
        incident_company = next(_ids) + 50_000
        lp = learner(
            *offset(lat, lon, 0.3),
            codes,
            birth_date=birth,
            skills=("Hygiène HACCP", "ponctualité"),
            excluded_company_ids=frozenset({incident_company}),
        )
        skills = ("Hygiène (HACCP)", "Ponctualité", "Port de charges")
        right = offer(*offset(lat, lon, 2.0), codes[0], skills=skills)
        labelled = {
            "far": offer(*offset(lat, lon, 90.0), codes[0], skills=skills),
            "out_of_window": offer(
                *offset(lat, lon, 1.5),
                codes[0],
                skills=skills,
                start_date=TODAY + dt.timedelta(days=120),
                end_date=TODAY + dt.timedelta(days=180),
            ),
            "over": offer(
                *offset(lat, lon, 1.5),
                codes[0],
                start_date=TODAY - dt.timedelta(days=90),
                end_date=TODAY - dt.timedelta(days=1),
            ),
            "no_seat": offer(*offset(lat, lon, 1.0), codes[0], skills=skills, free_seats=0),
            "paused": offer(*offset(lat, lon, 1.0), codes[0], skills=skills, active=False),
            "incident": offer(
                *offset(lat, lon, 1.0), codes[0], skills=skills, company_id=incident_company
            ),
        }
        if minor:
            labelled["closed_to_minors"] = offer(
                *offset(lat, lon, 1.0), codes[0], skills=skills, open_to_minors=False
            )
        allowed = {
            "sibling": offer(*offset(lat, lon, 0.5), sibling, skills=skills),
            "unrelated": offer(*offset(lat, lon, 0.35), unrelated, skills=skills),
        }
        offers += [right, *labelled.values(), *allowed.values()]
        cases.append((lp, right, labelled, allowed))
    return offers, cases


def test_labelled_scenario_right_offer_first_and_filtered_never_shown():
    offers, cases = build_scenario()
    index = OfferIndex.build(offers)
    for lp, right, labelled, allowed in cases:
        got = suggest(index, lp, top=50, today=TODAY)
        ids = [s.offer_id for s in got]
        assert ids[0] == right.id, got[0].explanation
        for name, o in labelled.items():
            assert o.id not in ids, f"filtered offer shown: {name}"
        # The sibling job ranks above the unrelated job next door.
        assert ids.index(allowed["sibling"].id) < ids.index(allowed["unrelated"].id)
        first = got[0]
        assert first.project_match == "exact"
        assert first.explanation.startswith(f"Même métier ({lp.project_codes[0]})")
        assert "2/3 compétences" in first.explanation
        assert "min " in first.explanation


# --------------------------------------------------------------------------- filters one by one

HOME = CITIES["Toulon"]


def _ids_for(lp, offers, **kw):
    return [s.offer_id for s in suggest(OfferIndex.build(offers), lp, top=100, today=TODAY, **kw)]


def test_commute_filter_uses_fastest_allowed_mode():
    o = offer(*offset(*HOME, 6.0), "D1106")  # 6 km
    walker = learner(*HOME, ["D1106"], modes=("walk",), max_commute_min=45)
    assert _ids_for(walker, [o]) == []  # 6 km on foot is > 1.5 h
    transit = dataclasses.replace(walker, modes=("walk", "transit"))
    got = suggest(OfferIndex.build([o]), transit, today=TODAY)
    assert [s.offer_id for s in got] == [o.id] and got[0].mode == "transit"
    assert got[0].commute_min <= 45
    assert _ids_for(dataclasses.replace(transit, max_commute_min=30), [o]) == []


def test_period_filter_needs_overlap_with_availability():
    lp = learner(*HOME, ["D1106"])
    inside = offer(*HOME, "D1106")
    before = offer(
        *HOME, "D1106", start_date=TODAY - dt.timedelta(30), end_date=TODAY + dt.timedelta(3)
    )
    after = offer(
        *HOME, "D1106", start_date=TODAY + dt.timedelta(61), end_date=TODAY + dt.timedelta(90)
    )
    edge = offer(
        *HOME, "D1106", start_date=TODAY + dt.timedelta(60), end_date=TODAY + dt.timedelta(90)
    )
    assert sorted(_ids_for(lp, [inside, before, after, edge])) == sorted([inside.id, edge.id])


def test_minor_filter_uses_age_at_start():
    # Turns 18 on TODAY + 30 days.
    birth = dt.date(TODAY.year - 18, TODAY.month, TODAY.day) + dt.timedelta(days=30)
    lp = learner(*HOME, ["D1106"], birth_date=birth, available_from=TODAY)
    early = offer(*HOME, "D1106", open_to_minors=False, start_date=TODAY + dt.timedelta(5))
    late = offer(*HOME, "D1106", open_to_minors=False, start_date=TODAY + dt.timedelta(40))
    assert _ids_for(lp, [early, late]) == [late.id]
    unknown = dataclasses.replace(lp, birth_date=None)
    assert _ids_for(unknown, [early, late]) == []


def test_seat_status_and_incident_filters():
    lp = learner(*HOME, ["D1106"], excluded_company_ids=frozenset({77}))
    ok = offer(*HOME, "D1106")
    full = offer(*HOME, "D1106", free_seats=0)
    paused = offer(*HOME, "D1106", active=False)
    left = offer(*HOME, "D1106", company_id=77)
    no_coords = offer(None, None, "D1106")
    index = OfferIndex.build([ok, full, paused, left, no_coords])
    assert index.dropped == 3
    assert [s.offer_id for s in suggest(index, lp, today=TODAY)] == [ok.id]


# --------------------------------------------------------------------------- scores


def test_project_score_levels_and_rank_weights():
    w = Weights()
    lp = learner(*HOME, ["G1602", "D1106"])
    exact = offer(*HOME, "G1602")
    group = offer(*HOME, "G1603")
    domain = offer(*HOME, "G1101")
    second = offer(*HOME, "D1106")
    none = offer(*HOME, "F1606")
    got = {
        s.offer_id: s
        for s in suggest(
            OfferIndex.build([exact, group, domain, second, none]), lp, top=10, today=TODAY
        )
    }
    assert got[exact.id].project_score == pytest.approx(1.0)
    assert got[group.id].project_score == pytest.approx(w.same_group)
    assert got[domain.id].project_score == pytest.approx(w.same_domain)
    assert got[second.id].project_score == pytest.approx(w.project_rank[1])
    assert got[none.id].project_score == 0.0
    assert "2e projet" in got[second.id].explanation
    assert got[group.id].explanation.startswith("Métier voisin (G16)")
    for s in got.values():
        for v in s.breakdown.values():
            assert 0.0 <= v <= 1.0
        assert 0.0 <= s.score <= 1.0


def test_project_text_by_tfidf_when_codes_missing():
    lp = learner(*HOME, [], project_text="Je voudrais travailler en cuisine dans un restaurant")
    cook = offer(
        *HOME,
        "G1602",
        title="Commis de cuisine",
        description="Restaurant traditionnel, cuisine du marché",
    )
    shop = offer(*HOME, "D1106", title="Vendeur en épicerie", description="Magasin de proximité")
    got = suggest(OfferIndex.build([cook, shop]), lp, today=TODAY)
    assert got[0].offer_id == cook.id
    assert got[0].project_match == "text" and got[0].project_score > 0.1
    assert got[1].project_score == 0.0


def test_skills_fuzzy_labels():
    lp = learner(*HOME, ["D1106"], skills=("hygiène HACCP", "Travail en equipe"))
    o = offer(*HOME, "D1106", skills=("Hygiène (HACCP)", "Travail en équipe", "Caisse"))
    s = suggest(OfferIndex.build([o]), lp, today=TODAY)[0]
    assert (s.skills_matched, s.skills_wanted) == (2, 3)
    assert s.skills_score == pytest.approx(2 / 3)
    none_wanted = offer(*HOME, "D1106")
    assert suggest(OfferIndex.build([none_wanted]), lp, today=TODAY)[0].skills_score == 1.0


def test_commute_score_decreases_to_zero_at_max():
    lp = learner(*HOME, ["D1106"], modes=("car",), max_commute_min=40)
    offers = [offer(*offset(*HOME, km), "D1106") for km in (1, 5, 10, 15)]
    got = suggest(OfferIndex.build(offers), lp, top=10, today=TODAY)
    by_dist = sorted(got, key=lambda s: s.distance_km)
    scores = [s.commute_score for s in by_dist]
    assert scores == sorted(scores, reverse=True)
    for s in got:
        assert s.commute_score == pytest.approx(1 - s.commute_min / 40)
        d = haversine_km(HOME[0], HOME[1], s.latitude, s.longitude)
        assert s.distance_km == pytest.approx(float(d))


def test_reliability_and_fairness_break_otherwise_equal_offers():
    lp = learner(*HOME, ["D1106"])
    good = offer(*HOME, "D1106", completed_placements=8, mean_tutor_rating=4.6, ratings_count=8)
    new = offer(*HOME, "D1106")
    busy = offer(*HOME, "D1106", monthly_solicitations=20)
    assert reliability_of(good) > reliability_of(new) == 0.5
    assert reliability_of(offer(*HOME, "D1106", failed_placements=5)) < 0.5
    got = suggest(OfferIndex.build([busy, new, good]), lp, today=TODAY)
    assert [s.offer_id for s in got] == [good.id, new.id, busy.id]
    assert "partenaire fiable" in got[0].explanation
    assert "sollicitée" in got[2].explanation


def test_weights_are_configurable():
    lp = learner(*HOME, ["D1106"])
    near_other = offer(*HOME, "F1606")
    far_same = offer(*offset(*HOME, 5.0), "D1106")
    index = OfferIndex.build([near_other, far_same])
    assert suggest(index, lp, today=TODAY)[0].offer_id == far_same.id
    commute_only = Weights(project=0, skills=0, commute=1, reliability=0, fairness=0)
    assert suggest(index, lp, today=TODAY, weights=commute_only)[0].offer_id == near_other.id


def test_deterministic_ties_by_distance_then_id():
    lp = learner(*HOME, ["D1106"], modes=("walk",), max_commute_min=60)
    a = offer(*offset(*HOME, 0.0, 0.5), "D1106")
    b = offer(*offset(*HOME, 0.0, -0.5), "D1106")  # same distance, other side
    index = OfferIndex.build([b, a])
    first = [s.offer_id for s in suggest(index, lp, today=TODAY)]
    assert first == sorted([a.id, b.id])
    assert [s.offer_id for s in suggest(OfferIndex.build([a, b]), lp, today=TODAY)] == first
    assert [s.rank for s in suggest(index, lp, today=TODAY)] == [1, 2]


def test_no_coordinates_or_no_mode_gives_nothing():
    o = offer(*HOME, "D1106")
    index = OfferIndex.build([o])
    assert suggest(index, learner(None, None, ["D1106"]), today=TODAY) == []
    assert suggest(index, learner(*HOME, ["D1106"], modes=("teleport",)), today=TODAY) == []
    assert suggest(OfferIndex.build([]), learner(*HOME, ["D1106"]), today=TODAY) == []


# --------------------------------------------------------------------------- allocation


def _random_problem(seed: int, n_learners=30, n_offers=12):
    rng = np.random.default_rng(seed)
    seats = {o: int(rng.integers(1, 3)) for o in range(n_offers)}
    cands = {}
    for lid in range(100, 100 + n_learners):
        k = int(rng.integers(0, min(5, n_offers + 1)))
        offers_ = rng.choice(n_offers, size=k, replace=False)
        cands[lid] = [(int(o), float(round(rng.random(), 3))) for o in offers_]
    return cands, seats


@pytest.mark.parametrize("seed", range(8))
def test_allocation_respects_seats_and_beats_greedy(seed):
    cands, seats = _random_problem(seed)
    report = allocate(cands, seats, order=sorted(cands))
    for alloc in (report.optimal, report.greedy):
        for o, n in alloc.seats_used().items():
            assert n <= seats[o]
        for lid, o in alloc.assignment.items():
            assert o in {c for c, _ in cands[lid]}
    assert report.optimal.total_score >= report.greedy.total_score - 1e-9


def test_optimal_allocation_is_exact_on_a_small_case():
    # Greedy (first come) gives A the shared seat; the optimum sends A elsewhere.
    cands = {1: [(10, 0.9), (11, 0.8)], 2: [(10, 0.85)]}
    seats = {10: 1, 11: 1}
    greedy = greedy_allocation(cands, seats, order=[1, 2])
    assert greedy.assignment == {1: 10} and greedy.total_score == pytest.approx(0.9)
    best = optimal_allocation(cands, seats)
    assert best.assignment == {1: 11, 2: 10}
    assert best.total_score == pytest.approx(1.65)
    assert best.placed == 2 and greedy.placed == 1
    assert greedy.worst == (2, 0.0)


def _brute_force_total(cands, seats) -> float:
    """Best total score over every way of giving each learner one candidate or nothing."""
    learners = sorted(cands)
    choices = [[None] + [o for o, _ in cands[lid]] for lid in learners]
    brute = 0.0
    for combo in itertools.product(*choices):
        used: dict[int, int] = {}
        for o in combo:
            if o is not None:
                used[o] = used.get(o, 0) + 1
        if any(n > seats.get(o, 0) for o, n in used.items()):
            continue
        total = sum(
            dict(cands[lid])[o] for lid, o in zip(learners, combo, strict=True) if o is not None
        )
        brute = max(brute, total)
    return brute


def _dense_total(cands, seats) -> float:
    """The textbook formulation: one dense learners x (every seat + every learner's own
    "unplaced" column) matrix solved by scipy's linear_sum_assignment."""
    learners = sorted(cands)
    slots = [o for o in sorted(seats) for _ in range(seats[o])]
    gain = np.full((len(learners), len(slots) + len(learners)), -1e6)
    gain[np.arange(len(learners)), len(slots) + np.arange(len(learners))] = 0.0
    for r, lid in enumerate(learners):
        for offer_id, score in cands[lid]:
            for c, o in enumerate(slots):
                if o == offer_id:
                    gain[r, c] = max(gain[r, c], score)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    return float(gain[rows, cols].sum())


def _check_feasible(alloc, cands, seats) -> None:
    for o, n in alloc.seats_used().items():
        assert n <= seats.get(o, 0)
    for lid, o in alloc.assignment.items():
        assert o in {c for c, _ in cands[lid]}
        assert alloc.scores[lid] == pytest.approx(max(s for c, s in cands[lid] if c == o))
    assert set(alloc.scores) == set(cands)
    assert alloc.total_score == pytest.approx(sum(alloc.scores.values()))


@pytest.mark.parametrize("seed", range(6))
def test_allocation_brute_force_agrees(seed):
    cands, seats = _random_problem(seed, n_learners=6, n_offers=3)
    best = optimal_allocation(cands, seats)
    _check_feasible(best, cands, seats)
    assert best.total_score == pytest.approx(_brute_force_total(cands, seats))


@pytest.mark.parametrize("seed", range(12))
def test_sparse_allocation_equals_the_dense_optimum(seed):
    rng = np.random.default_rng(1000 + seed)
    n_learners, n_offers = int(rng.integers(5, 60)), int(rng.integers(1, 25))
    cands, seats = _random_problem(seed, n_learners=n_learners, n_offers=n_offers)
    best = optimal_allocation(cands, seats)
    _check_feasible(best, cands, seats)
    assert best.total_score == pytest.approx(_dense_total(cands, seats))


def test_allocation_leaves_learners_unplaced_when_seats_run_out():
    # Three learners want the one seat of offer 10; one also likes offer 11 (2 seats).
    cands = {1: [(10, 0.5)], 2: [(10, 0.9)], 3: [(10, 0.7), (11, 0.2)], 4: []}
    seats = {10: 1, 11: 2}
    best = optimal_allocation(cands, seats)
    assert best.assignment == {2: 10, 3: 11}
    assert best.scores == {1: 0.0, 2: 0.9, 3: 0.2, 4: 0.0}
    assert best.placed == 2 and best.worst == (1, 0.0)


def test_allocation_ignores_full_or_unknown_offers_and_duplicate_candidates():
    # Offer 12 has no free seat and 13 is not in the seat table: nobody goes there.
    # A candidate listed twice counts with its best score.
    cands = {1: [(12, 1.0), (10, 0.3), (10, 0.6)], 2: [(13, 1.0), (10, 0.4)]}
    seats = {10: 1, 12: 0}
    best = optimal_allocation(cands, seats)
    assert best.assignment == {1: 10}
    assert best.total_score == pytest.approx(0.6)
    assert optimal_allocation({}, seats).assignment == {}


def test_per_company_cap_keeps_best_offer_of_each_company():
    lp = learner(*HOME, ["D1106"])
    a1 = offer(*HOME, "D1106", company_id=1)
    a2 = offer(*HOME, "D1106", company_id=1)
    b = offer(*offset(*HOME, 1.0), "D1107", company_id=2)
    index = OfferIndex.build([a1, a2, b])
    assert len(suggest(index, lp, today=TODAY)) == 3
    capped = suggest(index, lp, today=TODAY, per_company=1)
    assert [s.offer_id for s in capped] == [a1.id, b.id]
    assert [s.rank for s in capped] == [1, 2]
