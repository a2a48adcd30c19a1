"""Whole-cohort matching through the database: ``python -m benchmarks.cohort``.

    python -m benchmarks.cohort [--offers 100000] [--learners 15000] [--runs 3]
                                [--db both|sqlite|postgresql] [--naive-sample 20]
                                [--sqlite-file F] [--pg-database NAME]
                                [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

The offers and learners of ``benchmarks.matching.World`` (communes weighted by
population, real ROME codes and skills, 1-3 seats) are bulk-loaded with Core
``executemany`` into a fresh SQLite file and a fresh PostgreSQL database (companies,
offers, active learners over 20 sites), then the real commands run as a user runs them,
each in its own process (``python -m crm.cli``: start, migrations check, queries, index
build, output):

- ``passerelle match --all --top 5 --format csv`` (median of ``--runs``);
- ``passerelle allocate`` (median of ``--runs``): optimal vs greedy totals.

In the same run, in-process on the same database: where the command's time goes (load
the offers, build the index, load the learners, match them), and the naive baseline, the
per-learner service path (``suggestions_for`` for each learner: scope check, index
freshness check, profile query, match), timed on ``--naive-sample`` learners after a warm
index and **extrapolated** to the cohort (said so).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import insert, select, text

from benchmarks._databases import postgres_database, sqlite_database
from benchmarks.matching import TODAY, World
from crm.auth import SYSTEM
from crm.db import make_engine, make_session_factory, upgrade
from crm.models import Company, Learner, LearnerStatus, Offer, Site

ROOT = Path(__file__).resolve().parent.parent
N_SITES = 20


def rows(n_offers: int, n_learners: int, seed: int = 7) -> dict:
    """Table rows from the matching benchmark's world (same generator, same seed)."""
    world = World(seed)
    offers = world.offers(n_offers)
    learners = world.learners(n_learners)
    now = dt.datetime(2026, 11, 20, 12)
    stamps = {"created_at": now, "updated_at": now}
    sites = [{"id": i, "name": f"Site {i:02d}"} for i in range(1, N_SITES + 1)]
    companies: dict[int, dict] = {}
    offer_rows = []
    for o in offers:
        companies.setdefault(
            o.company_id,
            {
                **stamps,
                "id": o.company_id,
                "name": f"Entreprise {o.company_id}",
                "status": "partner",
                "site_id": 1 + o.company_id % N_SITES,
                "latitude": o.latitude,
                "longitude": o.longitude,
                "geo_precision": "housenumber",
                "version": 1,
            },
        )
        offer_rows.append(
            {
                **stamps,
                "id": o.id,
                "ref": o.ref,
                "company_id": o.company_id,
                "rome_code": o.rome_codes[0],
                "other_rome_codes": ";".join(o.rome_codes[1:]),
                "title": o.title,
                "description": o.description,
                "skills": ";".join(o.skills),
                "seats": o.free_seats,
                "start_date": o.start_date,
                "end_date": o.end_date,
                "open_to_minors": o.open_to_minors,
                "status": "open",
                "latitude": o.latitude,
                "longitude": o.longitude,
                "version": 1,
            }
        )
    learner_rows = []
    for lp in learners:
        codes = [*lp.project_codes, None, None, None]
        learner_rows.append(
            {
                **stamps,
                "id": lp.id,
                "ref": lp.ref,
                "site_id": 1 + lp.id % N_SITES,
                "first_name": "X",
                "last_name": "Y",
                "birth_date": lp.birth_date,
                "entry_date": TODAY - dt.timedelta(days=lp.id % 90),
                "project_rome_1": codes[0],
                "project_rome_2": codes[1],
                "project_rome_3": codes[2],
                "skills": ";".join(lp.skills),
                "mobility": ";".join(lp.modes),
                "max_commute_min": int(lp.max_commute_min),
                "available_from": lp.available_from,
                "available_to": lp.available_to,
                "status": LearnerStatus.ACTIVE.value,
                "latitude": lp.latitude,
                "longitude": lp.longitude,
                "geo_precision": "commune",
                "version": 1,
            }
        )
    return {
        Site: sites,
        Company: list(companies.values()),
        Offer: offer_rows,
        Learner: learner_rows,
    }


def load(url: str, data: dict) -> float:
    engine = make_engine(url)
    upgrade(engine)
    t = time.perf_counter()
    with engine.begin() as conn:
        for model, table_rows in data.items():
            for i in range(0, len(table_rows), 10_000):
                conn.execute(insert(model.__table__), table_rows[i : i + 10_000])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    engine.dispose()
    return time.perf_counter() - t


def run_command(url: str, *args: str) -> tuple[float, str]:
    """Wall-clock of ``passerelle ARGS`` in a fresh process (stdout kept, stderr checked)."""
    env = {**os.environ, "PASSERELLE_DATABASE_URL": url}
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "crm.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise RuntimeError(f"passerelle {' '.join(args)} failed: {done.stderr[-2000:]}")
    return elapsed, done.stdout


