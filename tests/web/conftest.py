"""Browser tests: a live server in a subprocess (its own fresh SQLite database and test world) and headless
Chromium from Debian's package driven by Playwright. Never downloads a browser. In CI a missing browser or
Playwright fails these tests; elsewhere they are skipped with the reason."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = os.environ.get("REVIEWFLOW_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@contextmanager
def serve(tmp_path_factory: pytest.TempPathFactory, world: str = "tests.web.world") -> Iterator[dict[str, Any]]:
    """The app on 127.0.0.1 against its own database seeded by `world`'s build(); yields the base URL and the world.

    The listening socket is opened here and handed to the server process, so a request made as soon as the world
    is printed waits in the socket's backlog instead of racing the server's start (no polling, no sleeps).
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    path = tmp_path_factory.mktemp("live") / "web.db"
    env = {**os.environ, "REVIEWFLOW_DATABASE_URL": f"sqlite:///{path}", "REVIEWFLOW_SECRET_KEY": "web-test-key"}
    env["REVIEWFLOW_TEST_WORLD"] = world
    env.pop("REVIEWFLOW_BROKER_URL", None)
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.web.live_server", str(listener.fileno())],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        pass_fds=[listener.fileno()],
    )
    listener.close()
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the world is built (or the process died)
        if not line.startswith("WORLD "):
            log.seek(0)
            raise RuntimeError(f"live server did not start: {line!r}\n{log.read()[-3000:]}")
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(base + "/healthz", timeout=30).status_code == 200
        yield {"base": base, "database": str(path), **json.loads(line[len("WORLD ") :])}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The shared live server with the test world of tests/web/world.py."""
    with serve(tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is not installed (apt-get install -y chromium fonts-noto-cjk)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)  # a deploy parses and checks the diagram on a small CI machine
    with sync_playwright() as pw:  # launch() gives Chromium a fresh, temporary profile directory
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser: Any, live_server: dict[str, Any]) -> Iterator[Any]:
    """A fresh browser context (no cookies) per page; `new_page(locale=...)`."""
    contexts = []

    def make(locale: str = "en-GB", width: int = 1280, height: int = 900) -> Any:
        context = browser.new_context(
            base_url=live_server["base"], locale=locale, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        # Shown by pytest when a test fails: what the page's scripts said.
        page.on("console", lambda msg: print(f"[console.{msg.type}] {msg.text}"))
        page.on("pageerror", lambda exc: print(f"[pageerror] {exc}"))
        return page

    yield make
    for c in contexts:
        c.close()


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox"))
