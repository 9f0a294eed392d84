"""Sign-in benchmark: does the answer's timing tell which emails have an account, and what does guessing get?

Measured side by side in one run, through the HTTP app in-process (FastAPI TestClient) on a temporary SQLite file:

  1. `POST /api/auth/token` with a wrong password for a known email, for an unknown email, and for a known email
     without a password (an account-only login), interleaved, with the lockout raised out of the way: median and
     p90 of each and the ratios (1.0 = the timing tells nothing);
  2. with the shipped limits: 100 wrong passwords then the right one — how many were checked, how many refused with
     429, what the right password got, and the guesses per second an attacker is left with.

Run:  .venv/bin/python -m bench.sign_in [--rounds N]

A measurement script, not a test: it changes no product code.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

KNOWN, NO_PASSWORD, UNKNOWN = "known@bench.test", "nopass@bench.test", "unknown@bench.test"
PASSWORD = "Bench-pass-123!"


def _app(db: Path, *, limits_off: bool):  # type: ignore[no-untyped-def]
    os.environ["REVIEWFLOW_DATABASE_URL"] = f"sqlite:///{db}"
    for name in ("SIGNIN_MAX_FAILURES", "SIGNIN_MAX_FAILURES_PER_ADDRESS"):
        if limits_off:
            os.environ[f"REVIEWFLOW_{name}"] = str(10**9)
        else:
            os.environ.pop(f"REVIEWFLOW_{name}", None)
    from engine.core.settings import get_settings
    from engine.org import accounts
    from engine.store import db as database
    from engine.store import schema

    get_settings.cache_clear()
    database.make_engine.cache_clear()
    schema.upgrade()
    with database.new_session() as s:
        accounts.create_account(s, email=KNOWN, roles=[], password=PASSWORD, actor="bench")
        accounts.create_account(s, email=NO_PASSWORD, roles=["auditor"], password=None, actor="bench")
    from fastapi.testclient import TestClient

    from api.app import create_app

    return TestClient(create_app())


def _post(client, email: str, password: str) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    r = client.post("/api/auth/token", json={"email": email, "password": password})
    return r.status_code, (time.perf_counter() - start) * 1000


def timing(rounds: int, tmp: Path) -> None:
    client = _app(tmp / "timing.db", limits_off=True)
    samples: dict[str, list[float]] = {KNOWN: [], UNKNOWN: [], NO_PASSWORD: []}
    for _ in range(3):  # warm up
        for email in samples:
            _post(client, email, "wrong-guess")
    for _ in range(rounds):
        for email in samples:
            status, elapsed = _post(client, email, "wrong-guess")
            assert status == 401, status
            samples[email].append(elapsed)
    print(f"1. wrong password, {rounds} rounds interleaved (ms)")
    print(f"   {'email':<22}{'median':>9}{'p90':>9}{'ratio to known':>16}")
    base = statistics.median(samples[KNOWN])
    for email, values in samples.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"   {email:<22}{median:>9.1f}{p90:>9.1f}{median / base:>16.2f}")


def guessing(tmp: Path) -> None:
    client = _app(tmp / "guessing.db", limits_off=False)
    start = time.perf_counter()
    answers: dict[int, int] = {}
    for _ in range(100):
        status, _ms = _post(client, KNOWN, "wrong-guess")
        answers[status] = answers.get(status, 0) + 1
    spent = time.perf_counter() - start
    right, _ = _post(client, KNOWN, PASSWORD)
    checked = answers.get(401, 0)
    print("2. 100 wrong passwords for one email, then the right one (shipped limits)")
    print(f"   checked (401) {checked}, refused unchecked (429) {answers.get(429, 0)}; the right password got {right}")
    print(f"   {100 / spent:.0f} requests/s, of which {checked} guesses were checked in this window")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        timing(args.rounds, Path(tmp))
        guessing(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
