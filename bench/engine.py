"""Engine benchmark: one diagram (five sequential user tasks in lane Employee, one integer field each), measured
side by side in one run —

  1. raw SpiffWorkflow in memory (parse once; new workflow, engine steps, complete each READY task);
  2. raw SpiffWorkflow, stateless: load → complete → dump around every step (engine.spiff.load/dump);
  3. our persisted use-case functions on a temporary SQLite file (start_instance in a transaction, then
     complete_task five times) — no HTTP;
  4. the HTTP API against a real uvicorn server in a subprocess: latency of create-cycle, launch (inline jobs, so it
     includes starting the one instance) and complete-task, over a keep-alive httpx client;
  5. (with --pg URL) the persisted throughput of (3) on a fresh PostgreSQL database, dropped afterwards.

Run:  .venv/bin/python -m bench.engine [--instances N] [--requests N] [--pg URL] [--profile]

This is a measurement script, not a test: it changes no product code and asserts only that each run really reached
the end of the diagram.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import pstats
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent
KEY = "five_steps"
FILES = ("five_steps.bpmn", *(f"step{i}.schema.json" for i in range(1, 6)))
STEPS = 5
HR = "hr@bench.test"
HR_PASSWORD = "Bench-pass-123!"
TARGET_COMPLETE_P50_MS = 11.0
TARGET_PERSISTED_SHARE = 0.50
WARMUP = 3

# ---------------------------------------------------------------------------------------------- helpers


def pct(values: list[float], p: int) -> float:
    """The p-th percentile (inclusive method), in the unit of `values`."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def subject_payload(i: int) -> dict[str, Any]:
    """Start data shaped like engine.runtime.start_instance's, so state sizes are comparable."""
    person = {
        "email": f"e{i}@bench.test",
        "name": f"Employee {i}",
        "employee_no": f"E{i:05d}",
        "department": "Bench",
        "title": "Engineer",
        "locale": "en",
    }
    return {
        "subject": person,
        "manager": None,
        "cycle": {"id": 1, "name": "bench"},
        "settings": {},
        "direct_reports": [],
    }


def files() -> list[tuple[str, bytes]]:
    return [(n, (DATA / n).read_bytes()) for n in FILES]


def org_csv(count: int, offset: int = 0) -> bytes:
    rows = ["employee_no,name,email,manager_email,department,title,locale,hr_partner_email"]
    if offset == 0:
        rows.append(f"H0001,Bench HR,{HR},,People,HR Partner,en,")
    rows += [
        f"E{i:05d},Employee {i},e{i}@bench.test,{HR},Bench,Engineer,en,{HR}" for i in range(offset, offset + count)
    ]
    return ("\n".join(rows) + "\n").encode()


def emails(count: int, offset: int = 0) -> list[str]:
    return [f"e{i}@bench.test" for i in range(offset, offset + count)]


# ---------------------------------------------------------------------------------------------- 1 and 2: raw


def parsed_spec() -> tuple[Any, dict[str, Any]]:
    from engine.bpmn import spiff

    parsed = spiff.parse_files([(n, d) for n, d in files() if n.endswith(".bpmn")])
    assert [t.name for t in parsed.user_tasks] == [f"step{i}" for i in range(1, 6)], parsed.user_tasks
    return parsed.spec, parsed.subprocess_specs


def raw_in_memory(spec: tuple[Any, dict[str, Any]], n: int) -> float:
    """Seconds for `n` instances start→end, entirely in memory (SpiffWorkflow API, our restricted script engine)."""
    from SpiffWorkflow.util.task import TaskState

    from engine.bpmn import spiff

    t0 = time.perf_counter()
    for i in range(n):
        wf = spiff.new_workflow(-1, spec, subject_payload(i))
        wf.do_engine_steps()
        done = 0
        while True:
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            for task in ready:
                task.set_data(value=i)
                task.run()
                done += 1
            wf.do_engine_steps()
        assert wf.is_completed() and done == STEPS
    return time.perf_counter() - t0


