"""OfferIndex: the open offers as arrays, built once and reused for every learner.

Offers are sorted by latitude so that a learner only looks at the band of
latitudes reachable within their maximum commute (a ``searchsorted`` slice),
then every criterion is computed with numpy on that slice.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

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
    return float(np.clip(0.5 * completion + 0.5 * rating, 0.0, 1.0))


def _rows_by_key(keys_per_offer: list[list[str]]) -> dict[str, np.ndarray]:
    """key -> sorted array of offer positions holding it."""
    acc: dict[str, list[int]] = {}
    for i, keys in enumerate(keys_per_offer):
        for k in dict.fromkeys(keys):
            acc.setdefault(k, []).append(i)
    return {k: np.asarray(v, dtype=np.int64) for k, v in acc.items()}


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
    skills_wanted: np.ndarray
    vectorizer: TfidfVectorizer | None
    tfidf: sparse.csr_matrix | None

    def __len__(self) -> int:
        return len(self.offers)

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
        kept.sort(key=lambda o: (o.latitude, o.id))
        n = len(kept)
        lat = np.fromiter((o.latitude for o in kept), float, n)
        lon = np.fromiter((o.longitude for o in kept), float, n)
        lat_rad = np.radians(lat)
        codes = [[c for c in o.rome_codes if c] for o in kept]
        code_labels = sorted({c for cs in codes for c in cs})
        code_pos = {c: i for i, c in enumerate(code_labels)}
        # Skills: vocabulary of folded labels.
        vocab: dict[str, int] = {}
        spelling: list[str] = []
        rows, cols = [], []
        for i, o in enumerate(kept):
            for label in o.skills:
                key = fold_label(label)
                if not key:
                    continue
                j = vocab.get(key)
                if j is None:
                    j = vocab[key] = len(spelling)
                    spelling.append(label)
                rows.append(i)
                cols.append(j)
        skills = sparse.csr_matrix(
            (
                np.ones(len(rows)),
                (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)),
            ),
            shape=(n, max(1, len(spelling))),
        )
        skills.data[:] = 1.0  # a label repeated in one offer counts once
        texts = [f"{o.title} {o.description}" for o in kept]
        vectorizer, tfidf = None, None
        if n and any(t.strip() for t in texts):
            vectorizer = TfidfVectorizer(
                strip_accents="unicode", lowercase=True, stop_words=FRENCH_STOP_WORDS
            )
            try:
                tfidf = vectorizer.fit_transform(texts).tocsr()
            except ValueError:  # empty vocabulary
                vectorizer, tfidf = None, None
        return cls(
            offers=kept,
            dropped=len(offers) - n,
            lat_deg=lat,
            lat_rad=lat_rad,
            lon_rad=np.radians(lon),
            cos_lat=np.cos(lat_rad),
            start_ord=np.fromiter(
                (o.start_date.toordinal() if o.start_date else MIN_ORD for o in kept), np.int64, n
            ),
            end_ord=np.fromiter(
                (o.end_date.toordinal() if o.end_date else MAX_ORD for o in kept), np.int64, n
            ),
            open_to_minors=np.fromiter((bool(o.open_to_minors) for o in kept), bool, n),
            free_seats=np.fromiter((o.free_seats for o in kept), np.int64, n),
            offer_id=np.fromiter((o.id for o in kept), np.int64, n),
            company_id=np.fromiter((o.company_id for o in kept), np.int64, n),
            reliability=np.fromiter((reliability_of(o) for o in kept), float, n),
            solicitations=np.fromiter((o.monthly_solicitations for o in kept), float, n),
            main_code=np.fromiter((code_pos[cs[0]] for cs in codes), np.int64, n),
            code_labels=code_labels,
            rows_by_code=_rows_by_key(codes),
            rows_by_group=_rows_by_key([[c[:3] for c in cs] for cs in codes]),
            rows_by_domain=_rows_by_key([[c[:1] for c in cs] for cs in codes]),
            skill_vocab=list(vocab),
            skill_labels=spelling,
            skills=skills,
            skills_wanted=np.asarray(skills.sum(axis=1)).ravel(),
            vectorizer=vectorizer,
            tfidf=tfidf,
        )
