"""The session secret: generated once per installation (mode 0600, beside the database or where configured), never
the published default outside the demo, and a cookie signed with that default no longer opens a session."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat

import pytest
import uvicorn
from typer.testing import CliRunner

from api.cli.main import app as cli
from api.web import session as web_session
from engine.core.errors import InvalidInput
from engine.core.settings import get_settings
from engine.store import secret_key


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    monkeypatch.delenv("REVIEWFLOW_SECRET_KEY", raising=False)
    monkeypatch.delenv("REVIEWFLOW_SECRET_KEY_FILE", raising=False)
    monkeypatch.setenv("REVIEWFLOW_DATABASE_URL", f"sqlite:///{tmp_path}/rf.db")
    get_settings.cache_clear()
    secret_key._from_file.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    secret_key._from_file.cache_clear()


def test_a_key_is_generated_once_beside_the_database_readable_by_its_owner_only(fresh):
    key = secret_key.secret()
    path = fresh / "rf.db.secret"
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 32 and key != secret_key.PUBLISHED_DEFAULT
    secret_key._from_file.cache_clear()  # a restart reads the same key
    assert secret_key.secret() == key == path.read_text().strip()


def test_each_installation_gets_its_own_key(fresh, monkeypatch):
    first = secret_key.secret()
    (fresh / "other").mkdir()
    monkeypatch.setenv("REVIEWFLOW_DATABASE_URL", f"sqlite:///{fresh}/other/rf.db")
    get_settings.cache_clear()
    assert secret_key.secret() != first


def test_a_configured_key_file_or_key_wins(fresh, monkeypatch):
    monkeypatch.setenv("REVIEWFLOW_SECRET_KEY_FILE", str(fresh / "keys" / "session.key"))
    get_settings.cache_clear()
    key = secret_key.secret()
    assert (fresh / "keys" / "session.key").read_text().strip() == key
    assert not (fresh / "rf.db.secret").exists()
    monkeypatch.setenv("REVIEWFLOW_SECRET_KEY", "an-operator-chosen-key-of-enough-length")
    get_settings.cache_clear()
    assert secret_key.secret() == "an-operator-chosen-key-of-enough-length"


def test_a_truncated_key_file_is_refused_naming_it(fresh):
    (fresh / "rf.db.secret").write_text("short\n")
    with pytest.raises(InvalidInput, match="rf.db.secret"):
        secret_key.secret()


def test_a_cookie_signed_with_the_published_default_opens_no_session(fresh):
    raw = base64.urlsafe_b64encode(json.dumps({"token": "rf_forged", "csrf": "x"}).encode())
    published = hashlib.sha256(b"reviewflow-web:" + secret_key.PUBLISHED_DEFAULT.encode()).digest()
    forged = raw.decode() + "." + hmac.new(published, raw, hashlib.sha256).hexdigest()
    assert web_session.decode(forged) is None
    assert web_session.decode(web_session.encode({"token": "rf_real"})) == {"token": "rf_real"}


def test_serve_refuses_the_published_default_in_one_line(fresh, monkeypatch):
    monkeypatch.setenv("REVIEWFLOW_SECRET_KEY", secret_key.PUBLISHED_DEFAULT)
    get_settings.cache_clear()
    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.append(1))
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code != 0 and not started
    assert "Refusing to serve" in result.output and "Traceback" not in result.output
    assert secret_key.check_for_serving(demo=True) is None  # the demo may keep it


def test_serve_creates_the_key_before_it_serves(fresh, monkeypatch):
    monkeypatch.setenv("REVIEWFLOW_STARTUP_CHECK", "off")
    get_settings.cache_clear()
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    monkeypatch.setattr("engine.jobs.queue.default_mode", lambda embedded="thread": "inline")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert (fresh / "rf.db.secret").exists()
