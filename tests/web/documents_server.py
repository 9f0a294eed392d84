"""Run by the document browser tests in a subprocess: like tests/web/live_server.py, but seeded with the calibrated
annual review of tests/web/documents_world.py.

Usage: python -m tests.web.documents_server FD"""

from __future__ import annotations

import json
import sys

import uvicorn

from api.app import create_app
from engine import bootstrap, jobs
from engine.store import db
from engine.store.schema import upgrade
from tests.web import documents_world


def main() -> None:
    fd = int(sys.argv[1])
    bootstrap.start()
    jobs.set_mode("inline")
    upgrade(db.get_engine())
    session = db.new_session()
    info = documents_world.build(session)
    session.close()
    print("WORLD " + json.dumps(info), flush=True)
    uvicorn.run(create_app(), fd=fd, log_level="warning")


if __name__ == "__main__":
    main()