def raw_stateless(spec: tuple[Any, dict[str, Any]], n: int) -> tuple[float, int]:
    """Seconds for `n` instances where every step is load → complete → dump (the persisted path's engine work);
    also the final state size in bytes."""
    from engine.bpmn import spiff

    size = 0
    t0 = time.perf_counter()
    for i in range(n):
        wf = spiff.new_workflow(-2, spec, subject_payload(i))
        spiff.run_engine(wf)
        state = spiff.dump(wf)
        for _ in range(STEPS):
            wf = spiff.load(state, spec)
            [ready] = spiff.ready_tasks(wf)
            spiff.complete(wf, ready.spiff_id, {"value": i})
            state = spiff.dump(wf)
        assert spiff.is_completed(wf)
        size = len(state)
    return time.perf_counter() - t0, size


# ---------------------------------------------------------------------------------------------- 3: persisted


def prepare(engine: Any, people_count: int) -> None:
    """Migrate, import HR plus `people_count` employees, give HR a login, deploy the diagram."""
    from engine.org import accounts, people
    from engine.process import definitions
    from engine.store import db
    from engine.store.schema import upgrade

    upgrade(engine)
    session = db.new_session(engine)
    try:
        for start in range(0, people_count, 500):
            result = people.import_csv(session, data=org_csv(min(500, people_count - start), start), actor="bench")
            assert not getattr(result, "errors", None), result
        accounts.create_account(session, email=HR, roles=["hr_admin"], password=HR_PASSWORD, actor="bench")
        hr = people.by_email(session, HR)
        assert hr is not None
        definitions.deploy(session, actor=hr, files=files())
        session.commit()
    finally:
        session.close()


class Persisted:
    def __init__(self, total: float, starts: list[float], completes: list[float], n: int) -> None:
        self.total, self.starts, self.completes, self.n = total, starts, completes, n

    @property
    def rate(self) -> float:
        return self.n / self.total


def persisted_run(engine: Any, subjects: list[str], *, profile: cProfile.Profile | None = None) -> Persisted:
    """Start one instance per subject (start_instance in one transaction each, as the launch job does) and complete
    its five tasks with complete_task, one subject after the other."""
    from sqlalchemy import select

    from engine.org import people
    from engine.process import runtime
    from engine.review import cycles
    from engine.store import db
    from engine.store.models import Task
    from engine.store.transaction import transact

    session = db.new_session(engine)
    try:
        hr = people.by_email(session, HR)
        assert hr is not None
        cycle = cycles.create_cycle(
            session, actor=hr, name=f"bench {uuid.uuid4().hex[:6]}", definition=KEY, participants={"emails": subjects}
        )
        persons = [people.by_email(session, e) for e in subjects]
        session.commit()
        starts: list[float] = []
        completes: list[float] = []
        if profile:
            profile.enable()
        t0 = time.perf_counter()
        for person in persons:
            assert person is not None
            t = time.perf_counter()

            def start(p: Any = person) -> Any:
                return runtime.start_instance(
                    session, cycle=cycles.get_cycle(session, cycle.id), subject=p, actor="system:launcher"
                )

            instance = transact(session, start)
            starts.append(time.perf_counter() - t)
            query = select(Task).where(Task.instance_id == instance.id, Task.status == "open")
            open_tasks = list(session.scalars(query))
            done = 0
            while open_tasks:
                t = time.perf_counter()
                open_tasks = runtime.complete_task(
                    session, task_id=open_tasks[0].id, actor=person, data={"value": done}
                )
                completes.append(time.perf_counter() - t)
                done += 1
            assert done == STEPS, done
        total = time.perf_counter() - t0
        if profile:
            profile.disable()
        session.expire_all()
        from engine.store.models import Instance

        states = session.scalars(select(Instance.status).where(Instance.cycle_id == cycle.id)).all()
        assert len(states) == len(subjects) and set(states) == {"completed"}, set(states)
        return Persisted(total, starts, completes, len(subjects))
    finally:
        session.close()


def sqlite_engine(path: Path) -> Any:
    from engine.store import db

    return db.make_engine(f"sqlite:///{path}")


# ---------------------------------------------------------------------------------------------- 4: HTTP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int) -> None:
    """The server subprocess: `reviewflow serve` minus the job thread (jobs inline, so launch starts the instance
    within the request) and minus the per-request access log."""
    import uvicorn

    from api.app import create_app
    from engine import bootstrap, jobs
    from engine.store import schema

    schema.upgrade()
    bootstrap.start()
    jobs.set_mode("inline")
    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")


