"""The FastAPI application: JSON API under /api (OpenAPI at /docs), web pages at / (api/web)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from api import errors, web
from api.limits import BodySizeLimit
from api.routes import (
    auth,
    calibration,
    cycles,
    definitions,
    erasure,
    incidents,
    instances,
    migration,
    people,
    reports,
    tasks,
)
from api.routes import team as team_routes
from api.schemas import Health
from api.security import SecurityHeaders
from engine import bootstrap
from engine.core.settings import get_settings


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # Sync routes run on these threads; the PostgreSQL pool is sized from the same number (engine/core/settings.py).
    anyio.to_thread.current_default_thread_limiter().total_tokens = get_settings().threads
    yield


def create_app() -> FastAPI:
    bootstrap.start()
    app = FastAPI(
        lifespan=_lifespan,
        title="Reviewflow",
        version="0.1.0",
        description="Performance-review cycles as BPMN: deploy, launch, complete forms, audit every step.",
    )
    settings = get_settings()
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes * 5, max_plain_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # added last = outermost: the 413 above gets the headers too
    errors.install(app)
    for module in (
        auth,
        people,
        definitions,
        cycles,
        calibration,
        reports,
        tasks,
        instances,
        incidents,
        migration,
        erasure,
    ):
        app.include_router(module.router)
    app.include_router(team_routes.router)

    @app.get("/healthz", tags=["meta"], response_model=Health)
    def healthz() -> dict:
        """Liveness probe (no authentication)."""
        return {"ok": True}

    web.install(app)
    return app
