"""passerelle allocate [--site S] [--from D --to D] [--top-k K]

Proposes one offer per learner awaiting a placement, every seat respected,
maximising the total score, and prints it beside a greedy first-come
allocation. Nothing is booked: trainers confirm each proposal in the app.
"""

from __future__ import annotations

import datetime as dt


def register(sub) -> None:
    p = sub.add_parser("allocate", help="optimal cohort allocation vs greedy first-come")
    p.add_argument("--site", help="site name (default: every site)")
    p.add_argument("--from", dest="date_from", type=dt.date.fromisoformat, help="period start")
    p.add_argument("--to", dest="date_to", type=dt.date.fromisoformat, help="period end")
    p.add_argument("--top-k", type=int, default=20, help="candidate offers per learner")
    p.add_argument("--today", type=dt.date.fromisoformat, help="reference date (default: today)")
    p.add_argument("--show", action="store_true", help="list the optimal proposals")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from crm.auth import SYSTEM
    from crm.commands._common import unit_of_work
    from crm.services.matching import allocate_cohort

    with unit_of_work() as session:
        result = allocate_cohort(
            session,
            SYSTEM,
            site_name=args.site,
            date_from=args.date_from,
            date_to=args.date_to,
            top_k=args.top_k,
            today=args.today,
        )
    rep = result.report
    print(f"Learners awaiting a placement: {rep.learners}")
    print(f"{'method':<10} {'total score':>12} {'placed':>8} {'worst-served learner':>28}")
    for alloc in (rep.optimal, rep.greedy):
        lid, score = alloc.worst
        worst = f"{result.learner_refs.get(lid, '-')} ({score:.3f})" if lid is not None else "-"
        print(f"{alloc.method:<10} {alloc.total_score:>12.3f} {alloc.placed:>8} {worst:>28}")
    if rep.greedy.total_score > 0:
        gain = rep.optimal.total_score / rep.greedy.total_score - 1
        print(
            f"Optimal vs greedy: {gain:+.1%} total score, {rep.optimal.placed - rep.greedy.placed:+d} placed"
        )
    if args.show:
        for lid, offer in sorted(
            rep.optimal.assignment.items(), key=lambda t: result.learner_refs[t[0]]
        ):
            print(
                f"  {result.learner_refs[lid]:<14} -> {result.offer_refs.get(offer, offer):<18} "
                f"{rep.optimal.scores[lid]:.3f}"
            )
    return 0