class Http:
    def __init__(self) -> None:
        self.create: list[float] = []
        self.launch: list[float] = []
        self.list_tasks: list[float] = []
        self.complete: list[float] = []
        self.wall = 0.0
        self.instances = 0


def http_run(workdir: Path, requests: int) -> Http:
    import httpx

    from engine.org import accounts
    from engine.store import db

    path = workdir / "http.db"
    url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    subjects = emails(requests + WARMUP)
    prepare(engine, len(subjects))
    session = db.new_session(engine)
    tokens = {
        e: accounts.issue_token(session, email=e, hours=None, label="bench", actor="bench") for e in [HR, *subjects]
    }
    session.close()
    engine.dispose()

    port = free_port()
    env = {**os.environ, "REVIEWFLOW_DATABASE_URL": url}
    env.pop("REVIEWFLOW_BROKER_URL", None)
    log = open(workdir / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.engine", "--serve", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    out = Http()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start:\n" + (workdir / "server.log").read_text())
                time.sleep(0.1)
            hr_h = {"Authorization": f"Bearer {tokens[HR]}"}
            t_wall = time.perf_counter()
            for i, email in enumerate(subjects):
                record = i >= WARMUP
                if i == WARMUP:
                    t_wall = time.perf_counter()
                h = {"Authorization": f"Bearer {tokens[email]}"}
                t = time.perf_counter()
                r = client.post(
                    "/api/cycles",
                    headers=hr_h,
                    json={"name": f"bench {i}", "definition": KEY, "participants": {"emails": [email]}},
                )
                d_create = time.perf_counter() - t
                assert r.status_code == 201, r.text
                cycle_id = r.json()["id"]
                t = time.perf_counter()
                r = client.post(f"/api/cycles/{cycle_id}/launch", headers=hr_h)
                d_launch = time.perf_counter() - t
                assert r.status_code == 202 and r.json()["counts"]["open_tasks"] == 1, r.text
                t = time.perf_counter()
                r = client.get("/api/tasks", headers=h)
                d_list = time.perf_counter() - t
                assert r.status_code == 200, r.text
                [task] = r.json()["items"]
                task_id, done, d_completes = task["id"], 0, []
                while task_id is not None:
                    t = time.perf_counter()
                    r = client.post(f"/api/tasks/{task_id}/complete", headers=h, json={"data": {"value": done}})
                    d_completes.append(time.perf_counter() - t)
                    assert r.status_code == 200, r.text
                    done += 1
                    mine = [n["id"] for n in r.json()["next"] if n["yours"]]
                    task_id = mine[0] if mine else None
                assert done == STEPS, done
                if record:
                    out.create.append(d_create)
                    out.launch.append(d_launch)
                    out.list_tasks.append(d_list)
                    out.complete += d_completes
                    out.instances += 1
            out.wall = time.perf_counter() - t_wall
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    return out


# ---------------------------------------------------------------------------------------------- 5: PostgreSQL


def pg_run(admin_url: str, n: int) -> tuple[Persisted, str]:
    from sqlalchemy import create_engine, text

    from engine.process import definitions
    from engine.store import db

    admin_url = db.normalize_url(admin_url)
    name = f"rf_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = db.make_engine(admin_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        definitions.clear_caches()
        prepare(engine, n + WARMUP)
        persisted_run(engine, emails(WARMUP))
        return persisted_run(engine, emails(n, WARMUP)), str(version)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ---------------------------------------------------------------------------------------------- profile


PROFILE_TARGETS = (
    ("engine/process/runtime.py", "complete_task"),
    ("engine/store/transaction.py", "lock_instance"),
    ("engine/bpmn/spiff.py", "load"),
    ("engine/bpmn/spiff.py", "dump"),
    ("engine/bpmn/spiff.py", "complete"),
    ("engine/bpmn/spiff.py", "snapshot"),
    ("forms/validation.py", "validate"),
    ("engine/process/form_rules.py", "check"),
    ("engine/review/records.py", "project"),
    ("engine/process/runtime.py", "project"),
    ("engine/process/runtime.py", "_task_for_action"),
    ("engine/audit/log.py", "append"),
    ("sqlalchemy/orm/session.py", "commit"),
    ("sqlalchemy/orm/session.py", "flush"),
    ("sqlalchemy/orm/session.py", "refresh"),
    ("sqlalchemy/engine/base.py", "_execute_context"),
    ("~", "of 'sqlite3.Cursor' objects"),
    ("~", "of 'sqlite3.Connection' objects"),
    ("~", "of 'psycopg"),
)


