"""The links of the audit chain: the canonical form of a row, its unkeyed sha256 link (rows from before the audit key)
and its keyed HMAC-SHA256 link."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.anchor import AuditKey
from engine.core import clock
from engine.store.models import AuditEvent

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _stamp(at: datetime) -> str:
    value = clock.as_utc(at)
    assert value is not None
    return value.replace(tzinfo=None).isoformat(timespec="microseconds")


def _body(prev_hash: str, row: AuditEvent) -> bytes:
    body = canonical_json(
        {
            "seq": row.seq,
            "at": _stamp(row.at),
            "actor": row.actor,
            "action": row.action,
            "cycle_id": row.cycle_id,
            "instance_id": row.instance_id,
            "task_id": row.task_id,
            "definition_id": row.definition_id,
            "payload": row.payload,
        }
    )
    return (prev_hash + body).encode()


def row_hash(prev_hash: str, row: AuditEvent) -> str:
    """The unkeyed link: what rows before the audit key carry, and all anyone without the key can compute."""
    return hashlib.sha256(_body(prev_hash, row)).hexdigest()


def row_mac(key: AuditKey, prev_hash: str, row: AuditEvent) -> str:
    """The keyed link: HMAC-SHA256 with the audit key over the previous hash and the row."""
    return hmac.digest(key.row_key, _body(prev_hash, row), "sha256").hex()


def newest_row(session: Session) -> AuditEvent | None:
    return session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()
