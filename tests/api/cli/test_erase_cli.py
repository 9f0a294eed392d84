"""`reviewflow people erase`: a second HR admin's approval is required; refusals are one line; on success the audit
still verifies and says how many events are redacted (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from engine.org import accounts
from engine.store.models import Person
from tests import factories as f
from tests.api.cli.test_ops_cli import EMPLOYEE, ok, refused, world  # noqa: F401 - world is a fixture

pytestmark = pytest.mark.both_dbs

SECOND_HR = "second.hr@initech.test"


def test_erase_needs_a_second_hr_admin_then_verify_counts_redacted_events(session, world):  # noqa: F811
    accounts.create_account(session, email=SECOND_HR, roles=["hr_admin"], password=None, actor="test")
    erase = ["people", "erase", EMPLOYEE, "--reason", "Asked on 2027-03-01", "--as", f.HR]
    refused([*erase, "--approved-by", f.HR], "second HR admin")
    refused([*erase, "--approved-by", EMPLOYEE], "roles")
    refused(["people", "erase", "nobody@initech.test", "--reason", "x", "--as", f.HR, "--approved-by", SECOND_HR])
    out = ok(*erase, "--approved-by", SECOND_HR)
    assert out.startswith("erased person") and "values replaced" in out
    session.rollback()
    assert session.query(Person).filter_by(email=EMPLOYEE).one_or_none() is None
    verified = ok("audit", "verify")
    assert "audit log intact" in verified and "redacted" in verified
