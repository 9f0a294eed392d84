"""The `reviewflow` console script, run as a user runs it: a real subprocess against a SQLite file in a fresh
directory. One module-wide world (init → import → account → deploy → cycle) keeps the subprocess count low; the
tamper tests work on copies of its database."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from engine.core.errors import Unauthorized
from engine.org import accounts
from tests import factories as f

REVIEWFLOW = Path(sys.executable).with_name("reviewflow")  # the console script of the environment running pytest
HR = "people@initech.test"
PASSWORD = "L0ng-enough-pass"
CHECKIN_FILES = [str(f.DATA / n) for n in f.CHECKIN]


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """stdout + stderr with whitespace collapsed (rich wraps long messages at the terminal width)."""
        return " ".join((self.out + " " + self.err).split())


def reviewflow(
    home: Path,
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
) -> Run:
    """Run the console script (or `command`) in `home` on its rf.db; `env` adds to or overrides the environment."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWFLOW_")}
    full["REVIEWFLOW_DATABASE_URL"] = f"sqlite:///{home / 'rf.db'}"
    full.update(env or {})
    done = subprocess.run(
        [*(command or [str(REVIEWFLOW)]), *args],
        cwd=home, env=full, input=stdin, capture_output=True, text=True, timeout=60,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def assert_refused(run: Run, *words: str) -> None:
    """A user mistake: non-zero exit, an `Error:` line naming the problem, no Python traceback."""
    assert run.code != 0, run
    assert "Traceback" not in run.out + run.err, run.err
    assert "Error" in run.text, run
    for word in words:
        assert word in run.text, run


def assert_one_error_line(run: Run, *words: str) -> None:
    """Refused in exactly one line on stderr (nothing else printed there)."""
    assert_refused(run, *words)
    assert len(run.err.strip().splitlines()) == 1, run.err


def status_counts(out: str) -> dict[str, int]:
    """The counts from `cycle status`' table: header cells ┃…┃ and value cells │…│."""
    header = next(line for line in out.splitlines() if "┃" in line and "instances" in line)
    values = next(line for line in out.splitlines() if line.startswith("│"))
    names = [c.strip() for c in header.strip("┃").split("┃")]
    return dict(zip(names, (int(c.strip()) for c in values.strip("│").split("│")), strict=True))


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, dict[str, Run]]:
    home = tmp_path_factory.mktemp("cli")
    (home / "org.csv").write_text(f.ORG, encoding="utf-8")
    steps: dict[str, Run] = {}
    steps["init"] = reviewflow(home, "init")
    steps["init again"] = reviewflow(home, "init")
    steps["import"] = reviewflow(home, "people", "import", "org.csv")
    steps["short password"] = reviewflow(
        home, "account", "create", HR, "--role", "hr_admin", "--password-stdin", stdin="short\n"
    )
    steps["account"] = reviewflow(
        home, "account", "create", HR, "--role", "hr_admin", "--password-stdin", stdin=PASSWORD + "\n"
    )
    steps["deploy"] = reviewflow(home, "deploy", *CHECKIN_FILES, "--as", HR)
    participants = ["--participants", "emails:designer1@initech.test"]
    steps["cycle create"] = reviewflow(home, "cycle", "create", "Q4", "quarterly_checkin", *participants, "--as", HR)
    steps["preflight"] = reviewflow(home, "cycle", "preflight", "1")
    steps["launch"] = reviewflow(home, "cycle", "launch", "1", "--as", HR)
    steps["status"] = reviewflow(home, "cycle", "status", "1")
    return home, steps


def ok(world, step: str) -> Run:
    run = world[1][step]
    assert run.code == 0, run
    assert "Traceback" not in run.err
    return run


