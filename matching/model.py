"""Plain inputs and outputs of the matcher (no database, no UI).

The CRM builds these from its tables (crm/services/matching.py); benchmarks and
tests build them directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LearnerProfile:
    """What the matcher needs to know about one learner."""

    id: int
    ref: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    project_codes: tuple[str, ...] = ()  # ROME codes, first = main project
    project_text: str = ""  # free text, used when codes are missing
    skills: tuple[str, ...] = ()
    modes: tuple[str, ...] = ("transit",)
    max_commute_min: float = 45.0
    available_from: dt.date | None = None
    available_to: dt.date | None = None
    birth_date: dt.date | None = None  # unknown: treated as a minor (the safe side)
    excluded_company_ids: frozenset[int] = frozenset()  # left with an incident


@dataclass(frozen=True)
class OfferRecord:
    """One offer (seats for a job over a period) with its company's figures."""

    id: int
    company_id: int
    latitude: float | None
    longitude: float | None
    rome_codes: tuple[str, ...]  # first = main job
    ref: str | None = None
    company_ref: str | None = None
    company_name: str = ""
    title: str = ""
    description: str = ""
    skills: tuple[str, ...] = ()
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    open_to_minors: bool = True
    free_seats: int = 1
    active: bool = True  # company active and offer open (not paused, not closed)
    # Company track record (reliability) and this month's solicitations (fairness).
    completed_placements: int = 0
    failed_placements: int = 0  # cancelled after start or with an incident
    mean_tutor_rating: float | None = None  # 1..5
    ratings_count: int = 0
    monthly_solicitations: int = 0


@dataclass(frozen=True)
class Weights:
    """Weights of the final score (see docs/MATCHING.md); they need not sum to 1."""

    project: float = 0.45
    skills: float = 0.20
    commute: float = 0.20
    reliability: float = 0.10
    fairness: float = 0.05
    # Project fit levels.
    same_group: float = 0.6  # same ROME group (e.g. G16) as a project code
    same_domain: float = 0.3  # same ROME domain letter
    project_rank: tuple[float, ...] = (1.0, 0.8, 0.65)  # 1st, 2nd, 3rd project
    # Fairness: score = 1 / (1 + solicitations / fairness_scale).
    fairness_scale: float = 5.0
    # Skill labels match when rapidfuzz's token_sort_ratio reaches this (0-100).
    skill_match_cutoff: float = 88.0

    def total(self) -> float:
        return self.project + self.skills + self.commute + self.reliability + self.fairness


@dataclass
class Suggestion:
    rank: int
    offer_id: int
    offer_ref: str | None
    company_id: int
    company_ref: str | None
    company_name: str
    title: str
    score: float
    project_score: float
    skills_score: float
    commute_score: float
    reliability_score: float
    fairness_score: float
    commute_min: float
    mode: str
    distance_km: float
    skills_matched: int
    skills_wanted: int
    project_match: str  # "exact" | "group" | "domain" | "text" | "none"
    project_code: str | None  # the learner's code that matched
    start_date: dt.date | None
    end_date: dt.date | None
    latitude: float
    longitude: float
    explanation: str = ""
    commute_source: str = "estimate"  # "estimate" or the timetable's network name
    breakdown: dict[str, float] = field(default_factory=dict)

    def as_row(self, learner_ref: str | None = None) -> dict:
        return {
            "learner_ref": learner_ref,
            "rank": self.rank,
            "offer_ref": self.offer_ref,
            "company_ref": self.company_ref,
            "company": self.company_name,
            "title": self.title,
            "score": round(self.score, 4),
            "project_score": round(self.project_score, 4),
            "skills_score": round(self.skills_score, 4),
            "commute_score": round(self.commute_score, 4),
            "reliability_score": round(self.reliability_score, 4),
            "fairness_score": round(self.fairness_score, 4),
            "commute_min": round(self.commute_min, 1),
            "mode": self.mode,
            "distance_km": round(self.distance_km, 2),
            "skills": f"{self.skills_matched}/{self.skills_wanted}",
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "explanation": self.explanation,
        }
