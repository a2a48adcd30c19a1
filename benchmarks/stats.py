"""Statistics dashboard at national scale: SQL aggregation vs loading everything into pandas.

    python -m benchmarks.stats [--companies 10000] [--interactions 100000] [--placements 20000]
                               [--db both|sqlite|postgresql] [--per-table] [--no-naive]
                               [--sqlite-file F] [--pg-database NAME] [--scaling]
                               [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Generates a network (20 sites, 10,000 companies, 100,000 interactions, 20,000
placements, with the learners, offers and status history they need) by bulk
Core inserts into a fresh SQLite file and a fresh PostgreSQL database (created
and dropped here), then times on each:
- the whole dashboard's queries (``crm.services.stats.dashboard`` + unused offers + map
  points), first run, median and best of 5;
- the naive way: read every table into pandas and compute the same figures,
  checking that the headline figures agree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import insert, select, text

from benchmarks._databases import postgres_database, sqlite_database
from crm.auth import SYSTEM
from crm.db import make_engine, make_session_factory, upgrade
from crm.models import (
    Company,
    CompanyStatusChange,
    Interaction,
    Learner,
    Offer,
    Placement,
    RomeJob,
    Site,
    User,
)
from crm.reference import load_reference_tables, rome_jobs
from crm.services.stats import (
    STAT_FUNCTIONS,
    StatsFilters,
    dashboard,
    naf_division_sections,
    partner_points,
    partner_tables,
    unused_offers,
)

TODAY = dt.date(2026, 11, 23)
FILTERS = StatsFilters(dt.date(2026, 1, 1), dt.date(2026, 12, 31), today=TODAY)
N_SITES = 20
N_OFFICERS = 60


# --------------------------------------------------------------------------- data


def generate(n_companies: int, n_interactions: int, n_placements: int, seed: int = 6):
    """Rows for every table, as lists of dicts (ids assigned here)."""
    rng = random.Random(seed)
    day0 = TODAY - dt.timedelta(days=730)

    def day(lo=0, hi=730):
        return day0 + dt.timedelta(days=rng.randint(lo, hi))

    sites = [
        {
            "id": i,
            "name": f"Site {i:02d}",
            "opened_on": dt.date(2010 + i % 10, 1 + i % 12, 1),
            "yearly_target": rng.randint(30, 150),
            "geo_precision": "commune",
        }
        for i in range(1, N_SITES + 1)
    ]
    users = [
        {
            "id": i,
            "username": f"officer{i}",
            "display_name": f"Chargé {i}",
            "role": "officer",
            "is_active": True,
            "failed_logins": 0,
        }
        for i in range(1, N_OFFICERS + 1)
    ]
    officer_site = {u["id"]: 1 + (u["id"] - 1) % N_SITES for u in users}
    officers_of = {s["id"]: [u for u, s2 in officer_site.items() if s2 == s["id"]] for s in sites}
    nafs = [code for code in _naf_codes()]
    statuses = ["prospect", "contacted", "partner", "inactive"]
    companies, changes = [], []
    for i in range(1, n_companies + 1):
        site_id = rng.randint(1, N_SITES)
        status = rng.choices(statuses, [0.2, 0.15, 0.55, 0.1])[0]
        companies.append(
            {
                "id": i,
                "name": f"Entreprise {i}",
                "naf": rng.choice(nafs) if rng.random() > 0.05 else None,
                "status": status,
                "site_id": site_id,
                "owner_id": rng.choice(officers_of[site_id]),
                "latitude": 43 + rng.random(),
                "longitude": 5 + rng.random(),
                "geo_precision": "housenumber",
                "version": 1,
            }
        )
        if status in ("partner", "inactive"):
            changes.append(
                {
                    "company_id": i,
                    "from_status": "contacted",
                    "to_status": "partner",
                    "changed_at": dt.datetime.combine(day(), dt.time(10)),
                }
            )
    interactions = []
    for _ in range(n_interactions):
        c = companies[rng.randrange(n_companies)]
        when = dt.datetime.combine(day(), dt.time(rng.randint(8, 18), rng.choice([0, 30])))
        due = when.date() + dt.timedelta(days=rng.randint(3, 40)) if rng.random() < 0.4 else None
        interactions.append(
            {
                "company_id": c["id"],
                "author_id": c["owner_id"],
                "occurred_at": when,
                "kind": rng.choice(["call", "visit", "email", "meeting"]),
                "summary": "Échange",
                "next_action_due": due,
                "next_action_done": bool(due and rng.random() < 0.7),
            }
        )
    codes = [r["code"] for r in rome_jobs()]
    offers = []
    hosts = [c for c in companies if c["status"] != "prospect"]
    for i in range(1, int(n_placements * 0.75) + 1):
        c = rng.choice(hosts)
        start = day()
        offers.append(
            {
                "id": i,
                "company_id": c["id"],
                "rome_code": rng.choice(codes),
                "title": "Offre",
                "seats": rng.choice([1, 1, 2, 3]),
                "start_date": start,
                "end_date": start + dt.timedelta(days=rng.choice([60, 90, 120])),
                "status": "open",
                "version": 1,
            }
        )
    learners = []
    for i in range(1, int(n_placements * 0.4) + 1):
        entry = day(0, 700)
        exited = rng.random() < 0.5
        learners.append(
            {
                "id": i,
                "site_id": rng.randint(1, N_SITES),
                "first_name": "X",
                "last_name": "Y",
                "entry_date": entry,
                "exit_date": entry + dt.timedelta(days=rng.randint(120, 220)) if exited else None,
                "exit_outcome": rng.choice(["employment", "apprenticeship", "training", "none"])
                if exited
                else None,
                "status": "exited" if exited else "active",
                "version": 1,
            }
        )
    placements = []
    for _ in range(n_placements):
        lr = rng.choice(learners)
        o = rng.choice(offers)
        start = lr["entry_date"] + dt.timedelta(days=rng.randint(10, 150))
        placements.append(
            {
                "learner_id": lr["id"],
                "offer_id": o["id"],
                "company_id": o["company_id"],
                "rome_code": o["rome_code"],
                "start_date": start,
                "end_date": start + dt.timedelta(days=14),
                "status": rng.choices(
                    ["proposed", "confirmed", "in_progress", "done", "cancelled"],
                    [0.1, 0.1, 0.1, 0.6, 0.1],
                )[0],
                "kind": "pmsmp",
                "version": 1,
            }
        )
    return {
        Site: sites,
        User: users,
        Company: companies,
        CompanyStatusChange: changes,
        Interaction: interactions,
        Offer: offers,
        Learner: learners,
        Placement: placements,
    }


def _naf_codes() -> list[str]:
    divisions = sorted(naf_division_sections())
    return [f"{d}.{k:02d}Z" for d in divisions for k in (1, 2)]


def load(url: str, data) -> float:
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    with make_session_factory(engine).begin() as s:
        load_reference_tables(s)
    now = dt.datetime(2026, 11, 23, 12)
    with engine.begin() as conn:  # Core executemany ("insertmanyvalues" batches)
        for model, rows in data.items():
            table = model.__table__
            stamps = {c: now for c in ("created_at", "updated_at") if c in table.c}
            full = [{**stamps, **r} for r in rows]
            for i in range(0, len(full), 10_000):
                conn.execute(insert(table), full[i : i + 10_000])
    if engine.dialect.name == "postgresql":
        # VACUUM as well as ANALYZE: a freshly bulk-loaded table has no visibility map, so
        # PostgreSQL's index-only scans (the covering and partial indexes of the dashboard)
        # would visit the heap for every row until autovacuum gets round to it.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:  # fresh statistics for the planner
            conn.execute(text("ANALYZE"))
            conn.commit()
    if engine.dialect.name == "postgresql":  # ids were given explicitly
        with engine.begin() as conn:
            for model in data:
                table = model.__tablename__
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )
                )
    engine.dispose()
    return time.perf_counter() - started


# --------------------------------------------------------------------------- the two ways


RUNS = 5
# What the dashboard runs, one part at a time: the two partner tables are one computation.
PROFILE_PARTS = {
    "partner_tables": partner_tables,
    **{k: fn for k, fn in STAT_FUNCTIONS.items() if not k.startswith("partners_by_")},
}


def sql_way(url: str, per_table: bool = False):
    """Wall-clock and this process's CPU time of the whole dashboard, RUNS times
    (and, with ``per_table``, each table's own time per run)."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    times, cpu, tables, parts = [], [], {}, {}
    for _ in range(RUNS):
        with factory() as s:
            t, c = time.perf_counter(), time.process_time()
            tables = dashboard(s, SYSTEM, FILTERS)
            tables["unused_offers"] = unused_offers(s, SYSTEM, FILTERS)
            tables["points"] = partner_points(s, SYSTEM, FILTERS)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        if per_table:
            with factory() as s:
                for key, fn in PROFILE_PARTS.items():
                    t = time.perf_counter()
                    fn(s, SYSTEM, FILTERS)
                    parts.setdefault(key, []).append(time.perf_counter() - t)
    engine.dispose()
    return times, cpu, tables, parts


def naive_way(url: str) -> tuple[float, dict[str, object]]:
    """Read every table into pandas and compute the same headline figures there."""
    engine = make_engine(url)
    t = time.perf_counter()
    with engine.connect() as conn:

        def read(model):
            return pd.read_sql(select(model.__table__), conn)

        sites, companies, changes = read(Site), read(Company), read(CompanyStatusChange)
        inter, offers, learners = read(Interaction), read(Offer), read(Learner)
        plc, rome, users = read(Placement), read(RomeJob), read(User)
    f, to = pd.Timestamp(FILTERS.date_from), pd.Timestamp(FILTERS.date_to)
    end_excl = to + pd.Timedelta(days=1)
    for df, cols in (
        (learners, ["entry_date", "exit_date"]),
        (plc, ["start_date", "end_date"]),
        (offers, ["start_date", "end_date"]),
        (inter, ["occurred_at", "next_action_due"]),
        (changes, ["changed_at"]),
    ):
        for c in cols:
            df[c] = pd.to_datetime(df[c])
    out: dict[str, object] = {}
    # (a) school report
    entered = learners[learners.entry_date.between(f, to)].groupby("site_id").size()
    pl = plc.merge(learners[["id", "site_id", "entry_date"]], left_on="learner_id", right_on="id")
    hosted = pl[
        pl.status.isin(["in_progress", "done"]) & (pl.start_date <= to) & (pl.end_date >= f)
    ]
    out["learners_entered"] = int(entered.sum())
    out["host_companies"] = int(hosted.company_id.nunique())
    hosted.groupby("site_id").company_id.nunique()
    # (b) partners
    live = companies[companies.merged_into_id.isna() & companies.retired_at.isna()].copy()
    live["section"] = live.naf.str[:2].map(naf_division_sections())
    start12 = pd.Timestamp(FILTERS.date_to.replace(year=FILTERS.date_to.year - 1)) + pd.Timedelta(
        days=1
    )
    placed = plc[plc.status.isin(["confirmed", "in_progress", "done"])]
    active = set(
        inter[(inter.occurred_at >= start12) & (inter.occurred_at < end_excl)].company_id
    ) | set(placed[(placed.start_date <= to) & (placed.end_date >= start12)].company_id)
    first = changes[changes.to_status == "partner"].groupby("company_id").changed_at.min()
    live["active"] = live.id.isin(active)
    live["new"] = live.id.map(first).between(f, end_excl, inclusive="left")
    live["dormant"] = (live.status == "partner") & ~live.active
    live.groupby("section", dropna=False)[["active", "new", "dormant"]].sum()
    out["active_partners"] = int(live.active.sum())
    out["new_partners"] = int(live.new.sum())
    doms = offers.merge(rome, left_on="rome_code", right_on="code")[["company_id", "domain"]]
    doms.drop_duplicates().merge(live, left_on="company_id", right_on="id").groupby("domain")[
        ["active", "new", "dormant"]
    ].sum()
    # (c) capacity
    used = plc[plc.status != "cancelled"].groupby("offer_id").size()
    per = offers[
        (offers.start_date.isna() | (offers.start_date <= to))
        & (offers.end_date.isna() | (offers.end_date >= f))
    ].copy()
    per["used"] = per.id.map(used).fillna(0).clip(upper=per.seats)
    per = per.merge(companies[["id", "site_id"]], left_on="company_id", right_on="id")
    per.groupby("site_id")[["seats", "used"]].sum()
    out["occupancy_pct"] = round(100 * per.used.sum() / per.seats.sum(), 1)
    # (d) placements
    in_period = pl[
        pl.status.isin(["confirmed", "in_progress", "done"]) & pl.start_date.between(f, to)
    ]
    in_period.groupby([in_period.start_date.dt.strftime("%Y-%m"), "site_id"]).size()
    in_period.groupby("rome_code").size()
    out["placements"] = len(in_period)
    first_start = placed.groupby("learner_id").start_date.min()
    cohort = learners[learners.entry_date.between(f, to)].copy()
    cohort["first"] = cohort.id.map(first_start)
    delays = (cohort["first"] - cohort.entry_date).dt.days.dropna().clip(lower=0)
    out["median_days_to_first"] = float(statistics.median(delays)) if len(delays) else None
    exits = learners[learners.exit_date.between(f, to)]
    exits.groupby(["site_id", "exit_outcome"], dropna=False).size()
    # (e) officers
    period_inter = inter[(inter.occurred_at >= f) & (inter.occurred_at < end_excl)]
    monday = period_inter.occurred_at.dt.normalize() - pd.to_timedelta(
        period_inter.occurred_at.dt.day_of_week, unit="D"
    )
    period_inter.groupby([period_inter.author_id, monday]).size()
    overdue = inter[(inter.next_action_due < pd.Timestamp(TODAY)) & ~inter.next_action_done]
    overdue.groupby("author_id").size()
    out["overdue"] = len(overdue)
    _ = (sites, users)
    elapsed = time.perf_counter() - t
    engine.dispose()
    return elapsed, out


def headline(tables: dict[str, pd.DataFrame]) -> dict[str, object]:
    sector = tables["partners_by_sector"].iloc[-1]
    return {
        "learners_entered": int(tables["school_report"].iloc[-1]["learners_entered"]),
        "host_companies": int(tables["school_report"].iloc[-1]["host_companies"]),
        "active_partners": int(sector["active_companies"]),
        "new_partners": int(sector["new_partners"]),
        "occupancy_pct": float(tables["capacity"].iloc[-1]["occupancy_pct"]),
        "placements": int(tables["placements_by_site"].iloc[-1]["placements"]),
        "median_days_to_first": float(
            tables["placements_by_site"].iloc[-1]["median_days_to_first"]
        ),
        "overdue": int(tables["overdue_followups"]["overdue"].sum()),
    }


def run_one(label: str, url: str, data, per_table: bool = False, naive: bool = True) -> dict:
    load_s = load(url, data) if data is not None else 0.0
    times, cpu, tables, parts = sql_way(url, per_table)
    naive_runs = [naive_way(url) for _ in range(2)] if naive else []
    naive_s = statistics.median(r[0] for r in naive_runs) if naive_runs else float("nan")
    sql_figures = headline(tables)
    agree = sql_figures == naive_runs[0][1] if naive_runs else None
    median = statistics.median(times)
    print(
        f"{label:10} load {load_s:6.2f} s | dashboard SQL first {times[0] * 1000:7.1f} ms, "
        f"median of {RUNS} {median * 1000:7.1f} ms, best {min(times) * 1000:7.1f} ms "
        f"(client CPU median {statistics.median(cpu) * 1000:6.1f} ms) | "
        f"naive pandas median of 2 {naive_s * 1000:7.1f} ms | "
        f"ratio naive/SQL {naive_s / median:5.1f}x | figures agree: {agree} "
        f"| load avg {os.getloadavg()[0]:.1f}"
    )
    for key, ts in parts.items():
        print(f"   {key:22} median {statistics.median(ts) * 1000:7.1f} ms")
    if naive_runs and not agree:
        print("   SQL:  ", sql_figures)
        print("   naive:", naive_runs[0][1])
    return {"label": label, "first": times[0], "median": median, "naive": naive_s, "agree": agree}


def run_databases(args, data, opts, label_suffix: str = "") -> list[dict]:
    """Run on SQLite and/or PostgreSQL; kept databases only for a single size (no --scaling)."""
    results = []
    if args.db in ("both", "sqlite"):
        keep = args.sqlite_file if not label_suffix else None
        with sqlite_database(keep) as (url, loaded):
            results.append(run_one(f"SQLite{label_suffix}", url, None if loaded else data, **opts))
    if args.db in ("both", "postgresql"):
        keep = args.pg_database if not label_suffix else None
        with postgres_database(args.pg_url, "passerelle_bench_stats", keep) as (url, loaded):
            label = f"PostgreSQL{label_suffix}"
            results.append(run_one(label, url, None if loaded else data, **opts))
    return results


SCALING = (10_000, 50_000, 150_000, 1_000_000)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--companies", type=int, default=10_000)
    ap.add_argument("--interactions", type=int, default=100_000)
    ap.add_argument("--placements", type=int, default=20_000)
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--db", choices=["both", "sqlite", "postgresql"], default="both")
    ap.add_argument("--per-table", action="store_true", help="also time each table (profile)")
    ap.add_argument("--no-naive", action="store_true", help="skip the pandas comparison")
    ap.add_argument(
        "--sqlite-file",
        type=Path,
        help="keep the SQLite database in this file; reused without reloading if it exists",
    )
    ap.add_argument(
        "--pg-database",
        help="keep the PostgreSQL database under this name; reused without reloading if it exists",
    )
    ap.add_argument(
        "--scaling",
        action="store_true",
        help=f"dashboard time at {', '.join(f'{n:,}' for n in SCALING)} interactions "
        "(fresh databases, no naive run)",
    )
    args = ap.parse_args(argv)
    opts = {"per_table": args.per_table, "naive": not args.no_naive}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = []
    sizes = SCALING if args.scaling else (args.interactions,)
    for n in sizes:
        t = time.perf_counter()
        data = generate(args.companies, n, args.placements)
        counts = ", ".join(f"{m.__tablename__}={len(r)}" for m, r in data.items())
        print(f"generated in {time.perf_counter() - t:.2f} s: {counts}")
        if args.scaling:
            results += run_databases(args, data, {**opts, "naive": False}, f" {n:>9,}")
        else:
            results += run_databases(args, data, opts)
        del data
    if args.scaling:
        print("scaling (median of 5 per size):")
        for r in results:
            print(f"   {r['label']:22} {r['median'] * 1000:7.1f} ms")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok = all(r["median"] < 1.0 and r["agree"] is not False for r in results)
    print("target (median < 1 s on each database, same figures):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
