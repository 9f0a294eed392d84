"""What anchors the audit chain outside the database: the audit key file and the signed checkpoints.

The key file (`REVIEWFLOW_AUDIT_KEY_FILE`, default beside the SQLite file) holds a random 256-bit key, mode 0600,
and the first seq it signs (`keyed_from`): rows before it were written before the key existed and are checked the old
way. The key never enters the database, so whoever can only write the database cannot compute a row's MAC.

A checkpoint is one JSON line — the chain's head (seq, hash, count), the time, `keyed_from`, the key's id — signed
with HMAC-SHA256 and appended to `<checkpoint dir>/<host>.log` after every commit that appended events and on every
tick. The lines only ever grow; `verify` compares every one of them with the table, which is how rows deleted from
the end, or the whole table emptied, are told apart from a log that never had them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.core import clock
from engine.core.errors import ReviewflowError
from engine.core.settings import get_settings
from engine.store import key_files

log = logging.getLogger(__name__)
KEY_FORMAT = "reviewflow-audit-key/1"
CHECKPOINT_FORMAT = 1
_ROW_LABEL = b"reviewflow audit row"
_CHECKPOINT_LABEL = b"reviewflow audit checkpoint"


class AuditKeyMissing(ReviewflowError):
    """The key that signs the audit log is not where the settings say (or cannot be read)."""

    code = "audit_key_missing"


@dataclass(frozen=True)
class AuditKey:
    path: Path
    keyed_from: int  # the first seq signed with this key
    created_at: str
    row_key: bytes = field(repr=False)
    checkpoint_key: bytes = field(repr=False)
    key_id: str = ""

    @classmethod
    def from_secret(cls, path: Path, secret: bytes, *, keyed_from: int, created_at: str) -> AuditKey:
        # separate keys for rows and checkpoints: a row MAC can never be replayed as a checkpoint signature
        return cls(
            path=path,
            keyed_from=keyed_from,
            created_at=created_at,
            row_key=hmac.digest(secret, _ROW_LABEL, "sha256"),
            checkpoint_key=hmac.digest(secret, _CHECKPOINT_LABEL, "sha256"),
            key_id=hashlib.sha256(b"reviewflow audit key id" + secret).hexdigest()[:16],
        )


# --- where ------------------------------------------------------------------------------------------------------


def _beside_database() -> tuple[Path, str]:
    """The SQLite file's folder and name; for a server database the working folder and `reviewflow-<db name>`."""
    db_file = key_files.sqlite_file()
    if db_file is not None:
        return db_file.parent, db_file.name
    return Path.cwd(), f"reviewflow-{key_files.server_database_name()}"


def key_path() -> Path:
    configured = get_settings().audit_key_file
    if configured:
        return Path(configured).expanduser().absolute()
    folder, name = _beside_database()
    return folder / f"{name}.audit-key"


def checkpoint_dir() -> Path:
    configured = get_settings().audit_checkpoint_dir
    if configured:
        return Path(configured).expanduser().absolute()
    folder, name = _beside_database()
    return folder / f"{name}.audit-checkpoints"


def _own_file() -> Path:
    host = "".join(c if c.isalnum() or c in "-_." else "_" for c in socket.gethostname()) or "host"
    return checkpoint_dir() / f"{host}.log"


# --- the key ----------------------------------------------------------------------------------------------------


def key_missing(path: Path, why: str) -> AuditKeyMissing:
    return AuditKeyMissing(
        f"The audit key file {path} {why}. Restore it from your backup (or set REVIEWFLOW_AUDIT_KEY_FILE to where "
        f"it is); without it the audit log cannot be signed or checked. "
        f"审计密钥文件 {path} 不可用：请从备份恢复，或用 REVIEWFLOW_AUDIT_KEY_FILE 指向它。"
    )


