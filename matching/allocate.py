"""Cohort allocation: one offer per learner, every seat respected, total score maximised.

The candidate graph (learner -> offers that passed the hard filters, with their
score) is turned into an assignment problem: each offer is expanded into as many
slots as it has free seats (at most as many as learners who want it), and each
learner also gets a private "unplaced" slot of score 0, so leaving someone
unplaced is always possible and never forced on others. scipy's
``linear_sum_assignment`` (a shortest augmenting path Hungarian variant) then
maximises the total score exactly. A greedy first-come allocation is computed
beside it as the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass
class Allocation:
    method: str
    assignment: dict[int, int]  # learner id -> offer id (placed learners only)
    scores: dict[int, float]  # learner id -> score obtained (0 when unplaced)

    @property
    def total_score(self) -> float:
        return float(sum(self.scores.values()))

    @property
    def placed(self) -> int:
        return len(self.assignment)

    @property
    def worst(self) -> tuple[int | None, float]:
        """(learner id, score) of the worst-served learner (0 = unplaced)."""
        if not self.scores:
            return None, 0.0
        lid = min(self.scores, key=lambda k: (self.scores[k], k))
        return lid, self.scores[lid]

    def seats_used(self) -> dict[int, int]:
        used: dict[int, int] = {}
        for offer in self.assignment.values():
            used[offer] = used.get(offer, 0) + 1
        return used


@dataclass
class AllocationReport:
    optimal: Allocation
    greedy: Allocation
    learners: int
    details: dict = field(default_factory=dict)


def greedy_allocation(
    candidates: dict[int, list[tuple[int, float]]],
    seats: dict[int, int],
    order: list[int] | None = None,
) -> Allocation:
    """First come, first served: each learner in turn takes their best offer with a seat left."""
    left = dict(seats)
    assignment: dict[int, int] = {}
    scores: dict[int, float] = {}
    for lid in order if order is not None else list(candidates):
        scores[lid] = 0.0
        for offer, score in sorted(candidates.get(lid, []), key=lambda t: (-t[1], t[0])):
            if left.get(offer, 0) > 0:
                left[offer] -= 1
                assignment[lid] = offer
                scores[lid] = float(score)
                break
    return Allocation("greedy", assignment, scores)


def optimal_allocation(
    candidates: dict[int, list[tuple[int, float]]],
    seats: dict[int, int],
) -> Allocation:
    """Maximum total score assignment respecting every seat (exact)."""
    learners = sorted(candidates)
    if not learners:
        return Allocation("optimal", {}, {})
    demand: dict[int, int] = {}
    for lid in learners:
        for offer, _ in candidates[lid]:
            demand[offer] = demand.get(offer, 0) + 1
    slot_offer: list[int] = []
    first_slot: dict[int, int] = {}
    for offer in sorted(demand):
        n = min(int(seats.get(offer, 0)), demand[offer])
        if n <= 0:
            continue
        first_slot[offer] = len(slot_offer)
        slot_offer.extend([offer] * n)
    n_l, n_s = len(learners), len(slot_offer)
    # Scores shifted by +1 so that any real candidate beats staying unplaced (score 1),
    # and non-edges get a large negative value.
    forbidden = -1e6
    gain = np.full((n_l, n_s + n_l), forbidden)
    gain[np.arange(n_l), n_s + np.arange(n_l)] = 1.0  # private "unplaced" slot
    for r, lid in enumerate(learners):
        for offer, score in candidates[lid]:
            start = first_slot.get(offer)
            if start is None:
                continue
            n = min(int(seats.get(offer, 0)), demand[offer])
            gain[r, start : start + n] = np.maximum(gain[r, start : start + n], 1.0 + score)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    assignment: dict[int, int] = {}
    scores: dict[int, float] = dict.fromkeys(learners, 0.0)
    for r, c in zip(rows, cols, strict=True):
        if c < n_s and gain[r, c] > 0.5:
            lid = learners[r]
            assignment[lid] = slot_offer[c]
            scores[lid] = float(gain[r, c] - 1.0)
    return Allocation("optimal", assignment, scores)


def allocate(
    candidates: dict[int, list[tuple[int, float]]],
    seats: dict[int, int],
    order: list[int] | None = None,
) -> AllocationReport:
    """Optimal allocation beside the greedy first-come baseline."""
    return AllocationReport(
        optimal=optimal_allocation(candidates, seats),
        greedy=greedy_allocation(candidates, seats, order),
        learners=len(candidates),
    )
