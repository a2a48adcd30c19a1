"""OfferIndex: the open offers as arrays, built once and reused for every learner.

Offers are sorted by latitude so that a learner only looks at the band of
latitudes reachable within their maximum commute (a ``searchsorted`` slice),
then every criterion is computed with numpy on that slice.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import unicodedata
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from matching.model import OfferRecord

# Common French words that say nothing about a job (accents stripped, as TF-IDF sees them).
_STOP = (
    "a au aux avec ce ces cette dans de des du elle en et etre il ils je j l la le les leur "
    "lui ma mais me mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son "
    "sur ta te tes toi ton tu un une vos votre vous d c m n s t y voudrais veux voudrait "
    "aimerais aimerait travailler travail metier faire chez dans plus tres bien"
)
FRENCH_STOP_WORDS = sorted(set(_STOP.split()))
MIN_ORD = dt.date(1900, 1, 1).toordinal()
MAX_ORD = dt.date(2999, 12, 31).toordinal()


@functools.lru_cache(maxsize=65536)
def fold_label(text: str | None) -> str:
    """Lower-case, no accents, punctuation as spaces: "Hygiène (HACCP)" -> "hygiene haccp"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join("".join(c if c.isalnum() else " " for c in stripped).split())


def reliability_of(o: OfferRecord) -> float:
    """Company track record in [0,1]; 0.5 for a partner without history.

    Half completion rate, half tutor ratings, both smoothed towards 0.5 with two
    pseudo-observations so that one placement does not make a company perfect.
    """
    completion = (o.completed_placements + 1) / (o.completed_placements + o.failed_placements + 2)
    if o.mean_tutor_rating is not None and o.ratings_count > 0:
        r = (o.mean_tutor_rating - 1) / 4
        rating = (r * o.ratings_count + 1.0) / (o.ratings_count + 2)
    else:
        rating = 0.5
    return min(1.0, max(0.0, 0.5 * completion + 0.5 * rating))


def _rows_by_key(rows: np.ndarray, keys: np.ndarray, labels: list[str]) -> dict[str, np.ndarray]:
    """label -> sorted unique offer positions holding it (from (row, key) pairs)."""
    if len(rows) == 0:
        return {}
    pairs = np.unique(keys * (int(rows.max()) + 1) + rows)
    k = pairs // (int(rows.max()) + 1)
    r = pairs % (int(rows.max()) + 1)
    cuts = np.flatnonzero(np.diff(k)) + 1
    return {
        labels[int(g[0])]: rr for g, rr in zip(np.split(k, cuts), np.split(r, cuts), strict=True)
    }


def _group_rows(rows, codes, code_labels, width: int) -> dict[str, np.ndarray]:
    """Rows by ROME group (width 3, e.g. G16) or domain (width 1, e.g. G)."""
    group_labels = sorted({c[:width] for c in code_labels})
    pos = {g: i for i, g in enumerate(group_labels)}
    group_of_code = np.asarray([pos[c[:width]] for c in code_labels], dtype=np.int64)
    keys = group_of_code[codes] if len(codes) else codes
    return _rows_by_key(rows, keys, group_labels)


def _fit_text_model(offers: list[OfferRecord]):
    # scikit-learn is imported here, on first use: most cohorts have ROME codes and never
    # need it, and importing it costs every matching command about a second at start.
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    texts = [f"{o.title} {o.description}" for o in offers]
    if not any(t.strip() for t in texts):
        return None, None
    distinct, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    counter = CountVectorizer(strip_accents="unicode", lowercase=True, stop_words=FRENCH_STOP_WORDS)
    try:
        counts = counter.fit_transform(list(distinct)).tocsr()[inverse.ravel()]
    except ValueError:  # only stop words
        return None, None
    tfidf = TfidfTransformer()
    matrix = tfidf.fit_transform(counts).tocsr()

    def vectorise(text: str):
        return tfidf.transform(counter.transform([text]))

    return vectorise, matrix


