"""`reviewflow token list|revoke`, `account roles|lockouts|unlock` and `people deactivate|activate`, run as a user
runs them (subprocesses on a SQLite file)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from engine import audit
from engine.core.errors import TooManyAttempts, Unauthorized
from engine.core.settings import get_settings
from engine.org import accounts
from tests import factories as f
from tests.api.cli.test_cli import assert_refused, reviewflow

HR, EMPLOYEE = "people@initech.test", "designer1@initech.test"
PASSWORD = "L0ng-enough-pass"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cli-access")
    (home / "org.csv").write_text(f.ORG, encoding="utf-8")
    for args, stdin in (
        (("init",), None),
        (("people", "import", "org.csv"), None),
        (("account", "create", HR, "--role", "hr_admin", "--role", "auditor", "--password-stdin"), PASSWORD + "\n"),
    ):
        run = reviewflow(home, *args, stdin=stdin)
        assert run.code == 0, run
    return home


@pytest.fixture
def db(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """The CLI's database, opened in this process with the CLI's settings (so its audit key beside the file signs)."""
    url = f"sqlite:///{home / 'rf.db'}"
    monkeypatch.setenv("REVIEWFLOW_DATABASE_URL", url)
    get_settings.cache_clear()
    audit.forget_keys()
    engine = create_engine(url)
    with Session(engine) as s:
        yield s
    engine.dispose()
    monkeypatch.undo()
    get_settings.cache_clear()
    audit.forget_keys()


def ok(home: Path, *args: str) -> str:
    run = reviewflow(home, *args)
    assert run.code == 0 and "Traceback" not in run.err, run
    return run.text


def test_a_token_that_never_expires_is_refused_in_one_line(home):
    for hours in ("0", "-5"):
        run = reviewflow(home, "token", "create", HR, "--hours", hours)
        assert_refused(run, "must expire", "1 to")
        assert run.err.count("must expire") == 1 and run.err.count("Error") == 1  # one message


def test_token_list_and_revoke(home, db):
    raw = ok(home, "token", "create", EMPLOYEE, "--hours", "2", "--label", "nightly-export").split()[-1]
    assert accounts.person_for_token(db, raw).email == EMPLOYEE
    listed = ok(home, "token", "list", EMPLOYEE)
    match = re.search(r"(\d+)\s+api\s+active\s.*nightly-export", listed)
    assert match, listed

    assert f"token {match.group(1)} of {EMPLOYEE} revoked" in ok(home, "token", "revoke", match.group(1))

    db.rollback()
    with pytest.raises(Unauthorized, match="revoked"):
        accounts.person_for_token(db, raw)
    assert "nightly-export" not in ok(home, "token", "list", EMPLOYEE)
    assert "revoked" in ok(home, "token", "list", EMPLOYEE, "--all")
    assert_refused(reviewflow(home, "token", "revoke", "99999"), "99999")


def test_account_roles_remove_takes_a_role_away(home):
    assert "roles auditor, hr_admin" in ok(home, "account", "roles", HR)
    assert "roles hr_admin" in ok(home, "account", "roles", HR, "--remove", "auditor")
    assert_refused(reviewflow(home, "account", "roles", HR, "--remove", "bogus"), "bogus")
    assert_refused(reviewflow(home, "account", "roles", "nobody@initech.test", "--add", "auditor"), "No account")


def test_people_deactivate_ends_every_token_and_activate_lets_them_back(home, db):
    raw = ok(home, "token", "create", f.DESIGNER, "--hours", "1").split()[-1]
    assert "1 sessions and tokens ended" in ok(home, "people", "deactivate", f.DESIGNER)
    db.rollback()
    with pytest.raises(Unauthorized, match="deactivated"):
        accounts.person_for_token(db, raw)
    assert_refused(reviewflow(home, "token", "create", f.DESIGNER), "No active person")
    assert "is active" in ok(home, "people", "activate", f.DESIGNER)
    assert ok(home, "token", "create", f.DESIGNER).split()[-1].startswith("rf_")
    assert_refused(reviewflow(home, "people", "deactivate", "nobody@initech.test"), "nobody@initech.test")


def test_account_lockouts_and_unlock(home, db):
    for _ in range(5):
        with pytest.raises(Unauthorized):
            accounts.login(db, email=HR, password="wrong-guess", address="192.0.2.7")
    with pytest.raises(TooManyAttempts):
        accounts.login(db, email=HR, password=PASSWORD, address="192.0.2.7")
    assert re.search(rf"email\s+{re.escape(HR)}\s+5 failures", ok(home, "account", "lockouts"))

    assert f"unlocked {HR} (5 failed sign-ins forgiven)" in ok(home, "account", "unlock", HR)

    assert "no lockouts" in ok(home, "account", "lockouts")
    assert accounts.login(db, email=HR, password=PASSWORD, address="192.0.2.7").startswith("rf_")
    assert_refused(reviewflow(home, "account", "unlock"), "exactly one")
