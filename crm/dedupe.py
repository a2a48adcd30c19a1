"""Duplicate company detection: blocking, pair scoring with evidence.

Pure functions over plain records (dicts with id, ref, name, siret, phone,
email, website, address, postcode, city): no database here, so the benchmark
(benchmarks/dedupe.py) and the services share one implementation.

Rules (precision first: a wrong merge loses history)
- same SIRET: duplicate, whatever the rest says;
- two different SIRETs: two establishments (same SIREN = one chain's branches),
  never a duplicate;
- otherwise the similarity of the cleaned names (legal forms, accents,
  abbreviations removed) is the base, corrected by the rest of the evidence:
  same phone, same address, same e-mail domain raise it; another town or
  another street address lowers it.

Blocking keeps the pairs to score near-linear in the number of companies:
records are compared only when they share the SIRET, the phone, a non-generic
e-mail/web domain, a (postcode, name token) pair, a (town, name token) pair, or
are neighbours in the list sorted by cleaned name (sorted neighbourhood).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from crm.reference import fold

DEFAULT_THRESHOLD = 0.9

LEGAL_FORMS = {
    "sarl",
    "sas",
    "sasu",
    "eurl",
    "sa",
    "sci",
    "snc",
    "scop",
    "sca",
    "selarl",
    "scm",
    "gie",
    "ei",
    "eirl",
    "ets",
    "etablissements",
    "etablissement",
    "ste",
    "societe",
    "cie",
    "compagnie",
    "et",
    "groupe",
}
STOPWORDS = {"de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "en", "sur", "chez"}
NAME_ABBREVIATIONS = {
    "st": "saint",
    "ste": "sainte",
    "bd": "boulevard",
    "boul": "boulangerie",
    "boulang": "boulangerie",
    "patiss": "patisserie",
    "pharm": "pharmacie",
    "hot": "hotel",
    "rest": "restaurant",
    "resto": "restaurant",
    "gge": "garage",
    "transp": "transports",
    "ent": "entreprise",
    "intl": "international",
    "mgr": "monseigneur",
    "dr": "docteur",
}
STREET_ABBREVIATIONS = {
    "av": "avenue",
    "ave": "avenue",
    "bd": "boulevard",
    "bld": "boulevard",
    "boul": "boulevard",
    "r": "rue",
    "ch": "chemin",
    "che": "chemin",
    "chem": "chemin",
    "pl": "place",
    "rte": "route",
    "imp": "impasse",
    "all": "allee",
    "crs": "cours",
    "qu": "quai",
    "za": "zone activite",
    "zac": "zone activite",
    "zi": "zone industrielle",
    "st": "saint",
    "ste": "sainte",
    "fg": "faubourg",
    "fbg": "faubourg",
    "res": "residence",
    "lot": "lotissement",
    "bis": "",
    "ter": "",
}
GENERIC_DOMAINS = {
    "gmail.com",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "hotmail.com",
    "hotmail.fr",
    "yahoo.fr",
    "yahoo.com",
    "laposte.net",
    "sfr.fr",
    "outlook.fr",
    "outlook.com",
    "live.fr",
    "icloud.com",
    "neuf.fr",
    "aol.com",
    "bbox.fr",
    "club-internet.fr",
}


def clean_name(name: str | None) -> str:
    """Folded name without legal forms, stop words and common abbreviations."""
    words = []
    for w in fold(name).split():
        w = NAME_ABBREVIATIONS.get(w, w)
        if w in LEGAL_FORMS or w in STOPWORDS:
            continue
        words.append(w)
    return " ".join(words) or fold(name)


def clean_address(address: str | None) -> str:
    words = []
    for w in fold(address).split():
        w = STREET_ABBREVIATIONS.get(w, w)
        if w and w not in STOPWORDS:
            words.append(w)
    return " ".join(words)


def digits(text: str | None) -> str:
    return "".join(c for c in (text or "") if c.isdigit())


def clean_phone(phone: str | None) -> str:
    d = digits(phone)
    if d.startswith("33") and len(d) == 11:
        d = "0" + d[2:]
    if d.startswith("0033"):
        d = "0" + d[4:]
    return d if len(d) == 10 else ""


def domain_of(email: str | None, website: str | None = None) -> str:
    """A non-generic domain of the company (e-mail domain, else website host)."""
    dom = ""
    if email and "@" in email:
        dom = email.rsplit("@", 1)[1].strip().lower()
    elif website:
        host = re.sub(r"^[a-z]+://", "", website.strip().lower()).split("/")[0]
        dom = host[4:] if host.startswith("www.") else host
    return "" if dom in GENERIC_DOMAINS else dom


@dataclass
class Prepared:
    index: int
    id: object
    ref: str | None
    name: str
    siret: str
    siren: str
    phone: str
    domain: str
    address: str
    house_number: str
    postcode: str
    city: str
    tokens: tuple[str, ...] = field(default_factory=tuple)


def prepare(records: Sequence[dict]) -> list[Prepared]:
    out = []
    for i, r in enumerate(records):
        name = clean_name(r.get("name"))
        siret = digits(r.get("siret"))
        siret = siret if len(siret) == 14 else ""
        address = clean_address(r.get("address"))
        m = re.match(r"(\d+)", address)
        out.append(
            Prepared(
                index=i,
                id=r.get("id", i),
                ref=r.get("ref"),
                name=name,
                siret=siret,
                siren=siret[:9],
                phone=clean_phone(r.get("phone")),
                domain=domain_of(r.get("email"), r.get("website")),
                address=address,
                house_number=m.group(1) if m else "",
                postcode=digits(r.get("postcode"))[:5],
                city=fold(r.get("city")).replace("saint ", "st ").replace("sainte ", "ste "),
                tokens=tuple(sorted({t for t in name.split() if len(t) >= 3})),
            )
        )
    return out


# --------------------------------------------------------------------------- scoring


def score_pair(a: Prepared, b: Prepared) -> tuple[float, list[str]]:
    """Duplicate likelihood in [0, 1] and the French evidence behind it."""
    evidence: list[str] = []
    if a.siret and b.siret:
        if a.siret == b.siret:
            return 1.0, ["même SIRET"]
        if a.siren == b.siren:
            return 0.0, ["même SIREN, autre établissement (chaîne)"]
        return 0.0, ["SIRET différents"]
    if not a.name or not b.name:
        return 0.0, []
    sort_sim = fuzz.token_sort_ratio(a.name, b.name)
    set_sim = fuzz.token_set_ratio(a.name, b.name)
    name_sim = max(sort_sim, 0.92 * set_sim) / 100.0
    score = name_sim
    if name_sim >= 0.999:
        evidence.append("même nom")
    elif name_sim >= 0.8:
        evidence.append(f"nom proche ({name_sim:.0%})")
    if a.phone and b.phone:
        if a.phone == b.phone:
            score += 0.25
            evidence.append("même téléphone")
        else:
            score -= 0.1
    same_town = bool((a.postcode and a.postcode == b.postcode) or (a.city and a.city == b.city))
    other_town = bool(
        (a.postcode and b.postcode and a.postcode != b.postcode)
        and not (a.city and a.city == b.city)
    ) or bool(
        a.city and b.city and a.city != b.city and not (a.postcode and a.postcode == b.postcode)
    )
    if a.address and b.address:
        addr_sim = fuzz.token_sort_ratio(a.address, b.address) / 100.0
        numbers_differ = a.house_number and b.house_number and a.house_number != b.house_number
        if addr_sim >= 0.85 and not numbers_differ and not other_town:
            score += 0.2
            evidence.append("même adresse" if addr_sim > 0.99 else "adresse proche")
        elif addr_sim < 0.7 or numbers_differ:
            score -= 0.3
            evidence.append("adresses différentes")
    if same_town:
        score += 0.03
        evidence.append("même code postal" if a.postcode == b.postcode else "même ville")
    elif other_town:
        score -= 0.35
        evidence.append("villes différentes")
    if a.domain and b.domain:
        if a.domain == b.domain:
            score += 0.15
            evidence.append("même domaine e-mail/site")
        else:
            score -= 0.05
    if (a.siret or b.siret) and not (a.siret and b.siret):
        evidence.append("SIRET manquant d'un côté")
    return max(0.0, min(1.0, score)), evidence


# --------------------------------------------------------------------------- blocking


def candidate_pairs(
    prepared: Sequence[Prepared], window: int = 6, max_block: int = 120
) -> set[tuple[int, int]]:
    """Index pairs (i < j) worth scoring."""
    blocks: dict[tuple, list[int]] = defaultdict(list)
    token_df: dict[str, int] = defaultdict(int)
    for p in prepared:
        for t in p.tokens:
            token_df[t] += 1
    for p in prepared:
        if p.siret:
            blocks[("siret", p.siret)].append(p.index)
        if p.phone:
            blocks[("phone", p.phone)].append(p.index)
        if p.domain:
            blocks[("domain", p.domain)].append(p.index)
        where = [("pc", p.postcode)] if p.postcode else []
        if p.city:
            where.append(("city", p.city))
        if not where:
            where = [("nowhere", "")]
        # The two rarest tokens of the name: one typo leaves the other.
        rare = sorted(p.tokens, key=lambda t: (token_df[t], t))[:2] or [p.name[:4]]
        for w in where:
            for t in rare:
                blocks[(*w, t)].append(p.index)
            # A typo inside every token: the first 3 letters still often agree.
            blocks[(*w, "pfx", p.name[:3])].append(p.index)
            if p.address:
                blocks[(*w, "addr", p.address)].append(p.index)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2:
            continue
        if len(members) > max_block:
            members = sorted(members, key=lambda i: prepared[i].name)
            for k, i in enumerate(members):
                for j in members[k + 1 : k + 1 + window]:
                    pairs.add((i, j) if i < j else (j, i))
            continue
        for k, i in enumerate(members):
            for j in members[k + 1 :]:
                pairs.add((i, j) if i < j else (j, i))
    # Sorted neighbourhood over the cleaned names (catches a changed postcode).
    order = sorted(range(len(prepared)), key=lambda i: prepared[i].name)
    for k, i in enumerate(order):
        for j in order[k + 1 : k + 1 + window]:
            pairs.add((i, j) if i < j else (j, i))
    return pairs


@dataclass
class DuplicatePair:
    a: int  # index in the records
    b: int
    id_a: object
    id_b: object
    ref_a: str | None
    ref_b: str | None
    score: float
    evidence: list[str]


def find_duplicates(
    records: Sequence[dict], threshold: float = DEFAULT_THRESHOLD, prepared=None
) -> list[DuplicatePair]:
    """Candidate duplicate pairs, best first."""
    prepared = prepared or prepare(records)
    out = []
    for i, j in candidate_pairs(prepared):
        s, ev = score_pair(prepared[i], prepared[j])
        if s >= threshold:
            a, b = prepared[i], prepared[j]
            out.append(DuplicatePair(i, j, a.id, b.id, a.ref, b.ref, round(s, 3), ev))
    out.sort(key=lambda p: (-p.score, str(p.ref_a or p.id_a), str(p.ref_b or p.id_b)))
    return out


def naive_duplicates(
    records: Sequence[dict], threshold: float = DEFAULT_THRESHOLD
) -> list[DuplicatePair]:
    """All-pairs baseline (quadratic): for the benchmark only."""
    prepared = prepare(records)
    out = []
    n = len(prepared)
    for i in range(n):
        for j in range(i + 1, n):
            s, ev = score_pair(prepared[i], prepared[j])
            if s >= threshold:
                a, b = prepared[i], prepared[j]
                out.append(DuplicatePair(i, j, a.id, b.id, a.ref, b.ref, round(s, 3), ev))
    return out


def matches_for(
    record: dict, records: Sequence[dict], threshold: float = 0.75, limit: int = 5
) -> list[tuple[int, float, list[str]]]:
    """Existing ``records`` (indexes) that ``record`` probably duplicates, best first."""
    if not records:
        return []
    prepared = prepare([*records, record])
    new = prepared[-1]
    others = prepared[:-1]
    candidates: set[int] = set()
    for p in others:
        if (
            (new.siret and p.siret == new.siret)
            or (new.phone and p.phone == new.phone)
            or (new.domain and p.domain == new.domain)
        ):
            candidates.add(p.index)
    names = [p.name for p in others]
    for _, _, idx in process.extract(
        new.name, names, scorer=fuzz.token_sort_ratio, score_cutoff=70, limit=50
    ):
        candidates.add(idx)
    out = []
    for idx in candidates:
        s, ev = score_pair(new, others[idx])
        if s >= threshold:
            out.append((idx, round(s, 3), ev))
    out.sort(key=lambda t: -t[1])
    return out[:limit]


def pairs_as_rows(pairs: Iterable[DuplicatePair]) -> list[dict]:
    return [
        {
            "ref_a": p.ref_a or p.id_a,
            "ref_b": p.ref_b or p.id_b,
            "score": p.score,
            "evidence": "; ".join(p.evidence),
        }
        for p in pairs
    ]


# --------------------------------------------------------------------------- database side

RECORD_FIELDS = ("name", "siret", "phone", "email", "website", "address", "postcode", "city")


def company_records(session, include_retired: bool = False) -> list[dict]:
    """Live companies as plain records for the functions above."""
    from sqlalchemy import select

    from crm.models import Company

    cols = [Company.id, Company.ref, Company.site_id, *(getattr(Company, f) for f in RECORD_FIELDS)]
    stmt = select(*cols)
    if not include_retired:
        stmt = stmt.where(Company.is_live)
    return [dict(row._mapping) for row in session.execute(stmt.order_by(Company.id))]


@dataclass
class LikelyDuplicate:
    company_id: int
    ref: str | None
    name: str
    score: float
    evidence: list[str]


def likely_duplicates(
    session, fields: dict, threshold: float = 0.75, exclude_id: int | None = None
) -> list[LikelyDuplicate]:
    """Existing companies that a company with ``fields`` probably duplicates (warn before saving)."""
    records = [r for r in company_records(session) if r["id"] != exclude_id]
    if fields.get("ref"):
        records = [r for r in records if r["ref"] != fields["ref"]]
    record = {
        k: (str(fields[k]) if fields.get(k) is not None else None)
        for k in RECORD_FIELDS
        if k in fields
    }
    if not record.get("name"):
        return []
    return [
        LikelyDuplicate(records[i]["id"], records[i]["ref"], records[i]["name"], s, ev)
        for i, s, ev in matches_for(record, records, threshold)
    ]
