"""Ranked, explained suggestions of offers for one learner (vectorised).

Hard filters (an offer failing one is never suggested): commute above the
learner's maximum for every allowed mode; no overlap between the offer period
and the learner's availability (or the offer already over); offer closed to
minors while the learner is under 18 at the start (unknown birth date counts as
a minor); no free seat; company inactive or offer paused/closed; a company the
learner left with an incident. The last three of these are applied when the
index is built or through ``excluded_company_ids``.

Scores in [0,1]: project, skills, commute, reliability, fairness; the final
score is their weighted mean (``Weights``). Ties are broken by distance, then
offer id, so the same inputs always give the same list.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from rapidfuzz import fuzz, process

from matching.commute import EARTH_RADIUS_KM, MODE_LABELS_FR, MODES, commute_minutes
from matching.index import MAX_ORD, OfferIndex, fold_label
from matching.model import LearnerProfile, Suggestion, Weights

MATCH_NONE, MATCH_DOMAIN, MATCH_GROUP, MATCH_EXACT, MATCH_TEXT = 0, 1, 2, 3, 4
MATCH_NAMES = {
    MATCH_NONE: "none",
    MATCH_DOMAIN: "domain",
    MATCH_GROUP: "group",
    MATCH_EXACT: "exact",
    MATCH_TEXT: "text",
}
RANK_FR = {1: "", 2: ", 2e projet", 3: ", 3e projet"}


def max_reach_km(modes, max_minutes: float) -> float:
    """Largest great-circle distance reachable within ``max_minutes`` by any mode."""
    best = 0.0
    for m in modes:
        p = MODES.get(m)
        if p is None:
            continue
        best = max(best, (max_minutes - p.overhead_min) * p.speed_kmh / 60.0 / p.detour)
    return best


def _adult_ordinal(birth: dt.date | None) -> int:
    if birth is None:
        return MAX_ORD  # unknown: treated as a minor
    try:
        return birth.replace(year=birth.year + 18).toordinal()
    except ValueError:  # 29 February
        return dt.date(birth.year + 18, 3, 1).toordinal()


def learner_skill_columns(index: OfferIndex, skills, cutoff: float) -> np.ndarray:
    """Columns of the index's skill vocabulary that the learner has (fuzzy labels).

    Each folded label is compared with the vocabulary once per index (cached on it): a
    cohort repeats the same few hundred labels across thousands of learners.
    """
    folded = list(dict.fromkeys(f for f in (fold_label(s) for s in skills) if f))
    if not folded or not index.skill_vocab:
        return np.zeros(0, dtype=np.int64)
    cache = index.skill_match_cache
    missing = [f for f in folded if (f, cutoff) not in cache]
    if missing:
        scores = process.cdist(
            missing, index.skill_vocab, scorer=fuzz.token_sort_ratio, score_cutoff=cutoff
        )
        for f, row in zip(missing, scores >= cutoff, strict=True):
            cache[(f, cutoff)] = np.nonzero(row)[0]
    return np.unique(np.concatenate([cache[(f, cutoff)] for f in folded]))


def skills_matched(index: OfferIndex, cols: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """How many of the vocabulary columns ``cols`` each offer ``pos`` asks for: the rows of
    those columns counted (the offers x skills matrix holds 0/1), read through its
    column-major copy instead of slicing every candidate row."""
    if len(cols) == 0 or len(pos) == 0:
        return np.zeros(len(pos))
    by_label = index.skills_by_label
    rows = np.concatenate(
        [by_label.indices[by_label.indptr[c] : by_label.indptr[c + 1]] for c in cols]
    )
    return np.bincount(rows, minlength=len(index))[pos].astype(float)


def candidates(
    index: OfferIndex, learner: LearnerProfile, today: dt.date, timetable=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions of the offers passing every hard filter, with distance, minutes, mode.

    ``timetable`` (matching.gtfs.Timetable): scheduled transit times replace the transit
    estimate where the timetable has a journey.
    """
    empty = np.zeros(0, dtype=np.int64)
    nothing = (empty, np.zeros(0), np.zeros(0), empty)
    if len(index) == 0 or learner.latitude is None or learner.longitude is None:
        return nothing
    modes = [m for m in learner.modes if m in MODES]
    reach = max_reach_km(modes, learner.max_commute_min)
    if reach <= 0:
        return nothing
    band = np.degrees(reach / EARTH_RADIUS_KM) + 1e-9
    lo, hi = np.searchsorted(index.lat_deg, [learner.latitude - band, learner.latitude + band])
    if hi <= lo:
        return nothing
    lat1, lon1 = np.radians(learner.latitude), np.radians(learner.longitude)
    # Longitude bound of the reachable circle (exact for a sphere): the latitude band
    # alone keeps a whole strip around the globe, several times the rows in reach.
    delta = reach / EARTH_RADIUS_KM
    if np.cos(lat1) > np.sin(delta):
        dlon = np.abs(index.lon_rad[lo:hi] - lon1)
        dlon = np.minimum(dlon, 2 * np.pi - dlon)
        pos = lo + np.flatnonzero(dlon <= np.arcsin(np.sin(delta) / np.cos(lat1)) + 1e-12)
    else:  # the circle reaches a pole: every longitude
        pos = np.arange(lo, hi)
    if len(pos) == 0:
        return nothing
    a = (
        np.sin((index.lat_rad[pos] - lat1) / 2) ** 2
        + np.cos(lat1) * index.cos_lat[pos] * np.sin((index.lon_rad[pos] - lon1) / 2) ** 2
    )
    dist = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    overrides = None
    if timetable is not None and "transit" in modes:
        overrides = {
            "transit": timetable.minutes(
                (learner.latitude, learner.longitude),
                index.lat_deg[pos],
                np.degrees(index.lon_rad[pos]),
                max_minutes=learner.max_commute_min,
            )
        }
    minutes, mode_idx = commute_minutes(dist, modes, overrides)
    mask = minutes <= learner.max_commute_min
    # Period: the offer must overlap the learner's window, from today on.
    l_from = max(
        today.toordinal(), learner.available_from.toordinal() if learner.available_from else 0
    )
    l_to = learner.available_to.toordinal() if learner.available_to else MAX_ORD
    start, end = index.start_ord[pos], index.end_ord[pos]
    mask &= (start <= l_to) & (end >= l_from)
    # Minors: age on the first day the learner could start there.
    start_eff = np.maximum(start, l_from)
    mask &= index.open_to_minors[pos] | (start_eff >= _adult_ordinal(learner.birth_date))
    if learner.excluded_company_ids:
        excluded = np.fromiter(learner.excluded_company_ids, np.int64)
        mask &= ~np.isin(index.company_id[pos], excluded)
    keep = np.nonzero(mask)[0]
    return pos[keep], dist[keep], minutes[keep], mode_idx[keep]


