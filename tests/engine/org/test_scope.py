"""Who is in a reader's report scope: the whole cycle for HR admins, auditors and admins; an HR partner's own
partnered employees (inactive ones too) and nobody else; the empty set for anyone without a reporting role."""

from __future__ import annotations

import pytest

from engine.org import accounts, scope
from engine.store.models import Person
from tests import factories as f

pytestmark = pytest.mark.both_dbs

PARTNER = "partner@initech.test"


def _grant(session, email: str, *roles: str) -> Person:
    return accounts.create_account(session, email=email, roles=list(roles), password=None, actor="test").person


def test_readers_see_the_whole_cycle(session):
    people = f.org(session)
    assert scope.subjects_in_scope(session, people[f.HR]) is None  # hr_admin
    for email, role in (("auditor@initech.test", "auditor"), ("admin@initech.test", "admin")):
        assert scope.subjects_in_scope(session, _grant(session, email, role)) is None
    both = _grant(session, "both@initech.test", "hr_partner", "hr_admin")
    assert scope.subjects_in_scope(session, both) is None  # the wider role wins


def test_a_partner_sees_their_partnered_people_only(session):
    people = f.org(session)
    partner = _grant(session, PARTNER, "hr_partner")
    lead, one, two = (people[f"{e}@initech.test"] for e in ("design.lead", "designer1", "designer2"))
    one.hr_partner_id = two.hr_partner_id = partner.id
    two.active = False  # left the company mid-cycle: their review is still the partner's
    lead.manager_id = partner.id  # the partner's own report, partnered to someone else: not in scope
    partner.hr_partner_id = partner.id  # never themselves, even if the org chart says so
    session.commit()

    assert scope.subjects_in_scope(session, partner) == {one.id, two.id}
    assert scope.describe({one.id, two.id}) == {"kind": "partner", "people": 2}
    assert scope.describe(None) == {"kind": "all"}


def test_anyone_else_sees_nobody(session):
    people = f.org(session)
    assert scope.subjects_in_scope(session, people["designer1@initech.test"]) == set()
    assert scope.subjects_in_scope(session, people[f.DESIGNER]) == set()  # designer: diagrams, not people
    assert scope.subjects_in_scope(session, _grant(session, PARTNER, "hr_partner")) == set()  # nobody partnered yet
