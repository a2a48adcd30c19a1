"""Prospect ranking: which register establishments to call for a job, vectorised (numpy).

Pure code (no database, no UI): the CRM loads establishments inside a bounding box as
arrays (crm/services/prospecting) and this module scores them. docs/PROSPECTING.md
explains every weight.

score = W_FIT * fit + W_COMMUTE * commute + W_SIZE * size, then a fairness spread:
    score *= 1 - FAIRNESS_SPREAD * jitter(officer, siret)
- fit: the share of the job's hirings made by establishments of that NAF (La Bonne Boîte
  ROME → NAF table), combined over the learner's projects (main project weighs most) and
  relative to the best NAF for those projects (the best NAF scores 1);
- commute: 1 - minutes / max_minutes with the fastest of the learner's modes
  (matching.commute, the matcher's own model);
- size: how often establishments of that INSEE size band host a trainee (SIZE_WEIGHTS);
- jitter: a deterministic pseudo-random number in [0, 1) per (officer, SIRET), so that two
  officers asking for the same job and place do not get the very same list.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from matching.commute import MODE_LABELS_FR, commute_minutes, haversine_km

W_FIT = 0.55
W_COMMUTE = 0.25
W_SIZE = 0.20
FAIRNESS_SPREAD = 0.10  # at most 10 % off a score, per officer
PROJECT_WEIGHTS = (1.0, 0.6, 0.4)  # main project, second, third

# INSEE "tranche d'effectif salarié" codes -> French label, hosting weight.
SIZE_LABELS = {
    "NN": "effectif non renseigné",
    "00": "0 salarié",
    "01": "1–2 salariés",
    "02": "3–5 salariés",
    "03": "6–9 salariés",
    "11": "10–19 salariés",
    "12": "20–49 salariés",
    "21": "50–99 salariés",
    "22": "100–199 salariés",
    "31": "200–249 salariés",
    "32": "250–499 salariés",
    "41": "500–999 salariés",
    "42": "1 000–1 999 salariés",
    "51": "2 000–4 999 salariés",
    "52": "5 000–9 999 salariés",
    "53": "10 000 salariés et plus",
}
SIZE_WEIGHTS = {
    "": 0.35,
    "NN": 0.35,  # no employee declared: rarely a tutor available
    "00": 0.3,
    "01": 0.55,
    "02": 0.75,
    "03": 0.9,
    "11": 1.0,
    "12": 1.0,
    "21": 1.0,
    "22": 1.0,
    "31": 0.9,  # large sites host, but through a central HR process: slower to reach
    "32": 0.9,
    "41": 0.85,
    "42": 0.85,
    "51": 0.85,
    "52": 0.85,
    "53": 0.85,
}


def dotted_naf(code: str | None) -> str:
    """'5610A' or '56.10A' -> '56.10A' (the form company records use)."""
    code = (code or "").strip().upper()
    if len(code) == 5 and "." not in code:
        return f"{code[:2]}.{code[2:]}"
    return code


@dataclass(frozen=True)
class RomeNafTable:
    """Hirings per (ROME, NAF): each NAF's share of a job's hirings."""

    shares: Mapping[str, Mapping[str, float]]  # rome -> {naf "56.10A": share 0..1}

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, float]]) -> RomeNafTable:
        counts: dict[str, dict[str, float]] = {}
        for rome, naf, hirings in rows:
            if hirings and float(hirings) > 0:
                by_naf = counts.setdefault(rome.strip().upper(), {})
                key = dotted_naf(naf)
                by_naf[key] = by_naf.get(key, 0.0) + float(hirings)
        shares = {}
        for rome, by_naf in counts.items():
            total = sum(by_naf.values())
            shares[rome] = {naf: n / total for naf, n in by_naf.items()}
        return cls(shares)

    @classmethod
    def from_csv(cls, path: str | Path) -> RomeNafTable:
        with Path(path).open(encoding="utf-8", newline="") as fh:
            return cls.from_rows(
                (r["rome"], r["naf"], float(r["hirings"] or 0)) for r in csv.DictReader(fh)
            )

    def combined(self, rome_codes: Sequence[str]) -> tuple[dict[str, float], dict[str, str]]:
        """NAF -> weighted share over the projects, and NAF -> the project explaining it best."""
        weights = [
            (code, PROJECT_WEIGHTS[min(i, len(PROJECT_WEIGHTS) - 1)])
            for i, code in enumerate(dict.fromkeys(c for c in rome_codes if c))
            if code in self.shares
        ]
        total_w = sum(w for _, w in weights)
        out: dict[str, float] = {}
        best: dict[str, tuple[float, str]] = {}
        for code, w in weights:
            for naf, share in self.shares[code].items():
                out[naf] = out.get(naf, 0.0) + w * share / total_w
                if share * w > best.get(naf, (0.0, ""))[0]:
                    best[naf] = (share * w, code)
        return out, {naf: code for naf, (_, code) in best.items()}


@dataclass
class EstablishmentArrays:
    """Columns of the establishments to rank (one entry per establishment)."""

    siret: np.ndarray  # str
    name: np.ndarray  # str
    naf: np.ndarray  # str, "56.10A"
    size_band: np.ndarray  # str, INSEE code or ""
    latitude: np.ndarray  # float
    longitude: np.ndarray  # float
    commune: np.ndarray  # str
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # carried to the output
    # Optional factorised columns (codes into a small table of values): faster than strings.
    naf_codes: tuple[np.ndarray, np.ndarray] | None = None  # (index per row, values)
    band_codes: tuple[np.ndarray, np.ndarray] | None = None
    siret_numbers: np.ndarray | None = None  # uint64

    def __len__(self) -> int:
        return len(self.siret)

    def factorised(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        given = self.naf_codes if name == "naf" else self.band_codes
        if given is not None:
            return given
        values, inverse = np.unique(getattr(self, name).astype(str), return_inverse=True)
        return inverse, values


@dataclass
class Prospect:
    siret: str
    name: str
    naf: str
    size_band: str
    commune: str
    latitude: float
    longitude: float
    distance_km: float
    minutes: float
    mode: str
    score: float
    fit: float
    commute_score: float
    size_score: float
    naf_share: float  # share of the explaining project's hirings
    rome: str  # the project that explains the NAF fit
    reasons: list[str]
    extra: dict = field(default_factory=dict)

    def as_row(self) -> dict:
        return {
            "siret": self.siret,
            "name": self.name,
            "naf": self.naf,
            "commune": self.commune,
            "minutes": round(self.minutes),
            "score": round(self.score, 3),
            "reasons": " · ".join(self.reasons),
        }


def fairness_jitter(sirets: np.ndarray, officer_key: int | None) -> np.ndarray:
    """Deterministic pseudo-random [0, 1) per (officer, SIRET) (splitmix64 finaliser)."""
    n = len(sirets)
    if officer_key is None or n == 0:
        return np.zeros(n)
    try:
        digits = np.asarray(sirets)
        if digits.dtype != np.uint64:
            digits = digits.astype(str).astype(np.uint64)
    except ValueError:  # a malformed SIRET somewhere: slow path
        digits = np.array([int(s) if str(s).isdigit() else 0 for s in sirets], dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = digits ^ np.uint64((int(officer_key) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing the circle (for the SQL prefilter)."""
    dlat = radius_km / 111.2
    dlon = radius_km / (111.2 * max(0.01, np.cos(np.radians(lat))))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def radius_for(max_minutes: float, modes: Sequence[str]) -> float:
    """Search radius (km) for a learner: the distance reachable within the maximum commute."""
    from matching.commute import reachable_km

    return reachable_km(max_minutes, modes)