def print_profile(prof: cProfile.Profile, n_completes: int, n_instances: int) -> None:
    stats = pstats.Stats(prof)
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in raw.values())
    print(
        f"\ncProfile of the persisted path ({n_instances} instances, {n_completes} complete_task; profiler overhead"
        " inflates absolute times — read the shares)"
    )
    print(f"  {'function':<48} {'calls':>7} {'cum ms/call':>12} {'share':>7}")
    for file_part, func in PROFILE_TARGETS:
        for (file, line, name), (_cc, nc, _tt, ct, _callers) in raw.items():
            if file_part == "~":
                hit = file == "~" and func in name
                label = name.replace("<", "").replace(">", "")
            else:
                hit = name == func and file.replace("\\", "/").endswith(file_part)
                label = f"{file_part}:{line}:{func}"
            if hit:
                print(f"  {label[:48]:<48} {nc:>7} {ct / nc * 1000:>12.3f} {ct / total:>7.1%}")
    print("  top 12 by own time:")
    rows = sorted(raw.items(), key=lambda kv: -kv[1][2])[:12]
    for (file, line, name), (_cc, nc, tt, _ct, _callers) in rows:
        where = "/".join(Path(file).parts[-2:]) if file != "~" else "~"
        print(f"    {tt / total:>6.1%}  {nc:>7}  {where}:{line} {name}"[:110])


# ---------------------------------------------------------------------------------------------- main


