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

import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
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


@dataclass(slots=True)
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


def _towns(a: Prepared, b: Prepared) -> tuple[bool, bool]:
    """(same town, other town): by postcode or by name, either agreeing is enough."""
    same_pc = bool(a.postcode and a.postcode == b.postcode)
    same_city = bool(a.city and a.city == b.city)
    other = bool(a.postcode and b.postcode and not same_pc and not same_city) or bool(
        a.city and b.city and not same_city and not same_pc
    )
    return same_pc or same_city, other


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
    same_town, other_town = _towns(a, b)
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


def _key_families(prepared: Sequence[Prepared]) -> list[Callable[[Prepared], tuple]]:
    """A record's blocking keys, family by family (siret, phone, domain, rare name
    token, name prefix, address): blocks are built one family at a time."""
    token_df: dict[str, int] = defaultdict(int)
    for p in prepared:
        for t in p.tokens:
            token_df[t] += 1

    def where(p: Prepared) -> list[tuple[str, str]]:
        out = [("pc", p.postcode)] if p.postcode else []
        if p.city:
            out.append(("city", p.city))
        return out or [("nowhere", "")]

    def rare(p: Prepared) -> list[str]:
        # The two rarest tokens of the name: one typo leaves the other.
        return sorted(p.tokens, key=lambda t: (token_df[t], t))[:2] or [p.name[:4]]

    return [
        lambda p: (p.siret,) if p.siret else (),
        lambda p: (p.phone,) if p.phone else (),
        lambda p: (p.domain,) if p.domain else (),
        lambda p: tuple((*w, t) for w in where(p) for t in rare(p)),
        # A typo inside every token: the first 3 letters still often agree.
        lambda p: tuple((*w, p.name[:3]) for w in where(p)),
        lambda p: tuple((*w, p.address) for w in where(p)) if p.address else (),
    ]


def _blocks(prepared: Sequence[Prepared], wanted: Iterable[int] | None = None) -> list[list[int]]:
    """Blocks of two or more records (indexes in record order), by the keys above.

    With ``wanted`` (indexes), only the blocks holding one of them: every record
    sharing such a key is still in its block, so a block is the same as without it.
    """
    wanted = None if wanted is None else list(wanted)
    if wanted is not None and len(wanted) == len(prepared):
        wanted = None  # every record: every block
    out: list[list[int]] = []
    indexes = list(range(len(prepared)))  # one int object per record, shared by the blocks
    for keys_of in _key_families(prepared):
        keep = None if wanted is None else {k for i in wanted for k in keys_of(prepared[i])}
        # key -> its first record, a list from the second one (most keys stay single).
        blocks: dict[tuple, int | list[int]] = {}
        for i, p in zip(indexes, prepared, strict=True):
            for k in keys_of(p):
                if keep is not None and k not in keep:
                    continue
                seen = blocks.get(k)
                if seen is None:
                    blocks[k] = i
                elif type(seen) is int:
                    blocks[k] = [seen, i]
                else:
                    seen.append(i)
        out.extend(m for m in blocks.values() if type(m) is list)
    return out


def _name_order(prepared: Sequence[Prepared], members: Iterable[int]) -> list[int]:
    return sorted(members, key=lambda i: prepared[i].name)


def candidate_pairs(
    prepared: Sequence[Prepared], window: int = 6, max_block: int = 120
) -> set[tuple[int, int]]:
    """Index pairs (i < j) worth scoring."""
    pairs: set[tuple[int, int]] = set()
    for members in _blocks(prepared):
        if len(members) > max_block:
            members = _name_order(prepared, members)
            for k, i in enumerate(members):
                for j in members[k + 1 : k + 1 + window]:
                    pairs.add((i, j) if i < j else (j, i))
            continue
        for k, i in enumerate(members):
            for j in members[k + 1 :]:
                pairs.add((i, j) if i < j else (j, i))
    # Sorted neighbourhood over the cleaned names (catches a changed postcode).
    order = _name_order(prepared, range(len(prepared)))
    for k, i in enumerate(order):
        for j in order[k + 1 : k + 1 + window]:
            pairs.add((i, j) if i < j else (j, i))
    return pairs


