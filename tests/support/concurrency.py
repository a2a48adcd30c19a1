"""A small harness to run simulated users against one database.

``run_users`` starts N threads; each thread is one user with its own random
generator and opens its own sessions from the shared factory (a session is never
shared between threads). Every user performs a fixed number of operations drawn
from a weighted list of callables; every exception is collected with the user
and operation that raised it. Operations record what they committed in
``ctx.committed`` so that tests can check afterwards that every committed write
is in the database.

Extend it by writing more operations: ``def op(ctx: UserContext) -> None``.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker


@dataclass
class UserContext:
    """What one simulated user has at hand."""

    factory: sessionmaker[Session]
    user: int
    rng: random.Random
    committed: list[tuple[str, object]]  # (kind, key) of writes known to be committed
    extra: dict = field(default_factory=dict)  # shared test data (read-only by convention)
    step: int = 0

    def record(self, kind: str, key: object) -> None:
        self.committed.append((kind, key))


@dataclass(frozen=True)
class Operation:
    name: str
    fn: Callable[[UserContext], object]
    weight: float = 1.0


@dataclass
class Failure:
    user: int
    operation: str
    error: BaseException
    trace: str

    def __str__(self) -> str:
        return f"user {self.user} / {self.operation}: {self.error!r}\n{self.trace}"


@dataclass
class Report:
    users: int
    operations_per_user: int
    done: Counter = field(default_factory=Counter)  # operation name -> successes
    failures: list[Failure] = field(default_factory=list)
    committed: list[tuple[str, object]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.done.values()) + len(self.failures)

    def committed_keys(self, kind: str) -> list[object]:
        return [k for kd, k in self.committed if kd == kind]

    def summary(self) -> str:
        ops = ", ".join(f"{k}={v}" for k, v in sorted(self.done.items()))
        return (
            f"{self.users} users x {self.operations_per_user} operations in "
            f"{self.seconds:.1f}s: {ops}; failures={len(self.failures)}"
        )


def run_users(
    factory: sessionmaker[Session],
    operations: Sequence[Operation],
    *,
    users: int,
    operations_per_user: int,
    seed: int = 0,
    extra: dict | None = None,
    timeout_s: float = 120.0,
) -> Report:
    """Run ``users`` threads of ``operations_per_user`` weighted random operations."""
    report = Report(users=users, operations_per_user=operations_per_user)
    lock = threading.Lock()
    start = threading.Barrier(users)
    weights = [op.weight for op in operations]

    def user_thread(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        committed: list[tuple[str, object]] = []
        ctx = UserContext(factory, index, rng, committed, extra or {})
        done: Counter = Counter()
        failures: list[Failure] = []
        start.wait()  # everyone starts together: maximise overlap
        for step in range(operations_per_user):
            ctx.step = step
            op = rng.choices(operations, weights)[0]
            try:
                op.fn(ctx)
                done[op.name] += 1
            except BaseException as exc:  # collected, reported by the test
                failures.append(Failure(index, op.name, exc, traceback.format_exc()))
        with lock:
            report.done.update(done)
            report.failures.extend(failures)
            report.committed.extend(committed)

    threads = [threading.Thread(target=user_thread, args=(i,), daemon=True) for i in range(users)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout_s)
    report.seconds = time.perf_counter() - t0
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        raise TimeoutError(f"simulated users still running after {timeout_s}s: {stuck}")
    return report