def versions() -> str:
    names = ["SpiffWorkflow", "SQLAlchemy", "fastapi", "starlette", "uvicorn", "httpx", "pydantic", "psycopg"]
    found = []
    for n in names:
        try:
            found.append(f"{n} {metadata.version(n)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--instances",
        type=int,
        default=200,
        help="instances for the persisted run (3) and (5); the raw runs (1, 2) use 10x this",
    )
    ap.add_argument("--requests", type=int, default=200, help="one-person cycles launched and completed over HTTP")
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL admin URL: also run (3) on a fresh database there")
    ap.add_argument("--profile", action="store_true", help="also cProfile a persisted run and print where time goes")
    ap.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return

    workdir = Path(tempfile.mkdtemp(prefix="rf-bench-"))
    os.environ["REVIEWFLOW_DATABASE_URL"] = f"sqlite:///{workdir / 'persisted.db'}"
    os.environ.pop("REVIEWFLOW_BROKER_URL", None)
    # one audit key for every database of the run: the HTTP run's database is prepared in this process and served by
    # another, and both must sign with the same key
    os.environ["REVIEWFLOW_AUDIT_KEY_FILE"] = str(workdir / "bench.audit-key")
    from engine import bootstrap, jobs
    from engine.core.settings import get_settings
    from engine.process import definitions

    get_settings.cache_clear()
    bootstrap.start()
    jobs.set_mode("inline")
    n_raw = args.instances * 10
    started = time.perf_counter()
    try:
        print(
            f"Reviewflow engine bench — {os.cpu_count()} cores, {platform.machine()}, "
            f"{platform.python_implementation()} {platform.python_version()}, {platform.platform(terse=True)}"
        )
        print(f"  {versions()}, SQLite {sqlite3.sqlite_version}")
        print(f"  diagram: {KEY}.bpmn — {STEPS} sequential user tasks (lane Employee), one integer field each")
        gc.collect()

        # 1, 2 -------------------------------------------------------------------------------------------
        spec = parsed_spec()
        raw_in_memory(spec, 20)  # warm-up
        t1 = raw_in_memory(spec, n_raw)
        raw_stateless(spec, 20)
        t2, state_bytes = raw_stateless(spec, n_raw)
        r1, r2 = n_raw / t1, n_raw / t2

        # 3 ----------------------------------------------------------------------------------------------
        definitions.clear_caches()
        eng = sqlite_engine(workdir / "persisted.db")
        prepare(eng, args.instances + WARMUP)
        persisted_run(eng, emails(WARMUP))  # warm-up: parses the spec once, fills the form caches
        p3 = persisted_run(eng, emails(args.instances, WARMUP))
        prof_result = None
        if args.profile:
            prof = cProfile.Profile()
            prepare_n = 40
            definitions.clear_caches()
            eng_p = sqlite_engine(workdir / "profile.db")
            prepare(eng_p, prepare_n + 1)
            persisted_run(eng_p, emails(1))
            prof_p = persisted_run(eng_p, emails(prepare_n, 1), profile=prof)
            prof_result = (prof, len(prof_p.completes), prepare_n)
            eng_p.dispose()
        eng.dispose()

        # 4 ----------------------------------------------------------------------------------------------
        definitions.clear_caches()
        h = http_run(workdir, args.requests)

        # 5 ----------------------------------------------------------------------------------------------
        p5 = None
        if args.pg:
            p5 = pg_run(args.pg, args.instances)

        # report -----------------------------------------------------------------------------------------

        def per_step(rate: float) -> float:
            return 1000 / (rate * (STEPS + 1))  # a step = the start or one of the five completes

        print()
        print(f"{'run':<56} {'inst/s':>8} {'ms/step':>8} {'vs (1)':>7}  note")
        print(f"{'(1) SpiffWorkflow in memory':<56} {r1:>8.1f} {per_step(r1):>8.3f} {'1.00':>7}  n={n_raw}")
        print(
            f"{'(2) SpiffWorkflow load→step→dump (stateless)':<56} {r2:>8.1f} {per_step(r2):>8.3f} "
            f"{r2 / r1:>7.2f}  n={n_raw}, state {state_bytes:,} B at end"
        )
        share3 = p3.rate / r1
        ok3 = "OK" if share3 >= TARGET_PERSISTED_SHARE else "MISSED"
        print(
            f"{'(3) persisted use cases, SQLite file':<56} {p3.rate:>8.1f} {per_step(p3.rate):>8.3f} "
            f"{share3:>7.3f}  n={p3.n}; target ≥ {TARGET_PERSISTED_SHARE:.0%} of (1): {ok3}; {p3.rate / r2:.2f} of (2)"
        )
        if p5 is not None:
            p5r, pg_version = p5
            share5 = p5r.rate / r1
            print(
                f"{'(5) persisted use cases, PostgreSQL ' + pg_version.split()[0]:<56} {p5r.rate:>8.1f} "
                f"{per_step(p5r.rate):>8.3f} {share5:>7.3f}  n={p5r.n}; target ≥ {TARGET_PERSISTED_SHARE:.0%}: "
                f"{'OK' if share5 >= TARGET_PERSISTED_SHARE else 'MISSED'}"
            )
        http_rate = h.instances / h.wall if h.wall else 0.0
        print(
            f"{'(4) HTTP: create + launch + list + 5 completes':<56} {http_rate:>8.1f} {per_step(http_rate):>8.3f} "
            f"{http_rate / r1:>7.3f}  n={h.instances}, sequential, one client"
        )

        print()
        print(f"{'latency (ms)':<52} {'n':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'mean':>8}  target")

        def row(label: str, values: list[float], target: str = "") -> None:
            print(
                f"{label:<52} {len(values):>5} {ms(pct(values, 50)):>8} {ms(pct(values, 95)):>8} "
                f"{ms(pct(values, 99)):>8} {ms(statistics.fmean(values)):>8}  {target}"
            )

        row("(3) start_instance in transact (SQLite)", p3.starts)
        row("(3) complete_task (SQLite)", p3.completes)
        if p5 is not None:
            row("(5) start_instance in transact (PostgreSQL)", p5[0].starts)
            row("(5) complete_task (PostgreSQL)", p5[0].completes)
        row("(4) POST /api/cycles (one person)", h.create)
        row("(4) POST /api/cycles/{id}/launch (starts the instance)", h.launch)
        row("(4) GET /api/tasks", h.list_tasks)
        c50 = pct(h.complete, 50) * 1000
        ok4 = "OK" if c50 <= TARGET_COMPLETE_P50_MS else "MISSED"
        row("(4) POST /api/tasks/{id}/complete", h.complete, f"p50 ≤ {TARGET_COMPLETE_P50_MS:g}: {ok4}")
        overhead = c50 - pct(p3.completes, 50) * 1000
        print(f"  HTTP overhead on complete-task p50 (4 minus 3): {overhead:.2f} ms")
        print(f"  total bench time {time.perf_counter() - started:.1f} s")
        if prof_result is not None:
            print_profile(*prof_result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