def pairs_touching(
    prepared: Sequence[Prepared],
    new: Iterable[int],
    window: int = 6,
    max_block: int = 120,
    budget: int = 250_000,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The pairs of :func:`candidate_pairs` with at least one index in ``new``, streamed.

    For an import: only the blocks of the new records are built, and the pairs come
    as arrays ``(a, b)`` (``a < b``), about ``budget`` candidate partners at a time,
    never as a set of all pairs. Each pair comes once: from its new record, or from
    the smaller of two new records.

    The blocks are laid end to end in one array (the list in name order last, as a
    block where only name neighbours pair up, like every block over ``max_block``);
    each (new record, block) is a range of that array: its whole block, or its
    ``window`` neighbours on either side.
    """
    new = np.unique(np.fromiter(new, dtype=np.int64))
    if not len(new):
        return
    n = len(prepared)
    is_new = np.zeros(n, dtype=bool)
    is_new[new] = True
    members = _blocks(prepared, new.tolist())
    large = np.array([len(m) > max_block for m in members] + [True])
    members = [_name_order(prepared, m) if len(m) > max_block else m for m in members]
    members.append(_name_order(prepared, range(n)))
    sizes = np.fromiter((len(m) for m in members), dtype=np.int64, count=len(members))
    flat = np.fromiter(itertools.chain.from_iterable(members), dtype=np.int64, count=sizes.sum())
    del members
    starts = np.cumsum(sizes) - sizes
    where = np.flatnonzero(is_new[flat])  # the new records' places in the blocks
    block = np.repeat(np.arange(len(sizes)), sizes)[where]
    pos = where - starts[block]
    rec = flat[where]
    big = large[block]
    lo = starts[block] + np.where(big, np.maximum(0, pos - window), 0)
    hi = starts[block] + np.where(big, np.minimum(sizes[block], pos + window + 1), sizes[block])
    order = np.argsort(rec, kind="stable")
    rec, lo, hi = rec[order], lo[order], hi[order]
    del where, block, pos, big, order
    reach = np.cumsum(hi - lo)
    a = 0
    while a < len(rec):
        # Up to ``budget`` partners, ending with a whole record (its pairs come once).
        b = int(np.searchsorted(reach, reach[a] - (hi[a] - lo[a]) + budget, side="right"))
        b = max(b, a + 1)
        b = int(np.searchsorted(rec, rec[b - 1], side="right"))
        span = hi[a:b] - lo[a:b]
        owner = np.repeat(rec[a:b], span)
        offsets = np.repeat(lo[a:b] - (np.cumsum(span) - span), span)
        partner = flat[np.arange(len(owner)) + offsets]
        keep = (partner != owner) & ~(is_new[partner] & (partner < owner))
        owner, partner = owner[keep], partner[keep]
        codes = np.unique(np.minimum(owner, partner) * n + np.maximum(owner, partner))
        yield codes // n, codes % n
        a = b


def duplicates_touching(
    prepared: Sequence[Prepared], new: Iterable[int], threshold: float = DEFAULT_THRESHOLD
) -> Iterator[tuple[int, int, float, list[str]]]:
    """``(i, j, score, evidence)`` of the pairs touching ``new`` that reach ``threshold``.

    The same pairs and scores as :func:`find_duplicates` restricted to pairs with a
    new record, without its set of all pairs: :func:`pairs_touching` streams them
    and a vectorised upper bound of the score (:meth:`_Codes.may_reach`) drops, before
    any string comparison, the pairs that cannot reach the threshold.
    """
    codes = _Codes(prepared)
    for a, b in pairs_touching(prepared, new):
        if threshold > 0:
            keep = codes.may_reach(a, b, threshold)
            a, b = a[keep], b[keep]
        for i, j in zip(a.tolist(), b.tolist(), strict=True):
            hit = score_if_reachable(prepared[i], prepared[j], threshold)
            if hit is not None:
                yield i, j, hit[0], hit[1]


class _Codes:
    """The records' fields as integer codes (-1: missing), for vectorised bounds."""

    def __init__(self, prepared: Sequence[Prepared]):
        def code(values) -> np.ndarray:
            seen: dict[str, int] = {}
            return np.fromiter(
                (seen.setdefault(v, len(seen)) if v else -1 for v in values),
                dtype=np.int64,
                count=len(prepared),
            )

        self.siret = code(p.siret for p in prepared)
        self.phone = code(p.phone for p in prepared)
        self.postcode = code(p.postcode for p in prepared)
        self.city = code(p.city for p in prepared)
        self.domain = code(p.domain for p in prepared)
        self.number = code(p.house_number for p in prepared)
        self.address = np.fromiter((bool(p.address) for p in prepared), dtype=bool)
        self.named = np.fromiter((bool(p.name) for p in prepared), dtype=bool)

    def may_reach(self, a: np.ndarray, b: np.ndarray, threshold: float) -> np.ndarray:
        """False where :func:`score_pair` is surely below ``threshold`` (> 0)."""

        def both(x):
            return (x[a] >= 0) & (x[b] >= 0)

        def same(x):
            return (x[a] >= 0) & (x[a] == x[b])

        sirets = both(self.siret)
        bonus = np.zeros(len(a))
        phones = both(self.phone)
        bonus += np.where(phones, np.where(same(self.phone), 0.25, -0.1), 0.0)
        same_town = same(self.postcode) | same(self.city)
        other_town = (both(self.postcode) & ~same(self.postcode) & ~same(self.city)) | (
            both(self.city) & ~same(self.city) & ~same(self.postcode)
        )
        numbers_differ = both(self.number) & ~same(self.number)
        addresses = self.address[a] & self.address[b]
        bonus += np.where(
            addresses, np.where(numbers_differ, -0.3, np.where(other_town, 0.0, 0.2)), 0.0
        )
        bonus += np.where(same_town, 0.03, np.where(other_town, -0.35, 0.0))
        bonus += np.where(both(self.domain), np.where(same(self.domain), 0.15, -0.05), 0.0)
        by_name = ~sirets & self.named[a] & self.named[b] & (1.0 + bonus >= threshold - 1e-6)
        return by_name | (sirets & same(self.siret))


def score_if_reachable(
    a: Prepared, b: Prepared, threshold: float
) -> tuple[float, list[str]] | None:
    """:func:`score_pair` when the pair can reach ``threshold``, else None (cheaply).

    The rest of the evidence (phone, address, town, domain) can add at most a known
    amount to the name similarity; the name scorers then run with the cut-off this
    leaves, and give up early below it. Exact: a pair skipped here scores below
    ``threshold`` in :func:`score_pair`.
    """
    if (a.siret and b.siret) or not a.name or not b.name or threshold <= 0:
        s, ev = score_pair(a, b)
        return (s, ev) if s >= threshold else None
    bonus = 0.0
    if a.phone and b.phone:
        bonus += 0.25 if a.phone == b.phone else -0.1
    same_town, other_town = _towns(a, b)
    if a.address and b.address:
        if a.house_number and b.house_number and a.house_number != b.house_number:
            bonus -= 0.3
        elif not other_town:
            bonus += 0.2
    if same_town:
        bonus += 0.03
    elif other_town:
        bonus -= 0.35
    if a.domain and b.domain:
        bonus += 0.15 if a.domain == b.domain else -0.05
    need = (threshold - bonus) * 100 - 0.01  # name similarity needed, in %, with a margin
    if need > 100:
        return None
    if need > 0:
        sort_sim = fuzz.token_sort_ratio(a.name, b.name, score_cutoff=need)
        if not sort_sim and not fuzz.token_set_ratio(a.name, b.name, score_cutoff=need / 0.92):
            return None
    s, ev = score_pair(a, b)
    return (s, ev) if s >= threshold else None


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
        hit = score_if_reachable(prepared[i], prepared[j], threshold)
        if hit is not None:
            a, b = prepared[i], prepared[j]
            out.append(DuplicatePair(i, j, a.id, b.id, a.ref, b.ref, round(hit[0], 3), hit[1]))
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
