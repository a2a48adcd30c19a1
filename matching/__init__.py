"""The placement matcher: pure, vectorised (numpy / scikit-learn). No database or UI import."""

from matching.allocate import (
    Allocation,
    AllocationReport,
    allocate,
    greedy_allocation,
    optimal_allocation,
)
from matching.index import OfferIndex, fold_label, reliability_of
from matching.model import LearnerProfile, OfferRecord, Suggestion, Weights
from matching.suggest import suggest, suggest_many

__all__ = [
    "Allocation",
    "AllocationReport",
    "LearnerProfile",
    "OfferIndex",
    "OfferRecord",
    "Suggestion",
    "Weights",
    "allocate",
    "fold_label",
    "greedy_allocation",
    "optimal_allocation",
    "reliability_of",
    "suggest",
    "suggest_many",
]
