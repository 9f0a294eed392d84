"""Run by the browser tests in a subprocess: migrate a fresh database, build the test world, print it as JSON
on one line, then serve the app until killed on the listening socket it inherits.

Usage: python -m tests.web.live_server FD"""

from __future__ import annotations

import json
import sys

import uvicorn

from api.app import create_app
from engine import bootstrap, jobs
from engine.store import db
from engine.store.schema import upgrade
from tests.web import world


def main() -> None:
    fd = int(sys.argv[1])
    bootstrap.start()
    jobs.set_mode("inline")  # launches finish inside the request, so pages show the result at once
    upgrade(db.get_engine())
    session = db.new_session()
    info = world.build(session)
    session.close()
    print("WORLD " + json.dumps(info), flush=True)
    uvicorn.run(create_app(), fd=fd, log_level="warning")


if __name__ == "__main__":
    main()
