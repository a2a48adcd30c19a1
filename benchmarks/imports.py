"""Imports at scale: the set-based path vs the row-by-row path, on SQLite and PostgreSQL.

    python -m benchmarks.imports [--sizes 10000 50000 150000] [--repeat 3]
                                 [--baseline-rows 2000] [--writer-size 50000]
                                 [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Generates CSV files of companies and offers (valid SIRETs, phones, ROME codes,
French headers, ``;``), then on a fresh SQLite file and a fresh PostgreSQL database
(created and dropped here), each measurement in its own process (clean peak memory):

- companies then offers with ``import_data`` (set-based path) at each size, and the
  same companies file again (every row an unchanged upsert); ``--repeat`` times, each
  on a fresh database: the median is reported (with min and max);
- the naive baseline, the old way: ``import_data(..., bulk_path=False)``, each row
  through the services with its own savepoint and ORM objects, in the same run (only at
  ``--baseline-rows``: it is slow; larger sizes are extrapolated linearly, and said so);
- on SQLite, one more companies import of ``--writer-size`` rows with a concurrent
  writer: another process saves a small row every 20 ms as a user's save does (a
  writer transaction, BEGIN IMMEDIATE); its longest wait and its failures are reported.

Peak memory is the process's maximum resident set size (``resource.getrusage``); the
load average is printed with each figure (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
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


def writer(url: str, stop: Path, ready: Path) -> dict:
    """Small saves (one setting row) every 20 ms, as users save, until ``stop`` exists."""
    from crm.db import make_engine, make_session_factory, writer_session
    from crm.models import Setting

    engine = make_engine(url)
    factory = make_session_factory(engine)
    waits: list[float] = []
    failures: list[str] = []
    n = 0
    ready.touch()
    while not stop.exists():
        t = time.perf_counter()
        s = writer_session(factory)
        try:
            s.merge(Setting(key=f"bench_writer_{n % 5}", value=n))
            s.commit()
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:60]}")
        finally:
            s.close()
        waits.append(time.perf_counter() - t)
        n += 1
        time.sleep(0.02)
    engine.dispose()
    return {"waits": waits, "failures": failures}


def one(url: str, kind: str, path: Path, bulk: bool, concurrent: bool) -> dict:
    import resource

    from crm.auth import SYSTEM
    from crm.db import make_engine, make_session_factory, writer_session
    from crm.services.imports import import_data

    data = path.read_bytes()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    proc = None
    stop, ready = path.with_suffix(".stop"), path.with_suffix(".ready")
    if concurrent:
        stop.unlink(missing_ok=True)
        ready.unlink(missing_ok=True)
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.imports", "--writer", url, str(stop), str(ready)],
            stdout=subprocess.PIPE,
            text=True,
        )
        while not ready.exists():
            time.sleep(0.05)
        time.sleep(0.3)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    try:
        s = writer_session(factory)  # a unit of work, as the CLI and the page open it
        try:
            report = import_data(s, SYSTEM, kind, data, path.name, bulk_path=bulk)
            s.commit()
        finally:
            s.close()
    finally:
        elapsed = time.perf_counter() - t
        stop.touch()
    written = {"waits": [], "failures": []}
    if proc:
        written = json.loads(proc.communicate()[0].strip().splitlines()[-1])
    engine.dispose()
    waits = written["waits"]
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
        "writer_over_1s": sum(w > 1 for w in waits),
        "writer_failures": written["failures"],
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


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _median(runs: list[dict]) -> dict:
    """The run of median time, with the min and max of the times and the peak memory."""
    runs = sorted(runs, key=lambda r: r["seconds"])
    mid = dict(runs[len(runs) // 2])
    mid["min_s"], mid["max_s"] = runs[0]["seconds"], runs[-1]["seconds"]
    mid["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    mid["runs"] = len(runs)
    return mid


def _line(label: str, r: dict) -> str:
    rate = r["rows"] / r["seconds"] if r["seconds"] else 0
    spread = (
        f" [{r['min_s']:.2f}-{r['max_s']:.2f}, {r['runs']} runs]" if r.get("runs", 1) > 1 else ""
    )
    extra = ""
    if r.get("writer_max_wait_s") is not None:
        extra = (
            f"  writer: {r['writer_saves']} saves, longest wait {r['writer_max_wait_s']:.2f} s, "
            f"{r['writer_over_1s']} over 1 s, failures {len(r['writer_failures'])} "
            f"{sorted(set(r['writer_failures']))}"
        )
    return (
        f"  {label:<38} {r['rows']:>7} rows {r['seconds']:7.2f} s{spread} {rate:8.0f} rows/s  "
        f"peak RSS {r['peak_rss_mb']:5.0f} MB  (+{r['created']} ~{r['updated']} "
        f"={r['unchanged']} x{r['rejected']} dup {r['duplicates']}){extra}  [load {_load()}]"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 150_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-rows", type=int, default=2_000)
    ap.add_argument("--writer-size", type=int, default=50_000)
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--one", nargs=3, metavar=("URL", "KIND", "FILE"), help=argparse.SUPPRESS)
    ap.add_argument("--writer", nargs=3, metavar=("URL", "STOP", "READY"), help=argparse.SUPPRESS)
    ap.add_argument("--bulk", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--concurrent", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        url, kind, file = args.one
        print(json.dumps(one(url, kind, Path(file), args.bulk, args.concurrent)))
        return 0
    if args.writer:
        url, stop, ready = args.writer
        print(json.dumps(writer(url, Path(stop), Path(ready))))
        return 0

    from crm.reference import rome_labels

    print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    print(f"load average before: {_load()}")
    rome = sorted(rome_labels())[:300]
    ok = True
    sizes = sorted(set(args.sizes))
    # Files over the default limits (10 MB, 50,000 rows): raised for the measurements.
    biggest = max(sizes)
    if biggest > 50_000:
        os.environ["PASSERELLE_IMPORT_MAX_ROWS"] = str(biggest)
        os.environ["PASSERELLE_MAX_UPLOAD_MB"] = str(biggest // 2_000)
        print(f"import limits raised for this run: {biggest} rows, {biggest // 2_000} MB")
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        files = {}
        for n in sorted({*sizes, args.baseline_rows, args.writer_size}):
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

            for n in sizes:
                runs: dict[str, list[dict]] = {"companies": [], "offers": [], "again": []}
                for _ in range(args.repeat):
                    url, drop = fresh()
                    try:
                        runs["companies"].append(_run_one(url, "companies", files[n][0], True))
                        runs["offers"].append(_run_one(url, "offers", files[n][1], True))
                        runs["again"].append(_run_one(url, "companies", files[n][0], True))
                    finally:
                        drop()
                for key, label in (
                    ("companies", f"companies {n} (set-based)"),
                    ("offers", f"offers {n} (set-based)"),
                    ("again", f"companies {n} again (all upserts)"),
                ):
                    results[(key, n, True)] = _median(runs[key])
                    print(_line(label, results[(key, n, True)]), flush=True)
            if backend == "sqlite" and args.writer_size:
                n = args.writer_size
                url, drop = fresh()
                r = _run_one(url, "companies", files[n][0], True, concurrent=True)
                print(_line(f"companies {n}, concurrent writer", r), flush=True)
                if r["writer_over_1s"] or r["writer_failures"]:
                    ok = False
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
                for size in sizes:
                    new = results[(kind, size, True)]
                    measured = "measured" if size == n else "extrapolated linearly"
                    base_s = size / base_rate
                    print(
                        f"  {kind} {size}: set-based {new['seconds']:.1f} s (median) vs row by row "
                        f"{base_s:.0f} s ({measured}) -> x{base_s / new['seconds']:.0f}"
                    )
                    if size == 50_000 and (new["seconds"] >= 15 or new["peak_rss_mb"] >= 500):
                        ok = False
    print(f"\nload average after: {_load()}")
    print(
        "targets (50,000 rows < 15 s and < 500 MB on each database; on SQLite no save "
        "waiting over 1 s):",
        "met" if ok else "NOT met",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