def project_scores(
    index: OfferIndex, learner: LearnerProfile, pos: np.ndarray, weights: Weights
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score, match kind, index of the learner's code that matched) for offers ``pos``."""
    n = len(pos)
    score = np.zeros(n)
    kind = np.zeros(n, dtype=np.int8)
    which = np.full(n, -1, dtype=np.int8)
    if n == 0:
        return score, kind, which
    local = np.full(len(index), -1, dtype=np.int64)
    local[pos] = np.arange(n)
    codes = [c.strip().upper() for c in learner.project_codes if c and c.strip()]
    levels = (
        (index.rows_by_code, 0, 1.0, MATCH_EXACT),
        (index.rows_by_group, 3, weights.same_group, MATCH_GROUP),
        (index.rows_by_domain, 1, weights.same_domain, MATCH_DOMAIN),
    )
    for k, code in enumerate(codes[: len(weights.project_rank)]):
        rank_w = weights.project_rank[k]
        for table, width, level, kind_value in levels:
            key = code if width == 0 else code[:width]
            rows = table.get(key)
            if rows is None:
                continue
            p = local[rows]
            p = p[p >= 0]
            value = level * rank_w
            better = value > score[p] + 1e-12
            p = p[better]
            score[p] = value
            kind[p] = kind_value
            which[p] = k
    vectorise, matrix = (None, None)
    if not codes and learner.project_text.strip():
        vectorise, matrix = index.text_model()
    if vectorise is not None:
        q = vectorise(learner.project_text)
        if q.nnz:
            sims = np.asarray((matrix[pos] @ q.T).todense()).ravel()
            score = np.clip(sims, 0.0, 1.0)
            kind[score > 0] = MATCH_TEXT
    return score, kind, which


def _explain(s: Suggestion, project_rank: int, fairness_low: bool) -> str:
    parts = []
    rank = RANK_FR.get(project_rank, "")
    if s.project_match == "exact":
        parts.append(f"Même métier ({s.project_code}{rank})")
    elif s.project_match == "group":
        parts.append(f"Métier voisin ({s.project_code[:3]}{rank})")
    elif s.project_match == "domain":
        parts.append(f"Même domaine ({s.project_code[:1]}{rank})")
    elif s.project_match == "text":
        parts.append(f"Proche du projet décrit ({round(100 * s.project_score)} %)")
    else:
        parts.append("Autre métier")
    mode_fr = MODE_LABELS_FR.get(s.mode, s.mode)
    if s.commute_source != "estimate":
        parts.append(f"{round(s.commute_min)} min {mode_fr} (horaires {s.commute_source})")
    else:
        parts.append(f"≈ {round(s.commute_min)} min {mode_fr} (estimation)")
    if s.skills_wanted:
        parts.append(f"{s.skills_matched}/{s.skills_wanted} compétences")
    else:
        parts.append("aucune compétence exigée")
    if s.reliability_score >= 0.75:
        parts.append("partenaire fiable")
    if fairness_low:
        parts.append("entreprise déjà très sollicitée ce mois-ci")
    return ", ".join(parts)


def suggest(
    index: OfferIndex,
    learner: LearnerProfile,
    top: int = 10,
    weights: Weights | None = None,
    today: dt.date | None = None,
    per_company: int | None = None,
    timetable=None,
) -> list[Suggestion]:
    """The ``top`` best offers for ``learner``, best first, each with its reasons.

    ``per_company`` caps how many offers of one company are listed (None: no cap);
    ``timetable`` (matching.gtfs.Timetable) gives scheduled transit times.
    """
    weights = weights or Weights()
    today = today or dt.date.today()
    pos, dist, minutes, mode_idx = candidates(index, learner, today, timetable)
    if len(pos) == 0 or top <= 0:
        return []
    modes = [m for m in learner.modes if m in MODES]
    project, kind, which = project_scores(index, learner, pos, weights)
    cols = learner_skill_columns(index, learner.skills, weights.skill_match_cutoff)
    wanted = index.skills_wanted[pos]
    matched = skills_matched(index, cols, pos)
    skills = np.where(wanted > 0, matched / np.maximum(wanted, 1), 1.0)
    commute = np.clip(1.0 - minutes / learner.max_commute_min, 0.0, 1.0)
    reliability = index.reliability[pos]
    fairness = 1.0 / (1.0 + index.solicitations[pos] / weights.fairness_scale)
    total = weights.total() or 1.0
    score = (
        weights.project * project
        + weights.skills * skills
        + weights.commute * commute
        + weights.reliability * reliability
        + weights.fairness * fairness
    ) / total
    score = np.round(score, 9)
    chosen = np.arange(len(pos))
    if len(pos) > top and not per_company:
        threshold = np.partition(score, len(pos) - top)[len(pos) - top]
        chosen = np.nonzero(score >= threshold)[0]  # ties at the boundary kept, sorted below
    order = chosen[np.lexsort((index.offer_id[pos[chosen]], dist[chosen], -score[chosen]))]
    if per_company:
        # At most ``per_company`` offers per company (its best ones), so that one
        # partner's successive waves do not fill the whole list.
        seen: dict[int, int] = {}
        keep = []
        for i in order:
            c = int(index.company_id[pos[i]])
            if seen.get(c, 0) < per_company:
                seen[c] = seen.get(c, 0) + 1
                keep.append(i)
                if len(keep) == top:
                    break
        order = np.asarray(keep, dtype=np.int64)
    order = order[:top]
    out: list[Suggestion] = []
    for rank, i in enumerate(order, start=1):
        o = index.offers[pos[i]]
        k = int(which[i])
        s = Suggestion(
            rank=rank,
            offer_id=o.id,
            offer_ref=o.ref,
            company_id=o.company_id,
            company_ref=o.company_ref,
            company_name=o.company_name,
            title=o.title,
            score=float(score[i]),
            project_score=float(project[i]),
            skills_score=float(skills[i]),
            commute_score=float(commute[i]),
            reliability_score=float(reliability[i]),
            fairness_score=float(fairness[i]),
            commute_min=float(minutes[i]),
            mode=modes[int(mode_idx[i])],
            distance_km=float(dist[i]),
            skills_matched=int(round(matched[i])),
            skills_wanted=int(wanted[i]),
            project_match=MATCH_NAMES[int(kind[i])],
            project_code=learner.project_codes[k] if k >= 0 else None,
            start_date=o.start_date,
            end_date=o.end_date,
            latitude=float(o.latitude),
            longitude=float(o.longitude),
            breakdown={
                "project": float(project[i]),
                "skills": float(skills[i]),
                "commute": float(commute[i]),
                "reliability": float(reliability[i]),
                "fairness": float(fairness[i]),
            },
        )
        if timetable is not None and s.mode == "transit":
            est = float(commute_minutes([dist[i]], ["transit"])[0][0])
            if abs(est - s.commute_min) > 1e-9:
                s.commute_source = timetable.name
        s.explanation = _explain(s, k + 1, fairness_low=fairness[i] < 0.5)
        out.append(s)
    return out


def suggest_many(
    index: OfferIndex,
    learners,
    top: int = 10,
    weights: Weights | None = None,
    today: dt.date | None = None,
) -> dict[int, list[Suggestion]]:
    """Suggestions for several learners (learner id -> list)."""
    return {lp.id: suggest(index, lp, top=top, weights=weights, today=today) for lp in learners}
