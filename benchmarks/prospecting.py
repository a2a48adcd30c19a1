"""Benchmark: the Var's register (~150,000 establishments) import and one learner's prospects.

Synthesises N rows in the INSEE StockEtablissement layout around the Var's communes
(deterministic), then in the same run:
- import: chunked pandas read + bulk upsert (crm.services.prospecting.sirene) vs a naive
  row-by-row ORM insert on a subset, extrapolated linearly to N (stated as such);
- prospects: the vectorised ranking for one learner (SQL bounding box + numpy) vs a Python
  loop over every establishment with the same formula.

    PYTHONPATH=. python -m benchmarks.prospecting [--rows 150000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from crm.auth import SYSTEM
from crm.db import make_engine, make_session_factory, upgrade
from crm.models import Establishment, Learner, Site
from crm.reference import communes
from crm.services.prospecting import prospects_for_learner, rome_naf_table
from crm.services.prospecting.sirene import import_sirene
from matching.prospects import naive_rank
from tests.support.sirene import COLUMNS
from tests.support.sirene import siret as valid_siret

NAFS = [
    ("56.10A", 8),
    ("56.10C", 3),
    ("47.11F", 2),
    ("47.11D", 2),
    ("55.10Z", 2),
    ("45.20A", 3),
    ("43.21A", 4),
    ("43.22A", 3),
    ("86.21Z", 4),
    ("68.20B", 6),
    ("70.22Z", 6),
    ("62.01Z", 3),
    ("96.02A", 4),
    ("47.71Z", 3),
    ("10.71C", 2),
    ("81.21Z", 2),
    ("49.41A", 2),
    ("88.10A", 1),
]
BANDS = [("NN", 40), ("00", 10), ("01", 18), ("02", 12), ("03", 8), ("11", 6), ("12", 4),
         ("21", 1), ("22", 1)]  # fmt: skip


def synthesise(path: Path, rows: int, seed: int = 7) -> None:
    import csv

    from pyproj import Transformer

    to_l93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    rng = random.Random(seed)
    var = [c for c in communes() if c.department == "83"]
    weights = [max(50, c.population) for c in var]
    naf_codes, naf_w = zip(*NAFS, strict=True)
    band_codes, band_w = zip(*BANDS, strict=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i in range(rows):
            c = rng.choices(var, weights)[0]
            siret = valid_siret(f"{10000000 + i * 7:08d}0000{rng.randint(10, 99)}")
            siren = siret[:9]
            lat = c.latitude + rng.gauss(0, 0.01)
            lon = c.longitude + rng.gauss(0, 0.012)
            r = dict.fromkeys(COLUMNS, "")
            r.update(
                siren=siren, nic=siret[9:], siret=siret, statutDiffusionEtablissement="O",
                etatAdministratifEtablissement="A" if rng.random() > 0.08 else "F",
                trancheEffectifsEtablissement=rng.choices(band_codes, band_w)[0],
                activitePrincipaleEtablissement=rng.choices(naf_codes, naf_w)[0],
                enseigne1Etablissement=f"Établissement {i}",
                numeroVoieEtablissement=str(rng.randint(1, 200)),
                typeVoieEtablissement="RUE", libelleVoieEtablissement="DE LA REPUBLIQUE",
                codePostalEtablissement=c.postcodes[0] if c.postcodes else "83000",
                libelleCommuneEtablissement=c.name.upper(), codeCommuneEtablissement=c.insee,
            )  # fmt: skip
            if rng.random() < 0.85:  # the rest: commune centre
                x, y = to_l93.transform(lon, lat)
                r["coordonneeLambertAbscisseEtablissement"] = f"{x:.1f}"
                r["coordonneeLambertOrdonneeEtablissement"] = f"{y:.1f}"
            w.writerow([r[k] for k in COLUMNS])


def naive_import(session_factory, path: Path, limit: int) -> float:
    """Row by row: csv.DictReader, one ORM object and one commit per establishment."""
    import csv

    from crm.services.prospecting.sirene import lambert93_to_wgs84

    start = time.perf_counter()
    done = 0
    with path.open(encoding="utf-8") as fh, session_factory() as s:
        for r in csv.DictReader(fh):
            if done >= limit:
                break
            if r["etatAdministratifEtablissement"] != "A":
                continue
            lat = lon = None
            if r["coordonneeLambertAbscisseEtablissement"]:
                la, lo = lambert93_to_wgs84(
                    [float(r["coordonneeLambertAbscisseEtablissement"])],
                    [float(r["coordonneeLambertOrdonneeEtablissement"])],
                )
                lat, lon = float(la[0]), float(lo[0])
            existing = s.scalar(
                select(Establishment).where(Establishment.siret == "9" + r["siret"][1:])
            )
            e = existing or Establishment(siret="9" + r["siret"][1:])
            e.name = r["enseigne1Etablissement"]
            e.naf = r["activitePrincipaleEtablissement"]
            e.size_band = r["trancheEffectifsEtablissement"]
            e.postcode = r["codePostalEtablissement"]
            e.commune_code = r["codeCommuneEtablissement"]
            e.latitude, e.longitude = lat, lon
            e.geo_precision = "housenumber" if lat else "none"
            s.add(e)
            s.commit()
            done += 1
        s.query(Establishment).filter(Establishment.siret.like("9%")).delete()
        s.commit()
    return (time.perf_counter() - start) / max(1, done)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=150_000)
    ap.add_argument("--naive-rows", type=int, default=2_000)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="passerelle-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    path = tmp / "StockEtablissement_83.csv"
    t = time.perf_counter()
    synthesise(path, args.rows)
    print(f"synthesised {args.rows} rows ({path.stat().st_size / 1e6:.1f} MB) in "
          f"{time.perf_counter() - t:.1f} s")  # fmt: skip

    report = import_sirene(engine, SYSTEM, path, departements="83")
    print(f"import: {report.summary()}")
    t = time.perf_counter()
    report2 = import_sirene(engine, SYSTEM, path, departements="83")
    print(f"re-import (all updates): {time.perf_counter() - t:.1f} s")
    per_row = naive_import(factory, path, args.naive_rows)
    naive_total = per_row * report.kept
    print(
        f"naive row-by-row ORM insert: {per_row * 1000:.2f} ms/row on {args.naive_rows} rows, "
        f"extrapolated to {report.kept} rows: {naive_total:.0f} s "
        f"(ratio {naive_total / report.seconds:.0f}x)"
    )

    with factory() as s:
        site = Site(name="Bench TPM", city="Toulon", postcode="83000",
                    latitude=43.1242, longitude=5.9280)  # fmt: skip
        s.add(site)
        s.flush()
        learner = Learner(
            site_id=site.id, first_name="Bench", last_name="Learner",
            entry_date=__import__("datetime").date(2026, 11, 1), project_rome_1="G1803",
            project_rome_2="D1106", latitude=43.1242, longitude=5.9280,
            mobility="transit;bike", max_commute_min=45,
        )  # fmt: skip
        s.add(learner)
        s.commit()
        t = time.perf_counter()
        prospects_for_learner(s, SYSTEM, learner.id)  # loads the register arrays once
        cold = time.perf_counter() - t
        times = []
        for _ in range(7):
            t = time.perf_counter()
            result = prospects_for_learner(s, SYSTEM, learner.id)
            times.append(time.perf_counter() - t)
        times.sort()
        fast = times[len(times) // 2]
        records = [
            {
                "siret": e.siret,
                "naf": e.naf,
                "size_band": e.size_band,
                "latitude": e.latitude,
                "longitude": e.longitude,
            }  # fmt: skip
            for e in s.scalars(select(Establishment).where(Establishment.active.is_(True)))
        ]
        t = time.perf_counter()
        naive = naive_rank(
            records, origin=(43.1242, 5.9280), rome_codes=("G1803", "D1106"),
            table=rome_naf_table(), modes=("transit", "bike"), max_minutes=45,
            radius_km=result.radius_km, top=20,
        )  # fmt: skip
        naive_t = time.perf_counter() - t
    print(
        f"prospects for one learner: first request after the import {cold * 1000:.0f} ms "
        f"(loads the register's arrays), then median {fast * 1000:.0f} ms over 7 runs "
        f"({len(result.prospects)} prospects, radius {result.radius_km:.1f} km, "
        f"{report.kept} active establishments)"
    )
    print(
        f"naive Python loop over {len(records)} establishments (scoring only, no DB): "
        f"{naive_t * 1000:.0f} ms (ratio {naive_t / fast:.1f}x); top-20 agree on "
        f"{len({p.siret for p in result.prospects} & {x for x, _ in naive})}/20"
    )
    del report2
    engine.dispose()


if __name__ == "__main__":
    main()
