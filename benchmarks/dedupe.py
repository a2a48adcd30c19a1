"""Duplicate detection benchmark: quality on a labelled set, speed at 50,000 companies.

    python -m benchmarks.dedupe [--entities 1500] [--scale 50000] [--naive-sample 1500] [--seed 7]

1. Quality. A labelled set of realistic French company records is generated:
   entities (craft shops, garages, restaurants... named after French surnames,
   placed in real communes) plus, for a share of them, 1-3 dirty copies
   (typos, accents and case lost, legal form SARL/SAS/EURL added, dropped or
   moved, abbreviations "Ets", "Boul.", "St", "av.", "bd", phone in another
   format, missing SIRET/phone/address/postcode). Hard negatives are added:
   branches of chains (same SIREN, other SIRET and address; also without SIRET,
   same name in the same or another town) and homonyms (same trade and surname
   in another town, or another street of the same town). Precision, recall
   and F1 are computed over pairs against the labels.
2. Speed. ``find_duplicates`` (blocking) runs on ``--scale`` records; the naive
   all-pairs baseline is measured on a ``--naive-sample`` subsample in the same
   run and extrapolated quadratically to the full size (stated as such).
"""

from __future__ import annotations

import argparse
import random
import string
import time

from crm.dedupe import DEFAULT_THRESHOLD, find_duplicates, naive_duplicates, prepare
from crm.reference import communes

TRADES = [
    "Boulangerie",
    "Boulangerie Pâtisserie",
    "Garage",
    "Pharmacie",
    "Restaurant",
    "Hôtel",
    "Transports",
    "Plomberie",
    "Coiffure",
    "Boucherie",
    "Menuiserie",
    "Électricité",
    "Fleuriste",
    "Auto-école",
    "Carrosserie",
    "Maçonnerie",
    "Peinture",
    "Épicerie",
    "Cave",
    "Imprimerie",
    "Traiteur",
    "Crèche",
    "Paysagiste",
    "Quincaillerie",
    "Optique",
]
SURNAMES = [
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Faure",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Masson",
    "Marchand",
    "Duval",
    "Denis",
    "Dumont",
    "Lemaire",
    "Noël",
    "Meyer",
    "Dufour",
    "Meunier",
    "Brun",
    "Blanchard",
    "Giraud",
    "Joly",
    "Rivière",
    "Lucas",
    "Brunet",
    "Gaillard",
    "Barbier",
    "Arnaud",
    "Martinez",
    "Gérard",
    "Roche",
    "Renard",
    "Schmitt",
    "Roy",
    "Leroux",
    "Colin",
    "Vidal",
    "Caron",
    "Picard",
    "Roger",
    "Fabre",
    "Aubert",
    "Lemoine",
    "Renaud",
    "Dumas",
    "Lacroix",
    "Olivier",
    "Philippe",
    "Bourgeois",
    "Pierre",
    "Benoît",
    "Rey",
    "Leclerc",
    "Payet",
    "Rolland",
    "Guillaume",
    "Lecomte",
    "Lopez",
    "Jean",
    "Dupuy",
    "Guillot",
    "Hubert",
    "Berger",
    "Carpentier",
    "Sanchez",
    "Dupré",
    "Moulin",
    "Louis",
    "Deschamps",
    "Huet",
    "Vasseur",
    "Perez",
    "Boucher",
    "Fleury",
    "Royer",
    "Klein",
    "Jacquet",
    "Adam",
    "Poirier",
    "Marty",
    "Aubry",
    "Guyot",
    "Carré",
    "Charles",
    "Renault",
    "Charpentier",
    "Ménard",
    "Maillard",
    "Baron",
    "Bertin",
    "Bailly",
    "Hervé",
    "Schneider",
    "Fernandez",
    "Collet",
    "Léger",
    "Bouvier",
    "Julien",
    "Prévost",
    "Millet",
    "Perrot",
    "Daniel",
    "Cousin",
    "Germain",
    "Breton",
    "Besson",
    "Langlois",
    "Rémy",
    "Pelletier",
    "Lévêque",
    "Perrier",
    "Leblanc",
    "Barré",
    "Lebrun",
    "Marchal",
    "Weber",
    "Mallet",
    "Hamon",
    "Jacob",
    "Monnier",
    "Michaud",
    "Rodriguez",
    "Guichard",
    "Gillet",
    "Étienne",
    "Grondin",
    "Poulain",
    "Tessier",
    "Chauvin",
    "Bouchet",
    "Gay",
    "Lemaître",
    "Bénard",
    "Maréchal",
    "Humbert",
    "Reynaud",
    "Antoine",
    "Hoarau",
    "Perret",
    "Barthélemy",
    "Cordier",
    "Pichon",
    "Lejeune",
    "Gilbert",
    "Lamy",
    "Delaunay",
    "Pasquier",
    "Carlier",
    "Laporte",
]
CHAINS = [
    "Carrefour Market",
    "Intermarché",
    "Point S",
    "Speedy",
    "Norauto",
    "Crédit Agricole",
    "Pharmacie Lafayette",
    "Feu Vert",
    "Franck Provost",
    "Biocoop",
    "Boulangerie Ange",
    "Buffalo Grill",
    "Kiabi",
    "Picard Surgelés",
    "Gamm Vert",
]
STREET_TYPES = [
    ("avenue", "av."),
    ("boulevard", "bd"),
    ("rue", "r."),
    ("chemin", "ch."),
    ("place", "pl."),
    ("route", "rte"),
    ("impasse", "imp."),
    ("allée", "all."),
]
STREET_NAMES = [
    "de la République",
    "Jean Jaurès",
    "du Général de Gaulle",
    "Victor Hugo",
    "de la Gare",
    "des Lilas",
    "Pasteur",
    "Gambetta",
    "du Port",
    "Saint-Roch",
    "de la Liberté",
    "Foch",
    "des Écoles",
    "Frédéric Mistral",
    "du Moulin",
    "de Provence",
    "des Pins",
    "Émile Zola",
    "Marcel Pagnol",
    "de l'Église",
]
LEGAL = ["SARL", "SAS", "SASU", "EURL", "SA", "SNC"]
GENERIC_MAIL = ["orange.fr", "gmail.com", "wanadoo.fr", "free.fr"]


