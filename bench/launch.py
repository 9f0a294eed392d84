"""Launch benchmark: a cycle of N people (five_steps: one first task each) launched through the job layer, measured
side by side in one run —

  1. PostgreSQL + Redis with 2 `reviewflow worker` processes (solo pool, started and ready before the clock starts);
  2. the embedded mode: SQLite file, in-process job thread, no broker.

The clock runs from the launch request to the cycle being `active` (every chunk committed). Goal: 10,000 people on
PostgreSQL in under 60 s on this machine.

Run:  .venv/bin/python -m bench.launch [--sizes 1000,10000] [--workers 2] [--pg URL] [--redis URL] [--skip-sqlite]

A measurement script, not a test: it asserts only that every person got exactly one instance.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

DATA = Path(__file__).parent / "data"
FILES = ("five_steps.bpmn", *(f"step{i}.schema.json" for i in range(1, 6)))
HR = "hr@bench.test"
GOAL_S = 60.0


def _reset(env: dict[str, str]) -> None:
    os.environ.update(env)
    from engine.core.settings import get_settings
    from engine.process import definitions
    from engine.store import db

    get_settings.cache_clear()
    db.make_engine.cache_clear()
    db._factory.cache_clear()
    definitions.clear_caches()


def _seed(n: int) -> int:
    """N employees (plus HR) inserted directly, the diagram deployed, a draft cycle for everyone; the cycle id."""
    from engine.org import accounts, people
    from engine.process import definitions
    from engine.review import cycles
    from engine.store import db, schema
    from engine.store.models import Person

    schema.upgrade()
    with db.new_session() as s:
        s.add(Person(email=HR, name="Bench HR", department="People", employee=False))
        s.add_all(
            Person(employee_no=f"E{i:05d}", email=f"e{i}@bench.test", name=f"Person {i}", department=f"D{i % 20}")
            for i in range(n)
        )
        s.commit()
        accounts.create_account(s, email=HR, roles=["hr_admin", "designer"], password="Bench-pass-123!", actor="bench")
        hr = people.by_email(s, HR)
        assert hr is not None
        files = [(name, (DATA / name).read_bytes()) for name in FILES]
        d, _ = definitions.deploy(s, actor=hr, files=files)
        cycle = cycles.create_cycle(s, actor=hr, name="Bench", definition=d.key, participants="all")
        return cycle.id


def _launch_and_wait(cycle_id: int, n: int, timeout: float) -> float:
    from sqlalchemy import func, select

    from engine.org import people
    from engine.review import cycles
    from engine.store import db
    from engine.store.models import Instance

    with db.new_session() as s:
        hr = people.by_email(s, HR)
        t0 = time.perf_counter()
        cycles.launch(s, actor=hr, cycle_id=cycle_id)
    while True:
        with db.new_session() as s:
            if cycles.get_cycle(s, cycle_id).status == "active":
                seconds = time.perf_counter() - t0
                total = s.scalar(select(func.count()).select_from(Instance).where(Instance.cycle_id == cycle_id))
                distinct = s.scalar(select(func.count(func.distinct(Instance.subject_id))))
                assert total == distinct == n, f"{total} instances, {distinct} people, expected {n}"
                return seconds
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"launch of {n} not done after {timeout:.0f} s")
        time.sleep(0.05)


def run_pg(n: int, workers: int, pg_admin: str, redis_url: str) -> float:
    from sqlalchemy import create_engine, text

    from engine import bootstrap, jobs

    name = f"rf_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_admin.rsplit("/", 1)[0] + f"/{name}"
    env = {"REVIEWFLOW_DATABASE_URL": url, "REVIEWFLOW_BROKER_URL": redis_url, "REVIEWFLOW_QUEUE": name}
    _reset(env)
    procs: list[subprocess.Popen] = []
    logdir = Path(tempfile.mkdtemp(prefix="rf-bench-"))
    try:
        cycle_id = _seed(n)
        exe = shutil.which("reviewflow", path=str(Path(sys.executable).parent)) or "reviewflow"
        for i in range(workers):
            log = open(logdir / f"w{i}.log", "w")  # noqa: SIM115
            procs.append(
                subprocess.Popen(
                    [exe, "worker", "--pool", "solo", "--concurrency", "1"],
                    env={**os.environ, **env},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 60
        while not all("ready" in (logdir / f"w{i}.log").read_text() for i in range(workers)):
            if time.monotonic() > deadline:
                raise TimeoutError("workers did not start; see " + str(logdir))
            time.sleep(0.1)
        bootstrap.start()
        jobs.set_mode("celery")
        return _launch_and_wait(cycle_id, n, timeout=600)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)
        from engine.store import db

        db.get_engine().dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(logdir, ignore_errors=True)


def run_sqlite(n: int) -> float:
    from engine import bootstrap, jobs

    work = Path(tempfile.mkdtemp(prefix="rf-bench-sqlite-"))
    os.environ.pop("REVIEWFLOW_BROKER_URL", None)
    _reset({"REVIEWFLOW_DATABASE_URL": f"sqlite:///{work}/rf.db"})
    try:
        cycle_id = _seed(n)
        bootstrap.start()
        jobs.set_mode("thread")
        seconds = _launch_and_wait(cycle_id, n, timeout=1200)
        jobs.wait_idle(60)  # the mail jobs queued behind the launch
        return seconds
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--skip-sqlite", action="store_true")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    rows: list[tuple[str, int, float]] = []
    for n in sizes:
        rows.append((f"PostgreSQL, {args.workers} workers", n, run_pg(n, args.workers, args.pg, args.redis)))
        print(f"  done: {rows[-1]}", flush=True)
        if not args.skip_sqlite:
            rows.append(("embedded SQLite", n, run_sqlite(n)))
            print(f"  done: {rows[-1]}", flush=True)
    print(f"\nLaunch benchmark ({os.cpu_count()} cores; chunk size from REVIEWFLOW_LAUNCH_CHUNK_SIZE, default 100)")
    print(f"{'mode':<26}{'people':>8}{'seconds':>10}{'instances/s':>13}")
    by: dict[tuple[str, int], float] = {}
    for mode, n, sec in rows:
        by[(mode, n)] = sec
        print(f"{mode:<26}{n:>8}{sec:>10.1f}{n / sec:>13.0f}")
    pg = f"PostgreSQL, {args.workers} workers"
    for n in sizes:
        if ("embedded SQLite", n) in by:
            print(f"N={n}: PostgreSQL+workers is {by[('embedded SQLite', n)] / by[(pg, n)]:.2f}x the embedded speed")
    if len(sizes) > 1:
        a, b = sizes[0], sizes[-1]
        print(f"PostgreSQL rate at N={b} vs N={a}: {(b / by[(pg, b)]) / (a / by[(pg, a)]):.2f}x")
    if 10000 in sizes:
        verdict = "met" if by[(pg, 10000)] < GOAL_S else "MISSED"
        print(f"goal 10,000 in < {GOAL_S:.0f} s on PostgreSQL: {verdict} ({by[(pg, 10000)]:.1f} s)")


if __name__ == "__main__":
    main()
