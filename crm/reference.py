"""Reference data shipped in data/: ROME jobs, skills, communes.

Loaded once per process (communes) or into the database (ROME, skills) by
``passerelle db upgrade`` / ``passerelle demo``.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.config import DATA_DIR
from crm.models import RomeJob, Skill


def _rows(name: str) -> list[dict[str, str]]:
    path = Path(DATA_DIR) / name
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _fold_slow(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in stripped).split())


def _latin_table() -> dict[int, str]:
    """Accented Latin letters (U+00C0-U+024F) to their ASCII base letters."""
    table = {}
    for code in range(0xC0, 0x250):
        base = "".join(
            c for c in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(c)
        )
        if base != chr(code) and base.isascii():
            table[code] = base
    return table


_LATIN = _latin_table()
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str | None) -> str:
    """Lower-case, strip accents and punctuation runs: for comparing names.

    Fast path (most names): accented Latin letters by a table, then ASCII only; any
    other character takes the general path (NFKD, combining marks dropped), which
    gives the same result.
    """
    if not text:
        return ""
    if not text.isascii():
        text = text.translate(_LATIN)
        if not text.isascii():
            return _fold_slow(text)
    return " ".join(_NOT_ALNUM.sub(" ", text.lower()).split())


@dataclass(frozen=True)
class Commune:
    insee: str
    name: str
    postcodes: tuple[str, ...]
    department: str
    latitude: float
    longitude: float
    population: int


@functools.cache
def communes() -> tuple[Commune, ...]:
    out = []
    for r in _rows("communes.csv"):
        out.append(
            Commune(
                insee=r["insee"],
                name=r["name"],
                postcodes=tuple(p for p in r["postcodes"].split(";") if p),
                department=r["department"],
                latitude=float(r["latitude"]),
                longitude=float(r["longitude"]),
                population=int(r["population"] or 0),
            )
        )
    return tuple(out)


@functools.cache
def _commune_index() -> tuple[dict[str, list[Commune]], dict[str, list[Commune]]]:
    by_name: dict[str, list[Commune]] = {}
    by_postcode: dict[str, list[Commune]] = {}
    for c in communes():
        key = fold(c.name).replace("saint ", "st ").replace("sainte ", "ste ")
        by_name.setdefault(key, []).append(c)
        for p in c.postcodes:
            by_postcode.setdefault(p, []).append(c)
    return by_name, by_postcode


def find_commune(city: str | None, postcode: str | None = None) -> Commune | None:
    """The commune named ``city`` (accents/case/"St" tolerant), disambiguated by postcode."""
    by_name, by_postcode = _commune_index()
    key = fold(city).replace("saint ", "st ").replace("sainte ", "ste ") if city else ""
    candidates = by_name.get(key, []) if key else []
    if postcode:
        postcode = postcode.strip()
        in_pc = [c for c in candidates if postcode in c.postcodes]
        if in_pc:
            return in_pc[0]
        if not candidates:
            by_pc = by_postcode.get(postcode, [])
            # A postcode alone places the address only if it names one commune.
            return by_pc[0] if len(by_pc) == 1 else None
        dept = postcode[:2]
        in_dept = [c for c in candidates if c.department == dept]
        if in_dept:
            return in_dept[0]
    if candidates:
        return max(candidates, key=lambda c: c.population)
    return None


@functools.cache
def rome_jobs() -> tuple[dict[str, str], ...]:
    return tuple(_rows("rome.csv"))


@functools.cache
def rome_labels() -> dict[str, str]:
    return {r["code"]: r["label"] for r in rome_jobs()}


@functools.cache
def skill_rows() -> tuple[dict[str, str], ...]:
    return tuple(_rows("skills.csv"))


def load_reference_tables(session: Session) -> dict[str, int]:
    """Insert or update the ROME and skills referentials; returns rows added."""
    added = {"rome_jobs": 0, "skills": 0}
    existing = {j.code: j for j in session.scalars(select(RomeJob))}
    for r in rome_jobs():
        job = existing.get(r["code"])
        values = dict(
            label=r["label"],
            domain=r["domain"] or r["code"][0],
            domain_label=r.get("domain_label") or None,
            group=r["group"] or r["code"][:3],
            group_label=r.get("group_label") or None,
        )
        if job is None:
            session.add(RomeJob(code=r["code"], **values))
            added["rome_jobs"] += 1
        else:
            for k, v in values.items():
                setattr(job, k, v)
    known = {s.label for s in session.scalars(select(Skill))}
    for r in skill_rows():
        if r["label"] not in known:
            session.add(Skill(label=r["label"], category=r.get("category") or None))
            known.add(r["label"])
            added["skills"] += 1
    session.flush()
    return added