def query(home: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(home / "rf.db") as conn:
        return conn.execute(sql, params).fetchall()


# --- setting up ---------------------------------------------------------------------------------------------


def test_init_creates_the_database_and_is_idempotent(world):
    home, _ = world
    first, again = ok(world, "init"), ok(world, "init again")
    assert "Database ready" in first.out and "Database ready" in again.out
    assert str(home / "rf.db") in first.text
    assert query(home, "SELECT count(*) FROM person WHERE email = ?", HR) == [(1,)]  # the second init lost nothing


def test_people_import_reports_counts_and_keeps_chinese_names(world):
    home, _ = world
    assert "created 5, updated 0, unchanged 0, errors 0" in ok(world, "import").out
    assert query(home, "SELECT name FROM person WHERE email = 'ceo@initech.test'") == [("钱明",)]


def test_people_import_of_a_gbk_file_tells_the_user_to_save_as_utf8(world):
    home, _ = world
    (home / "gbk.csv").write_bytes(f.ORG.replace("ceo@", "gbk@").encode("gbk"))

    run = reviewflow(home, "people", "import", "gbk.csv")

    assert_refused(run, "UTF-8")
    assert query(home, "SELECT count(*) FROM person WHERE email = 'gbk@initech.test'") == [(0,)]


def test_people_import_dry_run_shows_the_effects_on_running_reviews_and_saves_nothing(world):
    home, _ = world
    lines = f.ORG.splitlines()
    rows = [line + (",false" if "designer1@" in line else ",true") for line in lines[1:] if "designer2@" not in line]
    (home / "leavers.csv").write_text("\n".join([lines[0] + ",active", *rows]) + "\n", encoding="utf-8")
    statuses = query(home, "SELECT id, status FROM instance")

    run = reviewflow(home, "people", "import", "leavers.csv", "--dry-run", "--deactivate-missing")

    assert run.code == 0 and "Traceback" not in run.err, run
    assert "deactivated 2" in run.text and "dry run: nothing saved" in run.text
    assert "running reviews: would change 1" in run.text and "cancel_instance" in run.text
    assert query(home, "SELECT count(*) FROM person WHERE NOT active") == [(0,)]
    assert query(home, "SELECT id, status FROM instance") == statuses


# --- accounts and tokens ------------------------------------------------------------------------------------


def test_account_create_reads_the_password_from_stdin(world):
    home, _ = world
    assert f"account {HR}: roles hr_admin" in ok(world, "account").text
    sql = "SELECT a.password_hash FROM account a JOIN person p ON p.id = a.person_id WHERE p.email = ?"
    ((stored,),) = query(home, sql, HR)
    assert accounts.check_password(PASSWORD, stored)
    assert PASSWORD not in ok(world, "account").text  # never echoed


def test_account_create_grants_the_hr_partner_role(world):
    home, _ = world
    run = reviewflow(home, "account", "create", "design.lead@initech.test", "--role", "hr_partner")
    assert run.code == 0, run
    assert "account design.lead@initech.test: roles hr_partner" in run.text
    sql = "SELECT a.roles FROM account a JOIN person p ON p.id = a.person_id WHERE p.email = ?"
    assert query(home, sql, "design.lead@initech.test") == [('["hr_partner"]',)]


def test_too_short_password_is_refused_with_a_clear_message(world):
    assert_refused(world[1]["short password"], "at least 8 characters")


@pytest.mark.parametrize(
    ("email", "words"),
    [("x@initech.test", ["bogus", "hr_admin", "hr_partner", "auditor"]), ("x", ["valid email"])],
    ids=["unknown-role", "bad-email-and-role"],
)
def test_account_create_with_bad_input_is_refused(world, email, words):
    home, _ = world
    assert_refused(reviewflow(home, "account", "create", email, "--role", "bogus"), *words)
    assert query(home, "SELECT count(*) FROM person WHERE email LIKE 'x%'") == [(0,)]


def test_token_create_prints_a_token_that_authenticates(world):
    home, _ = world
    run = reviewflow(home, "token", "create", HR)
    assert run.code == 0, run
    token = run.out.split()[-1]

    engine = create_engine(f"sqlite:///{home / 'rf.db'}")
    try:
        with Session(engine) as s:
            assert accounts.person_for_token(s, token).email == HR
            with pytest.raises(Unauthorized):
                accounts.person_for_token(s, token[:-1] + ("A" if token[-1] != "A" else "B"))
    finally:
        engine.dispose()


def test_token_for_an_unknown_person_is_refused(world):
    assert_refused(reviewflow(world[0], "token", "create", "unknown@x.test"), "unknown@x.test")


# --- deploy and cycles --------------------------------------------------------------------------------------


def test_deploy_prints_key_and_version(world):
    assert re.search(r"\bquarterly_checkin version 1\b", ok(world, "deploy").out)


def test_cycle_create_preflight_launch_and_status(world):
    assert "cycle 1 created (Q4)" in ok(world, "cycle create").out
    assert "1 of 1 people ready" in ok(world, "preflight").out
    for step in ("launch", "status"):
        run = ok(world, step)
        assert "Q4 — active" in run.out, step
        assert status_counts(run.out) == {
            "instances": 1,
            "running": 1,
            "completed": 0,
            "failed": 0,
            "open_tasks": 1,
            "overdue": 0,
            "cancelled": 0,
        }, step


def test_cycle_status_of_a_missing_cycle_is_refused(world):
    assert_refused(reviewflow(world[0], "cycle", "status", "99"), "99")


# --- audit verify -------------------------------------------------------------------------------------------


def test_audit_verify_of_an_intact_log_exits_0(world):
    home, _ = world
    run = reviewflow(home, "audit", "verify")
    (count,) = query(home, "SELECT count(*) FROM audit_event")[0]
    assert run.code == 0, run
    assert f"intact: {count} events checked" in run.out
    assert count >= 10


def tampered_copy(world, tmp_path: Path, *statements: tuple[str, tuple]) -> Path:
    """Copy the world's database, then do what a superuser would: drop the insert-only triggers and edit rows."""
    with sqlite3.connect(world[0] / "rf.db") as src, sqlite3.connect(tmp_path / "rf.db") as dst:
        src.backup(dst)
    # the audit key and checkpoints stay where they were: the attacker has the database, not these files
    shutil.copy2(world[0] / "rf.db.audit-key", tmp_path / "rf.db.audit-key")
    shutil.copytree(world[0] / "rf.db.audit-checkpoints", tmp_path / "rf.db.audit-checkpoints")
    with sqlite3.connect(tmp_path / "rf.db") as conn:
        triggers = conn.execute("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_event'")
        names = [n for (n,) in triggers.fetchall()]
        assert names, "the insert-only triggers should exist"
        for name in names:
            conn.execute(f'DROP TRIGGER "{name}"')
        for sql, params in statements:
            assert conn.execute(sql, params).rowcount == 1, sql
    return tmp_path


SET_PAYLOAD = "UPDATE audit_event SET payload = ? WHERE seq = ?"


def edit_payload(home: Path) -> tuple[list[tuple[str, tuple]], int]:
    return [(SET_PAYLOAD, ('{"created":99}', 5))], 5


def delete_row(home: Path) -> tuple[list[tuple[str, tuple]], int]:
    return [("DELETE FROM audit_event WHERE seq = ?", (4,))], 4


def swap_payloads(home: Path) -> tuple[list[tuple[str, tuple]], int]:
    payload = dict(query(home, "SELECT seq, payload FROM audit_event WHERE seq IN (3, 8)"))
    assert payload[3] != payload[8]
    return [(SET_PAYLOAD, (payload[8], 3)), (SET_PAYLOAD, (payload[3], 8))], 3


def delete_newest(home: Path) -> tuple[list[tuple[str, tuple]], int]:
    (head,) = query(home, "SELECT max(seq) FROM audit_event")[0]
    return [("DELETE FROM audit_event WHERE seq = ?", (head,))], head


@pytest.mark.parametrize("tamper", [edit_payload, delete_row, swap_payloads, delete_newest])
def test_audit_verify_names_the_first_tampered_seq(world, tmp_path, tamper):
    statements, bad_seq = tamper(world[0])
    home = tampered_copy(world, tmp_path, *statements)

    run = reviewflow(home, "audit", "verify")

    assert run.code == 1, run
    assert "Traceback" not in run.err
    assert re.search(rf"first bad seq {bad_seq}\b", run.text), run


def test_init_creates_the_audit_key_beside_the_database(world):
    home = world[0]
    assert "Audit key:" in ok(world, "init").text and str(home / "rf.db.audit-key") in ok(world, "init").text
    assert (home / "rf.db.audit-key").stat().st_mode & 0o777 == 0o600
    assert list((home / "rf.db.audit-checkpoints").glob("*.log"))


def test_audit_verify_without_the_key_file_is_one_clear_error(world, tmp_path):
    home = tampered_copy(world, tmp_path)
    (home / "rf.db.audit-key").unlink()

    for args in (("audit", "verify"), ("init",)):
        run = reviewflow(home, *args)
        assert_refused(run, str(home / "rf.db.audit-key"), "REVIEWFLOW_AUDIT_KEY_FILE")
        assert run.code == 2, run
    assert not (home / "rf.db.audit-key").exists()


# --- calibration ----------------------------------------------------------------------------------------------


def test_calibration_groups_from_the_command_line(world):
    home = world[0]
    people = ["--participants", "emails:designer1@initech.test,designer2@initech.test"]
    created = reviewflow(
        home, "cycle", "create", "Calibrated", "quarterly_checkin", *people, "--settings", '{"calibration": true}',
        "--as", HR,
    )
    cycle = re.search(r"cycle (\d+) created", created.out)
    assert created.code == 0 and cycle, created
    group = ["--facilitator", HR, "--committee", f.DESIGNER, "--as", HR]
    create = ["calibration", "create", cycle[1]]
    both = reviewflow(home, *create, "Mixed", "--department", "Design", "--people", "x", *group)
    assert_refused(both, "exactly one of --department, --subtree or --people")
    made = reviewflow(home, *create, "Designers", "--people", "designer1@initech.test", *group)
    assert made.code == 0 and "(Designers, 1 people, waiting)" in made.out, made
    listed = reviewflow(home, "calibration", "list", cycle[1])
    assert "Designers" in listed.out and "in no group (1): designer2@initech.test" in listed.text
    assert "in no calibration group" in reviewflow(home, "cycle", "preflight", cycle[1]).text
    group_id = re.search(r"calibration group (\d+) created", made.out)
    assert group_id
    assert_refused(reviewflow(home, "calibration", "open", group_id[1], "--as", HR), "Launch the cycle before")


# --- correcting a cycle's settings ------------------------------------------------------------------------------


def test_cycle_settings_change_and_refusals(world):
    home = world[0]
    changed = reviewflow(
        home, "cycle", "settings", "1", "--set", "pip_threshold=3", "--set", "score.formula=(goal + manager) / 2",
        "--as", HR,
    )
    assert changed.code == 0, changed
    assert '"pip_threshold": 3' in changed.out and '"formula": "(goal + manager) / 2"' in changed.out
    assert "pip_threshold: the 1 review(s) already started keep the value" in changed.text
    ((payload,),) = query(home, "select payload from audit_event where action = 'cycle.settings_changed'")
    assert json.loads(payload)["changed"]["pip_threshold"] == {"before": 2, "after": 3}
    assert set(json.loads(payload)["changed"]) == {"pip_threshold", "score"}

    broken = reviewflow(home, "cycle", "settings", "1", "--settings", '{"score": {"formula": "goal / 0"}}', "--as", HR)
    assert_refused(broken, "settings/score/formula", "goal / 0", "goal=1")
    assert len(broken.err.strip().splitlines()) == 1, broken.err
    assert_refused(reviewflow(home, "cycle", "settings", "1", "--settings", "{oops", "--as", HR), "not valid JSON")
    assert_refused(reviewflow(home, "cycle", "settings", "1", "--as", HR), "Nothing to change")
    assert_refused(reviewflow(home, "cycle", "settings", "99", "--set", "pip_threshold=3", "--as", HR), "99")
    assert_refused(reviewflow(home, "cycle", "settings", "1", "--set", "colour=red", "--as", HR), "settings/colour")


def test_cycle_create_with_bad_settings_json_is_one_line(world):
    home = world[0]
    bad = reviewflow(home, "cycle", "create", "Q1", "quarterly_checkin", "--settings", "{oops", "--as", HR)
    assert_refused(bad, "--settings is not valid JSON")
    assert len(bad.err.strip().splitlines()) == 1, bad.err
    assert_refused(reviewflow(home, "cycle", "create", "Q1", "quarterly_checkin", "--settings", "[1]", "--as", HR),
                   "must be a JSON object")


# --- every failure is one line, never a traceback ---------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("token", "list", HR), ("people", "import", "org.csv"), ("cycle", "status", "1"), ("audit", "verify")],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_database_never_initialised_says_run_init_first(tmp_path, args):
    (tmp_path / "org.csv").write_text(f.ORG, encoding="utf-8")
    run = reviewflow(tmp_path, *args)
    assert_one_error_line(run, "Run `reviewflow init` first", str(tmp_path / "rf.db"))
    assert run.code == 2
    assert not (tmp_path / "rf.db").exists()  # not created empty by the attempt

    (tmp_path / "rf.db").touch()  # an empty file is no database either
    assert_one_error_line(reviewflow(tmp_path, *args), "Run `reviewflow init` first")


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """A PostgreSQL database that exists but was never migrated."""
    from tests.conftest import IN_CI, PG_ADMIN_URL

    name = f"rf_cli_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        (pytest.fail if IN_CI else pytest.skip)(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_an_unmigrated_postgresql_database_says_run_init_first(tmp_path, empty_pg_url):
    run = reviewflow(tmp_path, "token", "list", HR, env={"REVIEWFLOW_DATABASE_URL": empty_pg_url})
    assert_one_error_line(run, "Run `reviewflow init` first", empty_pg_url.rsplit("/", 1)[1])
    assert run.code == 2


def test_a_missing_file_is_one_line(world):
    home = world[0]
    for args in (("people", "import", "nowhere.csv"), ("deploy", "nowhere.bpmn", "--as", HR)):
        run = reviewflow(home, *args)
        assert_one_error_line(run, "cannot read nowhere.", "No such file")
        assert run.code == 2


def test_bad_settings_json_is_named_before_the_database_is_opened(tmp_path):
    run = reviewflow(tmp_path, "cycle", "settings", "1", "--settings", "{oops")
    assert_one_error_line(run, "--settings is not valid JSON")


def test_a_postgresql_server_that_cannot_be_reached_is_one_line_without_the_password(tmp_path):
    url = "postgresql://rf:s3cret-pw@127.0.0.1:1/reviewflow"
    for args in (("init",), ("token", "list", HR)):
        run = reviewflow(tmp_path, *args, env={"REVIEWFLOW_DATABASE_URL": url})
        assert_one_error_line(run, "cannot connect to the database", "127.0.0.1:1/reviewflow", "refused")
        assert "s3cret-pw" not in run.out + run.err
        assert run.code == 2


# the CLI of this environment with one use-case function broken, as a bug in it would be
BOOM = (
    "import sys; from api.cli import main as cli; from engine.org import tokens\n"
    "def boom(*a, **k): raise RuntimeError('disk on\\nfire')\n"
    "tokens.list_tokens = boom; sys.argv[0] = 'reviewflow'; cli.app()"
)


def test_an_unexpected_error_is_one_line_and_the_traceback_is_there_on_request(world):
    boom = [sys.executable, "-c", BOOM]
    run = reviewflow(world[0], "token", "list", HR, command=boom)
    assert_one_error_line(run, "Error: unexpected RuntimeError: disk on fire", "REVIEWFLOW_DEBUG=1")
    assert run.code == 1

    debug = reviewflow(world[0], "token", "list", HR, command=boom, env={"REVIEWFLOW_DEBUG": "1"})
    assert debug.code == 1 and "Traceback" in debug.err and "RuntimeError: disk on" in debug.err, debug


# --- live operations (last: they change the module's cycle) ---------------------------------------------------


def test_cycle_add_launches_new_people_into_the_running_cycle_once(world):
    home, _ = world
    refused = reviewflow(home, "cycle", "add", "1", "nobody@initech.test", "--as", HR)
    assert_refused(refused, "nobody@initech.test")
    run = reviewflow(home, "cycle", "add", "1", "designer2@initech.test", "--as", HR)
    assert run.code == 0, run
    assert "added 1, already in 0, starting 1" in run.text
    assert status_counts(run.out)["instances"] == 2
    again = reviewflow(home, "cycle", "add", "1", "designer2@initech.test", "--as", HR)
    assert again.code == 0 and "added 0, already in 1, starting 0" in again.text, again
    assert status_counts(again.out)["instances"] == 2
    assert query(home, "SELECT count(*) FROM audit_event WHERE action = 'cycle.participants_added'") == [(1,)]