def luhn_complete(body: str) -> str:
    for d in "0123456789":
        s = body + d
        total = 0
        for i, ch in enumerate(reversed(s)):
            n = int(ch)
            if i % 2:
                n *= 2
                if n > 9:
                    n -= 9
            total += n
        if total % 10 == 0:
            return s
    raise AssertionError


def make_siren(rng: random.Random) -> str:
    return luhn_complete("".join(rng.choice(string.digits) for _ in range(8)))


def make_siret(rng: random.Random, siren: str) -> str:
    return luhn_complete(siren + "".join(rng.choice(string.digits) for _ in range(4)))


def make_phone(rng: random.Random) -> str:
    return "0" + rng.choice("1234599") + "".join(rng.choice(string.digits) for _ in range(8))


def fmt_phone(rng: random.Random, p: str) -> str:
    style = rng.randrange(5)
    if style == 0:
        return p
    if style == 1:
        return " ".join(p[i : i + 2] for i in range(0, 10, 2))
    if style == 2:
        return ".".join(p[i : i + 2] for i in range(0, 10, 2))
    if style == 3:
        return "+33 " + p[1] + " " + " ".join(p[i : i + 2] for i in range(2, 10, 2))
    return "-".join(p[i : i + 2] for i in range(0, 10, 2))


