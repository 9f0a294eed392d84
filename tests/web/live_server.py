"""Run by the browser tests in a subprocess: migrate a fresh database, build the test world, print it as JSON
on one line, then serve the app until killed on the listening socket it inherits. The world is the module named by
REVIEWFLOW_TEST_WORLD (tests.web.world by default).

Usage: python -m tests.web.live_server FD"""

from __future__ import annotations

import importlib
import json
import os
import sys

import uvicorn

from api.app import create_app
from engine import bootstrap, jobs
from engine.store import db
from engine.store.schema import upgrade


def main() -> None:
    fd = int(sys.argv[1])
    bootstrap.start()
    jobs.set_mode("inline")  # launches finish inside the request, so pages show the result at once
    upgrade(db.get_engine())
    session = db.new_session()
    world = importlib.import_module(os.environ.get("REVIEWFLOW_TEST_WORLD", "tests.web.world"))
    info = world.build(session)
    session.close()
    print("WORLD " + json.dumps(info), flush=True)
    uvicorn.run(create_app(), fd=fd, log_level="warning")


if __name__ == "__main__":
    main()
