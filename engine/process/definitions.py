"""Deploying diagrams with their form files: every check before anything is saved; versions are immutable."""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import audit
from engine.bpmn import bpmn_check, spiff
from engine.core import actors
from engine.core.errors import DefinitionInvalid, Forbidden, NotFound, TooLarge
from engine.core.settings import get_settings
from engine.org import policy
from engine.process import lanes
from engine.store.models import Definition, DefinitionFile, Person
from engine.store.transaction import transactional
from forms import bundle
from forms.validation import check_schema, served

MAX_FILES = 50
MAX_TOTAL_BYTES = 20 * 1024 * 1024


def _kind(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".bpmn") or lower.endswith(".bpmn20.xml"):
        return "bpmn"
    if lower.endswith(".dmn"):
        return "dmn"
    if lower.endswith(".json"):
        return "json"
    return None


def _is_ui_schema(name: str) -> bool:
    return name.endswith(".uischema.json") or name.endswith("-uischema.json")


def _problem(file: str | None, element: str | None, line: int | None, message: str) -> dict[str, Any]:
    return {"file": file, "element": element, "line": line, "message": message}


@transactional
def deploy(session: Session, *, actor: Person, files: list[tuple[str, bytes]]) -> tuple[Definition, bool]:
    """Check and store a new version; returns (definition, created). Identical files return the latest version."""
    if not files:
        raise DefinitionInvalid("No files were uploaded.", errors=[_problem(None, None, None, "Upload a .bpmn file.")])
    if len(files) > MAX_FILES or sum(len(d) for _, d in files) > MAX_TOTAL_BYTES:
        raise TooLarge(f"Upload at most {MAX_FILES} files and {MAX_TOTAL_BYTES // (1024 * 1024)} MB in one request.")
    problems: list[dict[str, Any]] = []
    clean: list[tuple[str, str, bytes]] = []
    seen: set[str] = set()
    for raw_name, data in files:
        name = os.path.basename((raw_name or "").replace("\\", "/")).strip()
        kind = _kind(name)
        if not name or kind is None:
            problems.append(
                _problem(name or None, None, None, "Only .bpmn, .dmn and .json (form schema) files can be deployed.")
            )
            continue
        if name in seen:
            problems.append(_problem(name, None, None, "Two files have this name; file names must be unique."))
            continue
        seen.add(name)
        if kind in ("bpmn", "dmn"):
            bpmn_check.refuse_unsafe_xml(name, data)  # raises at once: nothing else is looked at
        clean.append((name, kind, data))
    included = _include_called(session, clean)
    forms: dict[str, Any] = {}
    for name, kind, data in clean:
        if kind != "json":
            continue
        if len(data) > bpmn_check.MAX_FILE_BYTES:
            raise TooLarge(f"{name} is larger than {bpmn_check.MAX_FILE_BYTES // (1024 * 1024)} MB.")
        try:
            forms[name] = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            problems.append(_problem(name, None, None, "Form files must be UTF-8 encoded JSON."))
            continue
        except json.JSONDecodeError as exc:
            problems.append(_problem(name, None, exc.lineno, f"Not valid JSON: {exc.msg} (column {exc.colno})."))
            continue
        if not _is_ui_schema(name):
            reason = check_schema(forms[name])
            if reason:
                problems.append(_problem(name, None, None, f"Form schema refused: {reason}."))
    schemas = {n: s for n, s in forms.items() if not _is_ui_schema(n)}
    for name in schemas:
        for why in bundle.problems(name, schemas):
            problems.append(_problem(name, None, None, f"Form schema refused: {why}."))
    try:
        parsed = spiff.parse_files([(n, d) for n, k, d in clean if k != "json"])
    except DefinitionInvalid as exc:
        raise DefinitionInvalid(exc.detail, errors=problems + exc.errors) from None
    for task in parsed.user_tasks:
        if task.form and task.form not in {n for n, k, _ in clean if k == "json"}:
            problems.append(
                _problem(
                    None,
                    task.name,
                    None,
                    f"User task '{task.name}' names the form '{task.form}', which was not uploaded.",
                )
            )
    if problems:
        raise DefinitionInvalid(spiff.problems_summary(problems), errors=problems)
    if parsed.has_scripts and not policy.allows(actor, policy.DEPLOY_SCRIPTS):
        raise Forbidden("This diagram contains script tasks; deploying scripts needs the designer role.")
    if not policy.allows(actor, policy.DEPLOY):
        raise Forbidden("Deploying diagrams needs the hr_admin or designer role.")

    warnings = [
        {
            "element": None,
            "message": f"Lane '{lane}' is not a standard lane ({', '.join(lanes.STANDARD)}): "
            "its tasks need `lane_owners` in the task data, or they go to the HR admins.",
        }
        for lane in lanes.unknown_lanes(parsed.lanes)
    ]
    warnings += [
        {
            "element": t.name,
            "message": f"User task '{t.name}' is outside any lane: the employee under review will be asked to do it.",
        }
        for t in parsed.user_tasks
        if not t.lane
    ]
    digest = hashlib.sha256(
        "\n".join(f"{n}:{hashlib.sha256(d).hexdigest()}" for n, _, d in sorted(clean)).encode()
    ).hexdigest()
    latest = latest_version(session, parsed.key)
    if latest is not None and latest.digest == digest:
        return latest, False
    version = (session.scalar(select(func.max(Definition.version)).where(Definition.key == parsed.key)) or 0) + 1
    definition = Definition(
        key=parsed.key,
        version=version,
        name=parsed.name,
        digest=digest,
        has_scripts=parsed.has_scripts,
        lanes=parsed.lanes,
        warnings=warnings,
        deployed_by_id=actor.id,
    )
    session.add(definition)
    session.flush()
    for name, kind, data in clean:
        session.add(
            DefinitionFile(
                definition_id=definition.id,
                name=name,
                kind=kind,
                content=data.decode("utf-8-sig"),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    audit.record(
        session,
        actor=actor.email,
        action="definition.deployed",
        definition_id=definition.id,
        payload={
            "key": parsed.key,
            "version": version,
            "has_scripts": parsed.has_scripts,
            "included": {k: v for k, v in included.items() if v},
            "files": [{"name": n, "sha256": hashlib.sha256(d).hexdigest()} for n, _, d in clean],
        },
    )
    return definition, True


_PROCESS = re.compile(rb'<(?:bpmn:|bpmn2:)?process\b[^>]*\bid="([^"]+)"')
_CALLED = re.compile(rb'calledElement="([^"]+)"')


def _include_called(session: Session, clean: list[tuple[str, str, bytes]]) -> dict[str, int]:
    """Add the latest deployed version of every called process the upload does not bring itself (with its forms),
    so a redeployed sub-diagram is picked up by redeploying only its caller. Returns {key: version} included."""
    included: dict[str, int] = {}
    while True:
        defined = {m.decode() for _, k, d in clean if k == "bpmn" for m in _PROCESS.findall(d)}
        called = {m.decode() for _, k, d in clean if k == "bpmn" for m in _CALLED.findall(d)}
        missing = sorted(called - defined - set(included))
        if not missing:
            return included
        names = {n for n, _, _ in clean}
        for key in missing:
            found = latest_version(session, key)
            included[key] = found.version if found else 0
            for f in found.files if found else []:
                if f.name not in names:
                    clean.append((f.name, f.kind, f.content.encode()))
                    names.add(f.name)


def latest_version(session: Session, key: str) -> Definition | None:
    return session.scalar(select(Definition).where(Definition.key == key).order_by(Definition.version.desc()).limit(1))


def get(session: Session, key: str, version: int | None = None) -> Definition:
    if version is None:
        found = latest_version(session, key)
    else:
        found = session.scalar(select(Definition).where(Definition.key == key, Definition.version == version))
    if found is None:
        raise NotFound(f"No definition '{key}'" + (f" version {version}" if version else "") + " is deployed.")
    return found


def listing(session: Session) -> list[Definition]:
    return list(session.scalars(select(Definition).order_by(Definition.key, Definition.version)))


_DIGESTS: dict[int, str] = {}  # definition id → digest of its files (a deployed version never changes)


def spec_of(session: Session, definition: Definition | int) -> spiff.Spec:
    """The parsed spec of a definition version (object or id), parsed once per process and cached by its digest."""
    definition_id = definition if isinstance(definition, int) else definition.id
    digest = _DIGESTS.get(definition_id)
    if digest is None:
        row = definition if isinstance(definition, Definition) else session.get(Definition, definition_id)
        if row is None:
            raise NotFound(f"No definition with id {definition_id}.")
        digest = _DIGESTS[definition_id] = row.digest

    def files() -> list[tuple[str, str]]:
        rows = session.scalars(
            select(DefinitionFile).where(DefinitionFile.definition_id == definition_id, DefinitionFile.kind != "json")
        )
        return [(f.name, f.content) for f in rows]

    return spiff.cached_spec(digest, files)


_FORM_CACHE: dict[tuple[int, str], dict[str, Any]] = {}
_SERVED_CACHE: dict[tuple[int, str], dict[str, Any]] = {}
_CONFIDENTIAL: dict[int, dict[str, str]] = {}
_PRIVATE: dict[int, set[str]] = {}


def clear_caches() -> None:
    _FORM_CACHE.clear()
    _SERVED_CACHE.clear()
    _CONFIDENTIAL.clear()
    _PRIVATE.clear()
    _DIGESTS.clear()
    spiff.forget_specs()


def private_fields(session: Session, definition_id: int) -> set[str]:
    """Form fields marked `"x-private": true` in any form of a definition (e.g. a manager's private note)."""
    if definition_id not in _PRIVATE:
        rows = session.scalars(
            select(DefinitionFile).where(DefinitionFile.definition_id == definition_id, DefinitionFile.kind == "json")
        )
        found: set[str] = set()
        for row in rows:
            schema = json.loads(row.content)
            props = schema.get("properties") if isinstance(schema, dict) else None
            found |= {n for n, p in (props or {}).items() if isinstance(p, dict) and p.get("x-private") is True}
        _PRIVATE[definition_id] = found
    return _PRIVATE[definition_id]


def confidential(session: Session, definition_id: int) -> dict[str, str]:
    """{variable: perspective} of the 360 answer collections of a definition version (never shown to the subject
    or manager except as `feedback_summary`)."""
    if definition_id not in _CONFIDENTIAL:
        _CONFIDENTIAL[definition_id] = spiff.confidential_collections(
            spec_of(session, definition_id), actors.perspective_of
        )
    return _CONFIDENTIAL[definition_id]


def form_file(session: Session, definition_id: int, name: str | None) -> dict[str, Any] | None:
    """A form schema (or UI schema) file of a definition version, parsed once per process."""
    if not name:
        return None
    key = (definition_id, name)
    if key not in _FORM_CACHE:
        row = session.scalar(
            select(DefinitionFile).where(DefinitionFile.definition_id == definition_id, DefinitionFile.name == name)
        )
        if row is None:
            return None
        _FORM_CACHE[key] = json.loads(row.content)
    return _FORM_CACHE[key]


def form_schema(session: Session, definition_id: int, name: str | None) -> dict[str, Any] | None:
    """The form schema served for a task and validated on submit: self-contained (the deployed files it refers to
    embedded) and with the default size limits (forms/validation.py `served`). None when there is no such form."""
    if not name:
        return None
    key = (definition_id, name)
    if key not in _SERVED_CACHE:
        raw = form_file(session, definition_id, name)
        if not isinstance(raw, dict):
            return raw
        rows = session.scalars(
            select(DefinitionFile).where(DefinitionFile.definition_id == definition_id, DefinitionFile.kind == "json")
        )
        files = {row.name: json.loads(row.content) for row in rows if not _is_ui_schema(row.name)}
        files[name] = raw
        settings = get_settings()
        _SERVED_CACHE[key] = served(
            name, files, max_length=settings.form_max_length, max_items=settings.form_max_items
        )
    return _SERVED_CACHE[key]