def strip_accents(s: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def typo(rng: random.Random, s: str) -> str:
    letters = [i for i, c in enumerate(s) if c.isalpha()]
    if len(letters) < 5:
        return s
    i = rng.choice(letters[1:])
    kind = rng.randrange(4)
    if kind == 0:  # deletion
        return s[:i] + s[i + 1 :]
    if kind == 1:  # doubling
        return s[:i] + s[i] + s[i:]
    if kind == 2 and i + 1 < len(s):  # swap
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    return s[:i] + rng.choice("aeiourstnl") + s[i + 1 :]


class Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.towns = [c for c in communes() if c.population > 3000 and c.postcodes]
        self.n = 0

    def town(self):
        return self.rng.choice(self.towns)

    def address(self) -> tuple[str, str, str]:
        """(number, full street type, street name)."""
        rng = self.rng
        return str(rng.randint(1, 250)), rng.randrange(len(STREET_TYPES)), rng.choice(STREET_NAMES)

    def entity(self, name=None, siren=None, town=None) -> dict:
        rng = self.rng
        self.n += 1
        if name is None:
            pattern = rng.randrange(4)
            trade, surname = rng.choice(TRADES), rng.choice(SURNAMES)
            if pattern == 0:
                name = f"{trade} {surname}"
            elif pattern == 1:
                name = f"{trade} {surname} et Fils"
            elif pattern == 2:
                name = f"{surname} {trade}"
            else:
                name = f"{trade} {rng.choice(SURNAMES)}-{surname}"
        town = town or self.town()
        siren = siren or make_siren(rng)
        num, st_idx, street = self.address()
        domain = strip_accents(name.split()[-1]).lower().replace("'", "") + f"-{self.n}.fr"
        return {
            "name": name,
            "legal": rng.choice(LEGAL) if rng.random() < 0.5 else "",
            "siret": make_siret(rng, siren),
            "phone": make_phone(rng),
            "email": f"contact@{domain}"
            if rng.random() < 0.6
            else f"{strip_accents(name.split()[0]).lower()}{self.n}@{rng.choice(GENERIC_MAIL)}",
            "num": num,
            "st": st_idx,
            "street": street,
            "postcode": rng.choice(town.postcodes),
            "city": town.name,
        }

    def render(self, e: dict, dirty: bool) -> dict:
        """A record of entity ``e``; ``dirty`` applies the mess of a second entry."""
        rng = self.rng
        name = e["name"]
        legal = e["legal"]
        st_full, st_abbr = STREET_TYPES[e["st"]]
        street_type = st_full
        phone = e["phone"]
        siret = e["siret"]
        email = e["email"]
        address = True
        postcode, city = e["postcode"], e["city"]
        if dirty:
            r = rng.random
            if r() < 0.4:
                name = typo(rng, name)
            if r() < 0.3:
                name = strip_accents(name)
            if r() < 0.3:
                name = name.upper()
            if r() < 0.25:
                name = name.replace("Boulangerie", "Boul.").replace("Saint", "St")
            if r() < 0.4:
                legal = "" if legal else rng.choice(LEGAL)
            if r() < 0.4:
                street_type = st_abbr
            if r() < 0.5:
                siret = ""
            if r() < 0.3:
                phone = ""
            if r() < 0.2:
                address = False
            if r() < 0.15:
                postcode = ""
            if r() < 0.15:
                city = ""
            if r() < 0.3:
                email = ""
            if r() < 0.3:
                name = name.replace(" et ", " & ")
        if legal:
            name = f"{legal} {name}" if rng.random() < 0.5 else f"{name} {legal}"
        return {
            "name": name,
            "siret": (
                " ".join([siret[:3], siret[3:6], siret[6:9], siret[9:]])
                if siret and dirty and rng.random() < 0.5
                else siret
            )
            or None,
            "phone": fmt_phone(rng, phone) if phone else None,
            "email": email or None,
            "website": None,
            "address": f"{e['num']} {street_type} {e['street']}" if address else None,
            "postcode": postcode or None,
            "city": city or None,
        }


def labelled_set(n_entities: int, seed: int) -> tuple[list[dict], set[tuple[int, int]], dict]:
    """Records, the set of true duplicate pairs (index pairs), counts by kind."""
    g = Generator(seed)
    rng = g.rng
    records: list[dict] = []
    entity_of: list[int] = []
    counts = {"entities": 0, "duplicates": 0, "chain_branches": 0, "homonyms": 0}
    eid = 0

    def add(rec, entity_id):
        records.append(rec)
        entity_of.append(entity_id)

    for _ in range(n_entities):
        e = g.entity()
        eid += 1
        counts["entities"] += 1
        add(g.render(e, False), eid)
        if rng.random() < 0.35:
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                add(g.render(e, True), eid)
                counts["duplicates"] += 1
        if rng.random() < 0.12:  # homonym: same name, another business
            same_town = rng.random() < 0.4
            town = next(t for t in g.towns if t.name == e["city"]) if same_town else None
            h = g.entity(name=e["name"], town=town)
            eid += 1
            add(g.render(h, rng.random() < 0.5), eid)
            counts["homonyms"] += 1
    for chain in CHAINS:
        siren = make_siren(rng)
        for _ in range(rng.randint(3, 8)):
            town = g.town() if rng.random() < 0.6 else None
            b = g.entity(name=chain, siren=siren, town=town)
            b["legal"] = ""
            eid += 1
            rec = g.render(b, False)
            if rng.random() < 0.4:
                rec["siret"] = None  # branch entered without its SIRET
            add(rec, eid)
            counts["chain_branches"] += 1
            if rng.random() < 0.3:  # a second branch in the same town
                b2 = g.entity(
                    name=chain, siren=siren, town=next(t for t in g.towns if t.name == b["city"])
                )
                eid += 1
                rec2 = g.render(b2, False)
                if rng.random() < 0.5:
                    rec2["siret"] = None
                add(rec2, eid)
                counts["chain_branches"] += 1
    by_entity: dict[int, list[int]] = {}
    for i, e in enumerate(entity_of):
        by_entity.setdefault(e, []).append(i)
    truth = set()
    for members in by_entity.values():
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                truth.add((members[a], members[b]))
    for i, r in enumerate(records):
        r["id"] = i
        r["ref"] = f"R{i:06d}"
    counts["records"] = len(records)
    counts["true_pairs"] = len(truth)
    return records, truth, counts


def prf(found: set, truth: set) -> tuple[float, float, float]:
    tp = len(found & truth)
    p = tp / len(found) if found else 1.0
    r = tp / len(truth) if truth else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entities", type=int, default=1500)
    ap.add_argument("--scale", type=int, default=50000)
    ap.add_argument("--naive-sample", type=int, default=1500)
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--show-errors", type=int, default=0)
    args = ap.parse_args(argv)

    records, truth, counts = labelled_set(args.entities, args.seed)
    print("Labelled set:", ", ".join(f"{k}={v}" for k, v in counts.items()))
    t0 = time.perf_counter()
    pairs = find_duplicates(records, args.threshold)
    t_blocked = time.perf_counter() - t0
    found = {(p.a, p.b) for p in pairs}
    p, r, f = prf(found, truth)
    print(
        f"Blocked  (threshold {args.threshold}): precision {p:.3f}  recall {r:.3f}  F1 {f:.3f}"
        f"  ({len(found)} pairs, {t_blocked:.2f} s)"
    )
    t0 = time.perf_counter()
    naive = {(q.a, q.b) for q in naive_duplicates(records, args.threshold)}
    t_naive_lab = time.perf_counter() - t0
    p2, r2, f2 = prf(naive, truth)
    print(
        f"All pairs (same scorer):          precision {p2:.3f}  recall {r2:.3f}  F1 {f2:.3f}"
        f"  ({t_naive_lab:.2f} s) -> blocking loses {len(naive - found)} true/false pairs"
    )
    for th in (0.75, 0.8, 0.9, 0.95):
        pt = {(q.a, q.b) for q in find_duplicates(records, th)}
        a, b, c = prf(pt, truth)
        print(f"  threshold {th:.2f}: precision {a:.3f} recall {b:.3f} F1 {c:.3f}")
    if args.show_errors:
        prepared = prepare(records)
        from crm.dedupe import score_pair

        print("False positives:")
        for i, j in list(found - truth)[: args.show_errors]:
            print(
                "  ",
                records[i]["name"],
                "|",
                records[j]["name"],
                score_pair(prepared[i], prepared[j]),
            )
            print(
                "     ",
                {k: records[i][k] for k in ("siret", "address", "postcode", "city", "phone")},
            )
            print(
                "     ",
                {k: records[j][k] for k in ("siret", "address", "postcode", "city", "phone")},
            )
        print("False negatives:")
        for i, j in list(truth - found)[: args.show_errors]:
            print(
                "  ",
                records[i]["name"],
                "|",
                records[j]["name"],
                score_pair(prepared[i], prepared[j]),
            )
            print(
                "     ",
                {k: records[i][k] for k in ("siret", "address", "postcode", "city", "phone")},
            )
            print(
                "     ",
                {k: records[j][k] for k in ("siret", "address", "postcode", "city", "phone")},
            )

    # Speed at scale: the same generator, more entities.
    big, _, big_counts = labelled_set(int(args.scale / 1.38), args.seed + 1)
    big = big[: args.scale]
    t0 = time.perf_counter()
    big_pairs = find_duplicates(big, args.threshold)
    t_big = time.perf_counter() - t0
    sample = big[: args.naive_sample]
    t0 = time.perf_counter()
    naive_duplicates(sample, args.threshold)
    t_sample = time.perf_counter() - t0
    n, m = len(big), len(sample)
    extrapolated = t_sample * (n * (n - 1)) / (m * (m - 1))
    print(
        f"Speed: blocked candidates+scoring on {n} companies: {t_big:.1f} s ({len(big_pairs)} pairs)."
    )
    print(
        f"       naive all-pairs measured on {m} companies: {t_sample:.1f} s; "
        f"extrapolated (x n^2) to {n}: {extrapolated / 3600:.1f} h "
        f"-> blocking is ~{extrapolated / t_big:,.0f}x faster (extrapolated, not measured)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
