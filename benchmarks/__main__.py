"""``python -m benchmarks``: every benchmark in turn (``python -m benchmarks.NAME`` runs one)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("dedupe", "matching", "cohort", "stats", "imports")


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== benchmarks.{name}", flush=True)
        if importlib.import_module(f"benchmarks.{name}").main([]) != 0:
            failed.append(name)
    print("\ntargets not met:", ", ".join(failed) if failed else "none")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