def read_key(path: Path | None = None) -> AuditKey | None:
    """The key at `path` (default: the configured one); None when there is no such file."""
    path = path or key_path()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise key_missing(path, f"cannot be read ({exc.strerror})") from None
    try:
        data = json.loads(raw)
        if data.get("format") != KEY_FORMAT:
            raise ValueError("unknown format")
        secret = bytes.fromhex(data["key"])
        if len(secret) < 32:
            raise ValueError("key too short")
        keyed_from = int(data["keyed_from"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise key_missing(path, "is not a Reviewflow audit key") from None
    if os.name == "posix" and path.stat().st_mode & 0o077:
        log.warning("the audit key file %s is readable by other users; chmod 600 it", path)
    return AuditKey.from_secret(path, secret, keyed_from=keyed_from, created_at=str(data.get("created_at", "")))


def create_key(path: Path, *, keyed_from: int) -> AuditKey:
    """Write a new random key (mode 0600) unless one appeared meanwhile; return whichever key is now at `path`."""
    secret = secrets.token_bytes(32)
    created = clock.now().isoformat()
    body = json.dumps({"format": KEY_FORMAT, "key": secret.hex(), "keyed_from": keyed_from, "created_at": created})
    key_files.write_once(path, body + "\n")  # of two processes starting at once, one key wins
    key = read_key(path)
    assert key is not None
    if key.keyed_from == keyed_from:
        log.warning("created the audit key %s (signs audit events from seq %d on); back it up", path, keyed_from)
    return key


# --- checkpoints ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    count: int
    at: str
    keyed_from: int
    key_id: str
    why: str
    where: str = ""  # file:line


def _sign(key: AuditKey, fields: dict[str, Any]) -> str:
    return _sign_body(key, json.dumps(fields, sort_keys=True, separators=(",", ":")))


def _sign_body(key: AuditKey, body: str) -> str:
    return hmac.new(key.checkpoint_key, body.encode(), "sha256").hexdigest()


_targets: dict[str, Path] = {}


def _target() -> Path:
    folder = str(checkpoint_dir())
    target = _targets.get(folder)
    if target is None:
        target = _targets[folder] = _own_file()
    return target


def write_checkpoint(key: AuditKey, *, seq: int, hash: str, why: str, sync: bool = False) -> Checkpoint:
    """Append a signed checkpoint of the head (seq, hash) to this host's checkpoint file."""
    fields: dict[str, Any] = {
        "v": CHECKPOINT_FORMAT,
        "seq": seq,
        "hash": hash,
        "count": seq,  # seqs run 1, 2, 3, ... without gaps: the head's seq is the number of events
        "at": clock.now().isoformat(),
        "keyed_from": key.keyed_from,
        "key_id": key.key_id,
        "why": why,
    }
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    line = f'{body[:-1]},"sig":"{_sign_body(key, body)}"}}\n'.encode()
    target = _target()
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)  # one write on an O_APPEND file: lines of concurrent writers never interleave
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    return Checkpoint(seq, hash, seq, fields["at"], key.keyed_from, key.key_id, why, target.name)


def checkpoint_files() -> list[Path]:
    folder = checkpoint_dir()
    return sorted(folder.glob("*.log")) if folder.is_dir() else []


@dataclass
class Scan:
    valid: list[Checkpoint] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)  # "file:line: why"


def _parse(key: AuditKey, text: str, where: str) -> Checkpoint | str:
    try:
        data = json.loads(text)
        sig = data.pop("sig")
        if not isinstance(sig, str) or not hmac.compare_digest(sig, _sign(key, data)):
            return "its signature does not match (edited, or written without the audit key)"
        cp = Checkpoint(
            int(data["seq"]),
            str(data["hash"]),
            int(data["count"]),
            str(data["at"]),
            int(data["keyed_from"]),
            str(data["key_id"]),
            str(data["why"]),
            where,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return "it is not a checkpoint"
    if cp.keyed_from != key.keyed_from:
        return f"it says the keyed log starts at seq {cp.keyed_from}, the key file says {key.keyed_from}"
    return cp


def read_checkpoints(key: AuditKey, files: list[Path] | None = None) -> Scan:
    """Every checkpoint line in the checkpoint folder, each checked against the key."""
    scan = Scan()
    for path in checkpoint_files() if files is None else files:
        data = path.read_bytes()
        lines = data.split(b"\n")
        lines.pop()  # "" after the last newline, or a line cut short by a crash (not yet a checkpoint)
        for number, raw in enumerate(lines, start=1):
            where = f"{path.name}:{number}"
            parsed = _parse(key, raw.decode("utf-8", "replace"), where)
            if isinstance(parsed, str):
                scan.invalid.append(f"{where}: {parsed}")
            else:
                scan.valid.append(parsed)
    return scan


def latest_own(key: AuditKey, tail_bytes: int = 65536) -> Checkpoint | None:
    """The highest valid checkpoint among the last lines of this host's file (cheap: reads only the tail)."""
    path = _target()
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - tail_bytes))
            chunk = fh.read()
    except FileNotFoundError:
        return None
    best: Checkpoint | None = None
    for raw in chunk.split(b"\n")[1 if size > tail_bytes else 0 :]:
        if not raw.strip():
            continue
        parsed = _parse(key, raw.decode("utf-8", "replace"), path.name)
        if isinstance(parsed, Checkpoint) and (best is None or parsed.seq > best.seq):
            best = parsed
    return best
