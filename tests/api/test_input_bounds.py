"""Inputs past what the database can hold answer 4xx naming what to fix, never 500: ids of 2^63 and more in any
path (API and pages), and a people-import CSV field over 128 KiB (API, page and CLI)."""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args, get_origin, get_type_hints

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli.main import app as cli
from api.deps import MAX_ID
from engine.org import accounts
from tests import factories as f

ADMIN, PASSWORD = "admin@initech.test", "Bounds-pass-123"
HEADER = "employee_no,name,email,manager_email,department,title,locale,hr_partner_email\n"


def int_path_routes() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, {int path parameter: its annotation}) of every route, through included routers too."""
    app = create_app()
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.16x keeps included routers nested

        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # pragma: no cover - older FastAPI flattens app.routes itself
        routes = list(app.routes)
    out = []
    for r in routes:
        endpoint = getattr(r, "endpoint", None)
        if endpoint is None:
            continue
        hints = get_type_hints(endpoint, include_extras=True)
        ints = {
            name: hints[name]
            for name in re.findall(r"{(\w+)}", r.path)
            if hints.get(name) is int or (get_origin(hints.get(name)) is Annotated and get_args(hints[name])[0] is int)
        }
        if ints:
            out.extend((m, r.path, ints) for m in sorted(r.methods or ()) if m != "HEAD")
    return out


@pytest.fixture
def admin(db_engine, session) -> TestClient:
    """A client signed in to the pages (cookie + CSRF header) that also carries an admin bearer token."""
    f.org(session)
    accounts.create_account(session, email=ADMIN, roles=["admin"], password=PASSWORD, actor="test")
    client = TestClient(create_app(), headers=f.token(session, ADMIN))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert csrf
    r = client.post("/login", data={"email": ADMIN, "password": PASSWORD, "csrf_token": csrf.group(1)})
    assert r.status_code in (200, 303), r.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/inbox").text)  # renewed at sign-in
    assert csrf
    client.headers["x-csrf-token"] = csrf.group(1)
    return client


def test_every_int_path_parameter_is_bounded():
    routes = int_path_routes()
    assert len(routes) >= 30, routes  # the API and the pages
    for method, path, ints in routes:
        for name, hint in ints.items():
            limits = [m.le for info in get_args(hint)[1:] for m in getattr(info, "metadata", []) if hasattr(m, "le")]
            assert limits == [MAX_ID], f"{method} {path}: {{{name}}} is not the shared bounded `Id` type"


@pytest.mark.parametrize("number", [2**63, 10**30])
def test_an_id_past_64_bits_answers_422_on_every_route(admin, number):
    for method, path, ints in int_path_routes():
        url = path
        for name in re.findall(r"{(\w+)}", path):
            url = url.replace(f"{{{name}}}", str(number) if name in ints else "completion")
        kwargs: dict[str, Any] = {"json": {"data": {}, "reason": "x" * 20}} if method in ("POST", "PUT") else {}
        r = admin.request(method, url, follow_redirects=False, **kwargs)
        assert r.status_code == 422, (method, url, r.status_code, r.text[:200])
        assert "less than or equal to 9223372036854775807" in r.text


def test_the_largest_64_bit_id_is_simply_not_found(admin):
    assert admin.get(f"/api/tasks/{MAX_ID}").status_code == 404
    assert admin.get(f"/api/instances/{MAX_ID}").status_code == 404


def huge_csv(column: str = "title") -> bytes:
    row = dict.fromkeys(HEADER.strip().split(","), "")
    row.update(name="Long Title", email="long@initech.test", title="ok")
    row[column] = "x" * (128 * 1024 + 1)
    return (HEADER + "E1,Short,short@initech.test,,,,en,\n" + ",".join(row.values()) + "\n").encode()


def test_a_people_csv_field_over_128_kib_answers_422_naming_row_and_column(admin):
    r = admin.post("/api/people/import", files={"file": ("org.csv", huge_csv("title"), "text/csv")})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_input" and "Row 3, column title" in body["detail"]
    assert body["errors"] == [
        {"row": 3, "field": "title", "message": body["detail"], "message_zh": body["detail_zh"]}
    ]
    assert "第 3 行 title 列" in body["detail_zh"]
    page = admin.post("/people", files={"file": ("org.csv", huge_csv("department"), "text/csv")})
    assert page.status_code == 422 and "Row 3, column department" in page.text


def test_an_unclosed_quote_swallowing_the_file_is_named(admin):
    rest = "".join(f"E{i},Person {i},p{i}@initech.test,,,,en,\n" for i in range(5000))
    data = (HEADER + 'E0,"Open quote,open@initech.test,,,,en,\n' + rest).encode()
    r = admin.post("/api/people/import", files={"file": ("org.csv", data, "text/csv")})
    assert r.status_code == 422 and "Row 2, column name" in r.json()["detail"], r.text


def test_the_cli_names_the_row_in_one_line(db_engine, tmp_path):
    path = tmp_path / "org.csv"
    path.write_bytes(huge_csv("title"))
    result = CliRunner().invoke(cli, ["people", "import", str(path)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "Row 3, column title" in result.output
