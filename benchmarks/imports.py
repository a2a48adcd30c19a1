"""Imports at scale: the set-based path vs the row-by-row path, on SQLite and PostgreSQL.

    python -m benchmarks.imports [--sizes 10000 50000] [--baseline-rows 10000]
                                 [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Generates CSV files of companies and offers (valid SIRETs, phones, ROME codes,
French headers, ``;``), then on a fresh SQLite file and a fresh PostgreSQL database
(created and dropped here), each measurement in its own process (clean peak memory):

- companies then offers with ``import_data`` (set-based path) at each size, and the
  same companies file again (every row an unchanged upsert);
- the naive baseline, the old way: ``import_data(..., bulk_path=False)``, each row
  through the services with its own savepoint and ORM objects (only at
  ``--baseline-rows``: it is slow; larger sizes are extrapolated linearly, and said so);
- on SQLite, a concurrent writer: another connection saves a small row every 20 ms
  during the 50,000-company import; its longest wait is reported.

Peak memory is the process's maximum resident set size (``resource.getrusage``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

POSTCODES = [
    ("83000", "Toulon"),
    ("83400", "Hyères"),
    ("83500", "La Seyne-sur-Mer"),
    ("83600", "Fréjus"),
    ("83700", "Saint-Raphaël"),
    ("83300", "Draguignan"),
    ("83100", "Toulon"),
    ("83200", "Toulon"),
    ("83130", "La Garde"),
    ("83160", "La Valette-du-Var"),
]
WORDS = (  # noqa: SIM905 - a sentence of words reads better than a list
    "boulangerie garage hotel restaurant pharmacie atelier cabinet studio menuiserie plomberie "
    "librairie fleuriste boucherie epicerie coiffure pressing transport nettoyage jardin paysage "
    "imprimerie optique auto bio marine soleil azur provence mistral olivier lavande port cap "
    "martin durand bernard petit robert richard moreau simon laurent michel garcia leroy roux"
).split()
STREETS = ("rue", "avenue", "boulevard", "chemin", "place", "impasse")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfglmnprstv") + rng.choice("aeiou") for _ in range(3)).title()


def _siret(rng: random.Random) -> str:
    from stdnum import luhn

    siren = "".join(rng.choice("0123456789") for _ in range(8))
    siren += luhn.calc_check_digit(siren)
    body = siren + "".join(rng.choice("0123456789") for _ in range(4))
    return body + luhn.calc_check_digit(body)


def companies_csv(n: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    lines = [
        "Référence;Raison sociale;SIRET;Code NAF;Secteur;Adresse;Code postal;Ville;"
        "Téléphone;Courriel;Site;Statut"
    ]
    for i in range(n):
        name = f"{rng.choice(WORDS).title()} {_word(rng)} {_word(rng)}"
        pc, city = rng.choice(POSTCODES)
        siret = _siret(rng) if rng.random() < 0.6 else ""
        phone = f"04 94 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
        lines.append(
            f"BC{i:06d};{name};{siret};47.11F;Commerce;{rng.randint(1, 200)} "
            f"{rng.choice(STREETS)} {rng.choice(WORDS)};{pc};{city};{phone};"
            f"contact@{_word(rng)}{i}.fr;{rng.choice(['TPM', 'CAVEM'])};"
            f"{rng.choice(['prospect', 'partner', 'contacted'])}"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def offers_csv(n: int, n_companies: int, rome: list[str], seed: int = 2) -> bytes:
    rng = random.Random(seed)
    lines = [
        "Référence;Réf entreprise;Code ROME;Intitulé;Places;Date de début;Date de fin;"
        "Ouvert aux mineurs;Compétences"
    ]
    for i in range(n):
        lines.append(
            f"BO{i:06d};BC{rng.randrange(n_companies):06d};{rng.choice(rome)};"
            f"Poste {rng.choice(WORDS)};{rng.randint(1, 4)};01/{rng.randint(1, 6):02d}/2027;"
            f"30/{rng.randint(7, 11):02d}/2027;{rng.choice(['oui', 'non'])};accueil;vente"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- one measurement


def _prepare_db(url: str) -> None:
    from sqlalchemy import select

    from crm.db import make_engine, make_session_factory, upgrade
    from crm.models import Site
    from crm.reference import load_reference_tables

    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as s:
        if s.scalar(select(Site.id).limit(1)) is None:
            load_reference_tables(s)
            s.add_all(
                [
                    Site(name="TPM", city="Toulon", postcode="83000"),
                    Site(name="CAVEM", city="Fréjus", postcode="83600"),
                ]
            )
            s.commit()
    engine.dispose()


def _writer(url: str, stop: threading.Event, waits: list[float], failures: list[str]) -> None:
    """Small saves (one setting row) every 20 ms on its own connection."""
    from crm.db import make_engine, make_session_factory
    from crm.models import Setting

    engine = make_engine(url)
    factory = make_session_factory(engine)
    n = 0
    while not stop.is_set():
        t = time.perf_counter()
        try:
            with factory() as s:
                s.merge(Setting(key=f"bench_writer_{n % 5}", value=n))
                s.commit()
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:60]}")
        waits.append(time.perf_counter() - t)
        n += 1
        time.sleep(0.02)
    engine.dispose()


def one(url: str, kind: str, path: Path, bulk: bool, concurrent: bool) -> dict:
    import resource

    from crm.auth import SYSTEM
    from crm.db import make_engine, make_session_factory
    from crm.services.imports import import_data

    data = path.read_bytes()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    waits: list[float] = []
    failures: list[str] = []
    stop = threading.Event()
    thread = None
    if concurrent:
        thread = threading.Thread(target=_writer, args=(url, stop, waits, failures), daemon=True)
        thread.start()
        time.sleep(0.3)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    try:
        with factory() as s:
            report = import_data(s, SYSTEM, kind, data, path.name, bulk_path=bulk)
            s.commit()
    finally:
        stop.set()
    elapsed = time.perf_counter() - t
    if thread:
        thread.join()
    engine.dispose()
    return {
        "seconds": elapsed,
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": len(report.rejected),
        "duplicates": len(report.duplicates),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": rss0 / 1024,
        "writer_max_wait_s": max(waits) if waits else None,
        "writer_saves": len(waits),
        "writer_failures": failures,
    }


def _run_one(url, kind, path, bulk, concurrent=False) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.imports", "--one", url, kind, str(path)]
    cmd += ["--bulk" if bulk else "--no-bulk"]
    if concurrent:
        cmd.append("--concurrent")
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fresh_pg(admin_url: str):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"passerelle_bench_imports_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def _line(label: str, r: dict) -> str:
    rate = r["rows"] / r["seconds"] if r["seconds"] else 0
    extra = ""
    if r.get("writer_max_wait_s") is not None:
        extra = (
            f"  writer: {r['writer_saves']} saves, max wait {r['writer_max_wait_s']:.2f} s, "
            f"failures {len(r['writer_failures'])} {sorted(set(r['writer_failures']))}"
        )
    return (
        f"  {label:<34} {r['rows']:>7} rows {r['seconds']:8.2f} s {rate:9.0f} rows/s  "
        f"peak RSS {r['peak_rss_mb']:6.0f} MB  (+{r['created']} ~{r['updated']} "
        f"={r['unchanged']} x{r['rejected']} dup {r['duplicates']}){extra}"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    ap.add_argument("--baseline-rows", type=int, default=10_000)
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--one", nargs=3, metavar=("URL", "KIND", "FILE"), help=argparse.SUPPRESS)
    ap.add_argument("--bulk", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--concurrent", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        url, kind, file = args.one
        print(json.dumps(one(url, kind, Path(file), args.bulk, args.concurrent)))
        return 0

    from crm.reference import rome_labels

    print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rome = sorted(rome_labels())[:300]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        files = {}
        for n in sorted({*args.sizes, args.baseline_rows}):
            (tmpdir / f"companies_{n}.csv").write_bytes(companies_csv(n))
            (tmpdir / f"offers_{n}.csv").write_bytes(offers_csv(n, n, rome))
            files[n] = (tmpdir / f"companies_{n}.csv", tmpdir / f"offers_{n}.csv")
        for backend in args.backends:
            print(f"\n{backend}")
            results: dict[tuple, dict] = {}

            def fresh(backend=backend):
                if backend == "sqlite":
                    url = f"sqlite:///{tmpdir / f'bench_{uuid.uuid4().hex[:6]}.db'}"
                    _prepare_db(url)
                    return url, lambda: None
                url, drop = _fresh_pg(args.pg_url)
                _prepare_db(url)
                return url, drop

            for n in args.sizes:
                url, drop = fresh()
                try:
                    concurrent = backend == "sqlite" and n == max(args.sizes)
                    r = _run_one(url, "companies", files[n][0], True, concurrent)
                    print(_line(f"companies {n} (set-based)", r), flush=True)
                    results[("companies", n, True)] = r
                    r = _run_one(url, "offers", files[n][1], True)
                    print(_line(f"offers {n} (set-based)", r), flush=True)
                    results[("offers", n, True)] = r
                    r = _run_one(url, "companies", files[n][0], True)
                    print(_line(f"companies {n} again (all upserts)", r), flush=True)
                finally:
                    drop()
            n = args.baseline_rows
            url, drop = fresh()
            try:
                for kind, f in (("companies", files[n][0]), ("offers", files[n][1])):
                    r = _run_one(url, kind, f, False)
                    print(_line(f"{kind} {n} (row by row, baseline)", r), flush=True)
                    results[(kind, n, False)] = r
            finally:
                drop()
            for kind in ("companies", "offers"):
                base = results[(kind, n, False)]
                base_rate = base["rows"] / base["seconds"]
                for size in args.sizes:
                    new = results[(kind, size, True)]
                    measured = "measured" if size == n else "extrapolated linearly"
                    base_s = size / base_rate
                    print(
                        f"  {kind} {size}: set-based {new['seconds']:.1f} s vs row by row "
                        f"{base_s:.0f} s ({measured}) -> x{base_s / new['seconds']:.0f}"
                    )
                    if size >= 50_000 and new["seconds"] >= 15:
                        ok = False
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("target (50,000 rows < 15 s on each database):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