@dataclass
class OfferIndex:
    offers: list[OfferRecord]  # sorted by latitude, eligible offers only
    dropped: int  # offers left out at build (inactive, no free seat, no coordinates)
    lat_deg: np.ndarray
    lat_rad: np.ndarray
    lon_rad: np.ndarray
    cos_lat: np.ndarray
    start_ord: np.ndarray
    end_ord: np.ndarray
    open_to_minors: np.ndarray
    free_seats: np.ndarray
    offer_id: np.ndarray
    company_id: np.ndarray
    reliability: np.ndarray
    solicitations: np.ndarray
    main_code: np.ndarray  # integer code of the main ROME code (into code_labels)
    code_labels: list[str]
    rows_by_code: dict[str, np.ndarray]
    rows_by_group: dict[str, np.ndarray]
    rows_by_domain: dict[str, np.ndarray]
    skill_vocab: list[str]  # folded labels
    skill_labels: list[str]  # one original spelling per folded label
    skills: sparse.csr_matrix  # offers x skill_vocab, 0/1
    skills_by_label: sparse.csc_matrix  # the same, by column: offers holding each label
    skills_wanted: np.ndarray
    _text_model: tuple | None = None
    # (folded learner label, cutoff) -> vocabulary columns it matches (filled by suggest).
    skill_match_cache: dict = field(default_factory=dict)
    _text_lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self.offers)

    def text_model(self):
        """TF-IDF of title + description, fitted on first use (only learners without
        ROME codes need it) and kept for the life of the index.

        Identical texts are tokenised once: counts are computed on the distinct texts
        and spread back, then IDF is computed over every offer.
        """
        with self._text_lock:
            if self._text_model is None:
                self._text_model = _fit_text_model(self.offers)
            return self._text_model

    @classmethod
    def build(cls, offers: list[OfferRecord]) -> OfferIndex:
        kept = [
            o
            for o in offers
            if o.active
            and o.free_seats > 0
            and o.latitude is not None
            and o.longitude is not None
            and o.rome_codes
        ]
        n = len(kept)
        # One pass over the records, then everything is numpy.
        lat_l, lon_l, start_l, end_l, minors_l, seats_l, id_l, comp_l, rel_l, sol_l = (
            [] for _ in range(10)
        )
        pair_rows, pair_codes = [], []
        code_pos: dict[str, int] = {}
        vocab: dict[str, int] = {}
        spelling: list[str] = []
        skill_rows, skill_cols = [], []
        for i, o in enumerate(kept):
            lat_l.append(o.latitude)
            lon_l.append(o.longitude)
            start_l.append(o.start_date.toordinal() if o.start_date else MIN_ORD)
            end_l.append(o.end_date.toordinal() if o.end_date else MAX_ORD)
            minors_l.append(bool(o.open_to_minors))
            seats_l.append(o.free_seats)
            id_l.append(o.id)
            comp_l.append(o.company_id)
            rel_l.append(reliability_of(o))
            sol_l.append(o.monthly_solicitations)
            for c in o.rome_codes:
                if c:
                    pair_rows.append(i)
                    pair_codes.append(code_pos.setdefault(c, len(code_pos)))
            for label in o.skills:
                key = fold_label(label)
                if not key:
                    continue
                j = vocab.get(key)
                if j is None:
                    j = vocab[key] = len(spelling)
                    spelling.append(label)
                skill_rows.append(i)
                skill_cols.append(j)
        lat = np.asarray(lat_l, dtype=float)
        ids = np.asarray(id_l, dtype=np.int64)
        order = np.lexsort((ids, lat))  # by latitude, then id
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        kept = [kept[i] for i in order]

        def arr(values, dtype):
            return np.asarray(values, dtype=dtype)[order] if n else np.zeros(0, dtype=dtype)

        lat = arr(lat_l, float)
        lon = arr(lon_l, float)
        lat_rad = np.radians(lat)
        # ROME codes: (offer position, code) pairs, grouped by code, group and domain.
        code_labels = list(code_pos)
        pr = rank[np.asarray(pair_rows, dtype=np.int64)] if pair_rows else np.zeros(0, np.int64)
        pc = np.asarray(pair_codes, dtype=np.int64)
        main_code = np.full(n, -1, dtype=np.int64)
        first = np.unique(np.asarray(pair_rows, dtype=np.int64), return_index=True)[1]
        main_code[pr[first]] = pc[first]
        sr = rank[np.asarray(skill_rows, dtype=np.int64)] if skill_rows else np.zeros(0, np.int64)
        skills = sparse.csr_matrix(
            (np.ones(len(sr)), (sr, np.asarray(skill_cols, dtype=np.int64))),
            shape=(n, max(1, len(spelling))),
        )
        skills.data[:] = 1.0  # a label repeated in one offer counts once
        return cls(
            offers=kept,
            dropped=len(offers) - n,
            lat_deg=lat,
            lat_rad=lat_rad,
            lon_rad=np.radians(lon),
            cos_lat=np.cos(lat_rad),
            start_ord=arr(start_l, np.int64),
            end_ord=arr(end_l, np.int64),
            open_to_minors=arr(minors_l, bool),
            free_seats=arr(seats_l, np.int64),
            offer_id=arr(id_l, np.int64),
            company_id=arr(comp_l, np.int64),
            reliability=arr(rel_l, float),
            solicitations=arr(sol_l, float),
            main_code=main_code,
            code_labels=code_labels,
            rows_by_code=_rows_by_key(pr, pc, code_labels),
            rows_by_group=_group_rows(pr, pc, code_labels, 3),
            rows_by_domain=_group_rows(pr, pc, code_labels, 1),
            skill_vocab=list(vocab),
            skill_labels=spelling,
            skills=skills,
            skills_by_label=skills.tocsc(),
            skills_wanted=np.asarray(skills.sum(axis=1)).ravel(),
        )
