"""The role policy table (engine/org/policy.py): every permission names known roles, the decisions are the ones the
API and the pages have always made, and no other module in engine/ or api/ spells a role name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine.org import accounts, policy
from engine.store.models import Account, Person

ROOT = Path(__file__).resolve().parents[3]

# The table as a plain picture: changing who may do what must change this test too.
EXPECTED = {
    policy.MANAGE: {"hr_admin", "admin"},
    policy.READ_ALL: {"hr_admin", "auditor", "admin"},
    policy.READ_PARTNERED: {"hr_partner"},
    policy.READ_SCOPED: {"hr_admin", "hr_partner", "auditor", "admin"},
    policy.DEPLOY: {"hr_admin", "designer", "admin"},
    policy.DEPLOY_SCRIPTS: {"designer", "admin"},
    policy.READ_DEFINITIONS: {"hr_admin", "designer", "auditor", "admin"},
    policy.HR_LANE: {"hr_admin"},
    policy.CLI_ACTOR: {"admin", "designer"},
}


def test_every_permission_maps_to_known_roles():
    assert set(policy.PERMISSIONS) == set(EXPECTED)
    for permission, roles in policy.TABLE.items():
        assert roles, permission
        assert len(set(roles)) == len(roles), permission  # no role twice
        assert set(roles) <= set(policy.ROLES), permission
        assert set(roles) == EXPECTED[permission], permission
    assert accounts.ROLES == policy.ROLES  # an account may hold exactly the roles the table knows
    assert len(set(policy.ROLES)) == len(policy.ROLES)


def test_every_role_holds_some_permission():
    held = {role for roles in policy.TABLE.values() for role in roles}
    assert held == set(policy.ROLES)


def test_scoped_reading_is_reading_all_or_ones_partnered_people():
    assert set(policy.holders(policy.READ_SCOPED)) == set(policy.holders(policy.READ_ALL)) | set(
        policy.holders(policy.READ_PARTNERED)
    )


def test_allows_takes_a_person_or_a_set_of_roles():
    hr = Person(name="H", email="h@x.test", account=Account(roles=["hr_admin"]))
    employee = Person(name="E", email="e@x.test")
    blank = Person(name="B", email="b@x.test", account=Account(roles=None))
    assert policy.allows(hr, policy.MANAGE) and policy.allows(hr, policy.HR_LANE)
    assert not policy.allows(hr, policy.DEPLOY_SCRIPTS)
    for nobody in (employee, blank, None, [], frozenset()):
        assert not any(policy.allows(nobody, p) for p in policy.PERMISSIONS)
    assert policy.allows({"auditor"}, policy.READ_ALL) and not policy.allows(("auditor",), policy.MANAGE)
    assert policy.allows(["designer", "hr_partner"], policy.READ_SCOPED)
    with pytest.raises(KeyError):
        policy.allows(hr, "no_such_permission")


def _role_literals(path: Path) -> list[tuple[int, str]]:
    """String constants in `path` that are exactly a role name, except dict keys (e.g. a person's "hr_partner"
    field in a JSON body, which names a relation, not a role)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    keys = {id(k) for node in ast.walk(tree) if isinstance(node, ast.Dict) for k in node.keys if k is not None}
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in policy.ROLES
        and id(node) not in keys
    ]


def test_no_role_name_is_spelled_outside_the_policy_table():
    """Role sets live in engine/org/policy.py only: everything else asks `policy.allows` or uses its constants."""
    allowed = {ROOT / "engine" / "org" / "policy.py"}
    found = [
        f"{path.relative_to(ROOT)}:{line}: {value!r}"
        for top in ("engine", "api")
        for path in sorted((ROOT / top).rglob("*.py"))
        if path not in allowed
        for line, value in _role_literals(path)
    ]
    assert not found, "role names outside engine/org/policy.py (use policy.allows / its constants):\n" + "\n".join(
        found
    )


def test_the_literal_check_sees_what_it_should(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('OK = {"hr_partner": 1}\nBAD = {"hr_admin", "admin"}\nif "designer" in roles:\n    pass\n')
    assert sorted(_role_literals(sample)) == [(2, "admin"), (2, "hr_admin"), (3, "designer")]