def score_establishments(
    est: EstablishmentArrays,
    *,
    origin: tuple[float, float],
    rome_codes: Sequence[str],
    table: RomeNafTable,
    modes: Sequence[str] = ("transit",),
    max_minutes: float = 45.0,
    radius_km: float | None = None,
    officer_key: int | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Scores (−inf = filtered out) and the per-criterion arrays, vectorised.

    Filtered out: no coordinates, NAF that never hires for the projects, beyond
    ``radius_km`` (if given) or beyond ``max_minutes`` by the fastest mode.
    """
    shares, _ = table.combined(rome_codes)
    n = len(est)
    if n == 0 or not shares:
        return np.full(n, -np.inf), {}
    top_share = max(shares.values())
    inverse, uniq = est.factorised("naf")
    share_u = np.array([shares.get(code, 0.0) for code in uniq])
    share = share_u[inverse]
    fit = share / top_share
    lat = est.latitude.astype(float)
    lon = est.longitude.astype(float)
    dist = haversine_km(origin[0], origin[1], lat, lon)
    minutes, mode_idx = commute_minutes(dist, modes)
    commute = np.clip(1.0 - minutes / max(1.0, max_minutes), 0.0, 1.0)
    inv_s, uniq_s = est.factorised("size_band")
    size = np.array([SIZE_WEIGHTS.get(b, 0.35) for b in uniq_s])[inv_s]
    score = W_FIT * fit + W_COMMUTE * commute + W_SIZE * size
    sirets = est.siret_numbers if est.siret_numbers is not None else est.siret
    score *= 1.0 - FAIRNESS_SPREAD * fairness_jitter(sirets, officer_key)
    keep = np.isfinite(dist) & (share > 0) & (minutes <= max_minutes)
    if radius_km is not None:
        keep &= dist <= radius_km
    score = np.where(keep, score, -np.inf)
    parts = {
        "fit": fit,
        "commute": commute,
        "size": size,
        "distance_km": dist,
        "minutes": minutes,
        "mode_idx": mode_idx,
    }
    return score, parts


def reasons_for(
    naf: str,
    naf_share: float,
    rome_label: str,
    minutes: float,
    mode: str,
    size_band: str,
) -> list[str]:
    """French reasons: « NAF 56.10A recrute 31 % des embauches « Serveur » », « 12 min … »."""
    out = [f"NAF {naf} recrute {naf_share * 100:.0f} % des embauches « {rome_label} »"]
    if np.isfinite(minutes):
        out.append(f"{minutes:.0f} min {MODE_LABELS_FR.get(mode, mode)}")
    out.append(SIZE_LABELS.get(size_band or "NN", "effectif non renseigné"))
    return out


def ranked_order(score: np.ndarray) -> np.ndarray:
    """Indexes of the kept establishments, best first (stable: ties keep SIRET order)."""
    kept = np.flatnonzero(np.isfinite(score))
    return kept[np.argsort(-score[kept], kind="stable")]


def build_prospect(
    est: EstablishmentArrays,
    i: int,
    score: np.ndarray,
    parts: dict[str, np.ndarray],
    *,
    rome_codes: Sequence[str],
    table: RomeNafTable,
    modes: Sequence[str],
    rome_labels: Mapping[str, str],
) -> Prospect:
    """The output record (with reasons) of establishment ``i``."""
    _, explains = table.combined(rome_codes)
    naf = str(est.naf[i])
    rome = explains.get(naf, rome_codes[0] if rome_codes else "")
    naf_share = table.shares.get(rome, {}).get(naf, 0.0)
    usable = [m for m in modes if m in MODE_LABELS_FR]
    idx = int(parts["mode_idx"][i])
    mode = usable[idx] if 0 <= idx < len(usable) else ""
    band = str(est.size_band[i] or "")
    return Prospect(
        siret=str(est.siret[i]),
        name=str(est.name[i]),
        naf=naf,
        size_band=band,
        commune=str(est.commune[i] or ""),
        latitude=float(est.latitude[i]),
        longitude=float(est.longitude[i]),
        distance_km=float(parts["distance_km"][i]),
        minutes=float(parts["minutes"][i]),
        mode=mode,
        score=float(score[i]),
        fit=float(parts["fit"][i]),
        commute_score=float(parts["commute"][i]),
        size_score=float(parts["size"][i]),
        naf_share=naf_share,
        rome=rome,
        reasons=reasons_for(
            naf, naf_share, rome_labels.get(rome, rome), parts["minutes"][i], mode, band
        ),
        extra={k: v[i] for k, v in est.extra.items()},
    )


def naive_rank(
    records: Sequence[dict],
    *,
    origin: tuple[float, float],
    rome_codes: Sequence[str],
    table: RomeNafTable,
    modes: Sequence[str] = ("transit",),
    max_minutes: float = 45.0,
    radius_km: float | None = None,
    officer_key: int | None = None,
    top: int = 20,
) -> list[tuple[str, float]]:
    """Baseline for the benchmark: a Python loop over every establishment, same formula."""
    import math

    shares, _ = table.combined(rome_codes)
    if not shares:
        return []
    top_share = max(shares.values())
    out = []
    for r in records:
        share = shares.get(r["naf"] or "", 0.0)
        if share <= 0 or r["latitude"] is None or r["longitude"] is None:
            continue
        p1, p2 = math.radians(origin[0]), math.radians(r["latitude"])
        dphi = p2 - p1
        dl = math.radians(r["longitude"] - origin[1])
        a = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        dist = 2 * 6371.0088 * math.asin(math.sqrt(a))
        if radius_km is not None and dist > radius_km:
            continue
        minutes = float(commute_minutes(dist, modes)[0])
        if minutes > max_minutes:
            continue
        commute = min(1.0, max(0.0, 1 - minutes / max(1.0, max_minutes)))
        size = SIZE_WEIGHTS.get(r["size_band"] or "", 0.35)
        score = W_FIT * share / top_share + W_COMMUTE * commute + W_SIZE * size
        if officer_key is not None:
            jit = fairness_jitter(np.array([r["siret"]]), officer_key)[0]
            score *= 1 - FAIRNESS_SPREAD * jit
        out.append((r["siret"], score))
    out.sort(key=lambda t: -t[1])
    return out[:top]
