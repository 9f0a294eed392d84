"""Audit append cost: the keyed chain (HMAC-SHA256 + a signed checkpoint after commit) against the unkeyed chain it
replaced (plain sha256, no checkpoint), side by side in one run, interleaved round by round.

  1. the link alone: sha256(prev || row) vs HMAC-SHA256(key, prev || row), per row, in memory;
  2. one transaction appending a batch of events (the size a task completion writes) and committing, on a temporary
     SQLite file: `legacy_append` below is the code before the change, verbatim in effect; the keyed one is
     `engine.audit.append` with its after-commit checkpoint;
  3. the checkpoint write alone (one O_APPEND write; the tick's one adds an fsync);
  4. (with --pg URL) (2) on a fresh PostgreSQL database, dropped afterwards.

Run:  .venv/bin/python -m bench.audit [--rounds N] [--batch N] [--pg URL]

A measurement script, not a test: it changes no product code.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session


def legacy_append(session: Session, *, actor: str, events: list[Any]) -> None:
    """The append before the audit key: plain sha256 links, nothing written outside the database."""
    from engine import audit
    from engine.audit import log as audit_log
    from engine.core import clock
    from engine.store.models import AuditEvent

    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": audit_log._PG_LOCK_KEY})
    head = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, prev = (head[0], head[1]) if head else (0, audit.GENESIS)
    at = clock.now()
    for ev in events:
        seq += 1
        row = AuditEvent(
            seq=seq, at=at, actor=actor, action=ev.action, cycle_id=ev.cycle_id, instance_id=ev.instance_id,
            task_id=ev.task_id, definition_id=ev.definition_id, payload=audit.canonical_json(ev.payload),
            prev_hash=prev,
        )  # fmt: skip
        row.hash = prev = audit.row_hash(row.prev_hash, row)
        session.add(row)
    session.flush()


def _events(batch: int) -> list[Any]:
    from engine.audit.log import Event

    payload = {
        "element": "manager_review",
        "from": "READY",
        "to": "COMPLETED",
        "data": {"rating": 4, "note": "好" * 40},
    }
    return [Event("task.state", dict(payload, n=i), cycle_id=1, instance_id=7, task_id=9) for i in range(batch)]


def us(seconds: float) -> str:
    return f"{seconds * 1e6:8.1f} µs"


def links(n: int) -> tuple[float, float]:
    """Per-row cost of the unkeyed and the keyed link."""
    from engine import audit
    from engine.audit import anchor as audit_anchor
    from engine.core import clock
    from engine.store.models import AuditEvent

    key = audit_anchor.AuditKey.from_secret(Path("k"), os.urandom(32), keyed_from=1, created_at="")
    row = AuditEvent(
        seq=1, at=clock.now(), actor="a@b.c", action="task.state", cycle_id=1, instance_id=2, task_id=3,
        payload=audit.canonical_json(_events(1)[0].payload), prev_hash=audit.GENESIS,
    )  # fmt: skip
    plain: list[float] = []
    keyed: list[float] = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            audit.row_hash(audit.GENESIS, row)
        plain.append((time.perf_counter() - t) / n)
        t = time.perf_counter()
        for _ in range(n):
            audit.row_mac(key, audit.GENESIS, row)
        keyed.append((time.perf_counter() - t) / n)
    return min(plain), min(keyed)


def transactions(url: str, rounds: int, batch: int) -> tuple[list[float], list[float]]:
    """Interleaved: one legacy transaction, one keyed transaction, `rounds` times; seconds per transaction."""
    from engine import audit
    from engine.store import db, schema

    engine = create_engine(url) if not url.startswith("sqlite") else db.make_engine(url)
    schema.upgrade(engine)
    events = _events(batch)
    before: list[float] = []
    after: list[float] = []
    with Session(engine) as session:
        audit.prepare(session)

        def one(append: Callable[..., Any]) -> float:
            t = time.perf_counter()
            session.connection(execution_options={db.WRITE: True})
            append(session, actor="bench@initech.test", events=events)
            session.commit()
            return time.perf_counter() - t

        # both variants append at the head of one table (so the chain mixes them: verify is not the point here)
        for _ in range(10):
            one(legacy_append), one(audit.append)
        for i in range(rounds):  # each round runs both, the first of the two alternating: position effects cancel
            if i % 2:
                after.append(one(audit.append))
                before.append(one(legacy_append))
            else:
                before.append(one(legacy_append))
                after.append(one(audit.append))
    engine.dispose()
    return before, after


def checkpoint_write(n: int) -> tuple[float, float]:
    from engine.audit import anchor as audit_anchor

    key = audit_anchor.AuditKey.from_secret(Path("k"), os.urandom(32), keyed_from=1, created_at="")
    t = time.perf_counter()
    for i in range(n):
        audit_anchor.write_checkpoint(key, seq=i, hash=hashlib.sha256(b"x").hexdigest(), why="commit")
    plain = (time.perf_counter() - t) / n
    m = max(1, n // 20)
    t = time.perf_counter()
    for i in range(m):
        audit_anchor.write_checkpoint(key, seq=i, hash=hashlib.sha256(b"x").hexdigest(), why="tick", sync=True)
    return plain, (time.perf_counter() - t) / m


def report(title: str, before: list[float], after: list[float]) -> None:
    b50, a50 = statistics.median(before), statistics.median(after)
    b95 = statistics.quantiles(before, n=20)[18]
    a95 = statistics.quantiles(after, n=20)[18]
    paired = statistics.median(a - b for a, b in zip(after, before, strict=True))  # round by round: noise cancels
    print(f"  {title}")
    print(f"    unkeyed (before): p50 {us(b50)}   p95 {us(b95)}")
    print(f"    keyed   (now):    p50 {us(a50)}   p95 {us(a95)}   ratio p50 {a50 / b50:.2f}x")
    print(f"    paired difference per transaction (median of keyed − unkeyed, same round): {paired * 1e6:+.0f} µs")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=500, help="transactions of each kind")
    ap.add_argument("--batch", type=int, default=8, help="events per transaction (a task completion writes ~5-10)")
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL admin URL: also run (2) on a fresh database there")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="rf-bench-audit-"))
    os.environ["REVIEWFLOW_DATABASE_URL"] = f"sqlite:///{work / 'audit.db'}"
    os.environ["REVIEWFLOW_AUDIT_KEY_FILE"] = str(work / "audit.key")
    os.environ["REVIEWFLOW_AUDIT_CHECKPOINT_DIR"] = str(work / "checkpoints")
    from engine.core.settings import get_settings

    get_settings.cache_clear()
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"Reviewflow audit bench — {os.cpu_count()} cores, {python}, {platform.platform(terse=True)}")
    print(f"  {args.batch} events per transaction, {args.rounds} rounds")

    plain, keyed = links(20000)
    print("  1. the link, per row (in memory)")
    print(f"    sha256 (before) {us(plain)}   HMAC-SHA256 (now) {us(keyed)}   ratio {keyed / plain:.2f}x")

    before, after = transactions(os.environ["REVIEWFLOW_DATABASE_URL"], args.rounds, args.batch)
    report(f"2. append {args.batch} events + commit, SQLite file (WAL, synchronous=NORMAL)", before, after)

    write, synced = checkpoint_write(2000)
    print(f"  3. checkpoint write: after a commit {us(write)}; on the tick (fsync) {us(synced)}")

    if args.pg:
        name = f"rf_bench_audit_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            os.environ["REVIEWFLOW_DATABASE_URL"] = args.pg.rsplit("/", 1)[0] + f"/{name}"
            os.environ["REVIEWFLOW_AUDIT_KEY_FILE"] = str(work / "pg-audit.key")
            os.environ["REVIEWFLOW_AUDIT_CHECKPOINT_DIR"] = str(work / "pg-checkpoints")
            get_settings.cache_clear()
            before, after = transactions(os.environ["REVIEWFLOW_DATABASE_URL"], args.rounds, args.batch)
            report(f"4. append {args.batch} events + commit, PostgreSQL", before, after)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
