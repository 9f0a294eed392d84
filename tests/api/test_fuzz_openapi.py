"""Fuzzing the API as a client reads it: schemathesis generates requests for every operation of the OpenAPI document
served by a running server (a uvicorn subprocess on its own SQLite file, seeded by tests/api/fuzz_world.py) and sends
each one with the bearer token of every role and with none. No answer may be a server error, use a status the
operation does not declare, or have a body that breaks its declared schema (the route's response_model, or ErrorBody
for refusals).

Bounded and deterministic for CI: derandomized generation (the same requests every run), a few examples per
operation, no shrinking (a failure names the request that caused it, as curl). The destructive operations never end
a role's token or person, so later requests keep their caller (said where it happens in `_aim`): logout signs out one
of a bystander's spare tokens, revoking a role's token or (de)activating a role holder is aimed at the bystander
instead, and an org import never deactivates the people its file leaves out."""

from __future__ import annotations

import os
from collections.abc import Iterator
from itertools import cycle
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks as sc
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.meta import TestPhase

from tests.web.conftest import serve

ROLES = ("employee", "manager", "hr_admin", "hr_partner", "auditor", "admin", "designer")
# generated requests per operation in the fuzzing phase, each sent by every role and without a token (plus the
# coverage phase's boundary values); REVIEWFLOW_FUZZ_EXAMPLES=200 for a longer search than CI's
EXAMPLES = int(os.environ.get("REVIEWFLOW_FUZZ_EXAMPLES", "4"))
CHECKS = [
    sc.not_a_server_error,
    sc.status_code_conformance,
    sc.content_type_conformance,
    sc.response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serve(tmp_path_factory, world="tests.api.fuzz_world") as server:
        server["spare_tokens"] = cycle(server["spares"])
        yield server


def _document() -> dict[str, Any]:
    from api.app import create_app
    from engine.core.settings import get_settings

    try:
        return create_app().openapi()
    finally:
        get_settings.cache_clear()  # read at collection; the tests' own environment is read afresh


# Generated from the app's own document (schemathesis' fixture-loaded schemas do not run under pytest 9); the test
# proves the running server serves exactly this document before it sends anything.
DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=SchemathesisConfig.from_dict(
        {
            "generation": {"deterministic": True, "max-examples": EXAMPLES, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
        }
    ),
)


def test_the_running_server_serves_the_fuzzed_document(fuzz_server: dict[str, Any]) -> None:
    assert httpx.get(fuzz_server["base"] + "/openapi.json", timeout=30).json() == DOCUMENT


def _aim(case: Any, server: dict[str, Any], role: str | None) -> dict[str, str] | None:
    """The Authorization header to send `case` with as `role`, after steering destructive operations off the tokens
    and people the rest of the run uses; None: do not send it as this role."""
    roles = server["roles"]
    path, method = case.operation.path, case.method.upper()
    if path == "/api/auth/logout":
        # Logout revokes the token it is sent with, whatever its role: send it once, with a spare token.
        if role != "hr_admin":  # among the callers of every case
            return None
        return {"Authorization": f"Bearer {next(server['spare_tokens'])['token']}"}
    params = case.path_parameters or {}
    if path == "/api/tokens/{token_id}" and method == "DELETE":
        if params.get("token_id") in {r["token_id"] for r in roles.values()}:
            params["token_id"] = server["spares"][0]["token_id"]
    if path.startswith("/api/people/{person_id}/") and method == "POST":  # deactivate, activate
        if params.get("person_id") in {r["person_id"] for r in roles.values()}:
            params["person_id"] = server["bystander"]
    if path == "/api/people/import" and case.query:
        case.query.pop("deactivate_missing", None)
    return {} if role is None else {"Authorization": f"Bearer {roles[role]['token']}"}


def _callers(case: Any, server: dict[str, Any]) -> tuple[str | None, ...]:
    """Who sends `case`: every role and nobody; a coverage-phase case (the many boundary values of each parameter)
    only HR and an admin, who pass the most permission checks, and the next of the other roles in turn."""
    if case.meta is None or case.meta.phase.name != TestPhase.COVERAGE:
        return (*ROLES, None)
    server["turn"] = server.get("turn", -1) + 1
    others = [r for r in (*ROLES, None) if r not in ("hr_admin", "admin")]
    return ("hr_admin", "admin", others[server["turn"] % len(others)])


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_declared(case: Any, fuzz_server: dict[str, Any]) -> None:
    for role in _callers(case, fuzz_server):
        headers = _aim(case, fuzz_server, role)
        if headers is not None:
            case.call_and_validate(base_url=fuzz_server["base"], headers=headers, checks=CHECKS, timeout=60)


def test_every_role_kept_its_token_through_the_run(fuzz_server: dict[str, Any]) -> None:
    """The run above was made by the roles it names: no generated request ended a role's token or person."""
    for role, held in fuzz_server["roles"].items():
        r = httpx.get(fuzz_server["base"] + "/api/me", headers={"Authorization": f"Bearer {held['token']}"}, timeout=30)
        assert r.status_code == 200 and r.json()["id"] == held["person_id"], (role, r.text)
