"""The audit trail: events appended to a keyed hash chain in the caller's transaction (log), the key and signed
checkpoints outside the database (anchor), the row hashes (chain) and the verification of both (verify).

The public face is below; `from engine import audit` then `audit.append(...)`, `audit.record(...)`,
`audit.Event(...)`, `audit.verify(...)`."""

from engine.audit.anchor import AuditKeyMissing
from engine.audit.chain import GENESIS, canonical_json, row_hash, row_mac
from engine.audit.log import Event, append, checkpoint, forget_keys, prepare, record
from engine.audit.personal import ERASED, Opened, actor_refs, opened, reveal
from engine.audit.verify import EDITED, FORGED, RECHAINED, REWRITTEN, TRUNCATED, WIPED, Verdict, verify

__all__ = [
    "EDITED",
    "ERASED",
    "FORGED",
    "GENESIS",
    "RECHAINED",
    "REWRITTEN",
    "TRUNCATED",
    "WIPED",
    "AuditKeyMissing",
    "Event",
    "Opened",
    "Verdict",
    "actor_refs",
    "append",
    "canonical_json",
    "checkpoint",
    "forget_keys",
    "opened",
    "prepare",
    "record",
    "reveal",
    "row_hash",
    "row_mac",
    "verify",
]
