"""Cohort allocation: one offer per learner, every seat respected, total score maximised.

The candidate graph (learner -> offers that passed the hard filters, with their
score) is turned into an assignment problem: each offer is expanded into as many
slots as it has free seats (at most as many as learners who want it), and each
learner also gets a private "unplaced" slot of score 0, so leaving someone
unplaced is always possible and never forced on others. The graph stays sparse
(a learner is joined only to the slots of their candidate offers and to their own
unplaced slot), and scipy's ``min_weight_full_bipartite_matching`` (LAPJVsp, a
sparse Jonker-Volgenant shortest augmenting path solver) maximises the total
score exactly on it: no learners x slots dense matrix, which at 15,000 learners
would hold hundreds of millions of cells. A greedy first-come allocation is
computed beside it as the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import min_weight_full_bipartite_matching


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
    """Maximum total score assignment respecting every seat (exact), on the sparse
    candidate graph: only (learner, seat slot) pairs that are real candidates are edges."""
    learners = sorted(candidates)
    if not learners:
        return Allocation("optimal", {}, {})
    # Best score per (learner row, offer); a negative score never beats staying unplaced.
    best: dict[tuple[int, int], float] = {}
    for r, lid in enumerate(learners):
        for offer, score in candidates[lid]:
            key = (r, int(offer))
            if score >= 0 and score > best.get(key, -1.0):
                best[key] = float(score)
    n_l = len(learners)
    if best:
        pairs = np.array(list(best), dtype=np.int64).reshape(-1, 2)
        edge_row, edge_offer = pairs[:, 0], pairs[:, 1]
        edge_score = np.fromiter(best.values(), dtype=float, count=len(best))
    else:
        edge_row = edge_offer = np.zeros(0, dtype=np.int64)
        edge_score = np.zeros(0)
    # Slots per offer: its free seats, capped by how many learners want it.
    offers, demand = np.unique(edge_offer, return_counts=True)
    n_slots = np.minimum(np.array([int(seats.get(int(o), 0)) for o in offers]), demand)
    n_slots = np.maximum(n_slots, 0)
    first_slot = np.concatenate(([0], np.cumsum(n_slots)[:-1])) if len(offers) else n_slots
    n_s = int(n_slots.sum())
    slot_offer = np.repeat(offers, n_slots)
    # Every candidate edge repeated over its offer's slots (none when the offer is full).
    k = np.searchsorted(offers, edge_offer)
    reps = n_slots[k]
    rows = np.repeat(edge_row, reps)
    start = np.repeat(first_slot[k], reps)
    within = np.arange(len(rows)) - np.repeat(np.cumsum(reps) - reps, reps)
    cols = start + within
    # Weights shifted by +1 (the solver needs non-zero weights): a real candidate is worth
    # 1 + score, the learner's private "unplaced" slot 1, so nobody is forced anywhere and
    # a full matching (every learner on one slot) always exists.
    weights = np.concatenate((1.0 + np.repeat(edge_score, reps), np.ones(n_l)))
    rows = np.concatenate((rows, np.arange(n_l)))
    cols = np.concatenate((cols, n_s + np.arange(n_l)))
    graph = sparse.csr_matrix((weights, (rows, cols)), shape=(n_l, n_s + n_l))
    matched_rows, matched_cols = min_weight_full_bipartite_matching(graph, maximize=True)
    assignment: dict[int, int] = {}
    scores: dict[int, float] = dict.fromkeys(learners, 0.0)
    for r, c in zip(matched_rows.tolist(), matched_cols.tolist(), strict=True):
        if c < n_s:
            lid = learners[r]
            offer = int(slot_offer[c])
            assignment[lid] = offer
            scores[lid] = best[(r, offer)]
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
