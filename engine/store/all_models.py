"""Every module that declares tables, in one place: Alembic's `env.py` and the schema test take the metadata from
here, so autogenerate never sees a partial schema (and would never propose dropping the tables it missed)."""

from __future__ import annotations

from engine.store import job_models, models, privacy_models
from engine.store.db import Base

MODULES = (models, job_models, privacy_models)
metadata = Base.metadata