def phases(url: str, naive_sample: int) -> dict[str, float]:
    """Where ``match --all`` spends its time (in-process, cold cache), then the per-learner
    service path on a sample of learners (warm index), extrapolated."""
    from crm.services import matching as svc

    svc._cache.clear()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    out: dict[str, float] = {}
    with factory() as s:
        t = time.perf_counter()
        svc.offer_records(s, TODAY)
        out["load offers (plain rows)"] = time.perf_counter() - t
        t = time.perf_counter()
        svc.matching_run(s, TODAY)  # cold: fingerprint, load offers, build the index
        out["matching_run, cold (fingerprint + load offers + build index)"] = (
            time.perf_counter() - t
        )
        t = time.perf_counter()
        learners = list(
            s.scalars(
                select(Learner)
                .where(Learner.status == LearnerStatus.ACTIVE.value)
                .order_by(Learner.ref, Learner.id)
            )
        )
        out["load learners"] = time.perf_counter() - t
        t = time.perf_counter()
        n = sum(
            len(got) for _, got in svc.cohort_suggestions(s, SYSTEM, learners, top=5, today=TODAY)
        )
        out["cohort_suggestions, warm index (freshness check, profiles, matching)"] = (
            time.perf_counter() - t
        )
        out["suggestions"] = n
        sample = learners[:: max(1, len(learners) // naive_sample)][:naive_sample]
        t = time.perf_counter()
        for lr in sample:
            svc.suggestions_for(s, SYSTEM, lr.id, top=5, today=TODAY)
        per = (time.perf_counter() - t) / len(sample)
        out["naive per-learner ms"] = per * 1000
        out["naive cohort s (extrapolated)"] = per * len(learners)
    engine.dispose()
    return out


def _allocation_figures(stdout: str) -> dict[str, str]:
    got = {}
    for line in stdout.splitlines():
        parts = line.split()
        if parts and parts[0] in ("optimal", "greedy"):
            got[parts[0]] = (float(parts[1]), int(parts[2]))
        elif line.startswith("Learners awaiting"):
            got["learners"] = int(parts[-1])
    return got


def run_one(label: str, url: str, data, runs: int, naive_sample: int) -> dict:
    load_s = load(url, data) if data is not None else 0.0
    if data is not None:
        print(f"{label}: loaded in {load_s:.1f} s (Core executemany + ANALYZE)", flush=True)
    today = TODAY.isoformat()
    match_times, alloc_times = [], []
    lines = 0
    for _ in range(runs):
        t, out = run_command(
            url, "match", "--all", "--top", "5", "--format", "csv", "--today", today
        )
        match_times.append(t)
        lines = out.count("\n") - 1
        print(
            f"{label}: passerelle match --all: {t:.1f} s ({lines} rows) "
            f"| load avg {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    figures = {}
    for _ in range(runs):
        t, out = run_command(url, "allocate", "--today", today)
        alloc_times.append(t)
        figures = _allocation_figures(out)
        print(
            f"{label}: passerelle allocate: {t:.1f} s {figures} | load avg {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    parts = phases(url, naive_sample)
    for k, v in parts.items():
        print(f"   {k:70} {v:10.2f}")
    opt, greedy = figures.get("optimal"), figures.get("greedy")
    ratio = opt[0] / greedy[0] if opt and greedy and greedy[0] else float("nan")
    med = statistics.median(match_times)
    print(
        f"{label}: match --all median of {runs} {med:.1f} s, allocate median "
        f"{statistics.median(alloc_times):.1f} s, optimal/greedy {ratio:.4f} "
        f"(placed {opt[1] if opt else '-'} vs {greedy[1] if greedy else '-'}), naive per-learner "
        f"path {parts['naive cohort s (extrapolated)']:.0f} s extrapolated "
        f"(×{parts['naive cohort s (extrapolated)'] / med:.0f})",
        flush=True,
    )
    return {"label": label, "match": med, "allocate": statistics.median(alloc_times)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offers", type=int, default=100_000)
    ap.add_argument("--learners", type=int, default=15_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--naive-sample", type=int, default=20)
    ap.add_argument("--db", choices=["both", "sqlite", "postgresql"], default="both")
    ap.add_argument("--sqlite-file", type=Path, help="keep/reuse the SQLite database here")
    ap.add_argument("--pg-database", help="keep/reuse the PostgreSQL database under this name")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args(argv)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    t = time.perf_counter()
    data = rows(args.offers, args.learners)
    print(
        f"generated in {time.perf_counter() - t:.1f} s: "
        + ", ".join(f"{m.__tablename__}={len(r)}" for m, r in data.items()),
        flush=True,
    )
    results = []
    opts = {"runs": args.runs, "naive_sample": args.naive_sample}
    if args.db in ("both", "sqlite"):
        with sqlite_database(args.sqlite_file) as (url, loaded):
            results.append(run_one("SQLite", url, None if loaded else data, **opts))
    if args.db in ("both", "postgresql"):
        prefix = "passerelle_bench_cohort"
        with postgres_database(args.pg_url, prefix, args.pg_database) as (url, loaded):
            results.append(run_one("PostgreSQL", url, None if loaded else data, **opts))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok = all(r["match"] < 30.0 for r in results)
    print("target (match --all median < 30 s on each database):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
