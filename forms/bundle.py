"""`$ref` in a form resolves only inside the files deployed with it: never fetched from the network or a `file://`
path (that would let a form author make the server request any address, and make a remote document the rule).

Deploy checks every ref against a `referencing` registry that holds the bundle and retrieves nothing (`problems`).
The schema served for a task and validated on submit is one self-contained document (`embed`): the files it
refers to are copied under `$defs` and the refs rewritten to point there, so a client that knows only standard
JSON Schema validates exactly what the server does."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT202012

_REF_KEYS = ("$ref", "$dynamicRef")
_VALUES = {"const", "enum", "default", "examples"}  # data, not schemas
_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}


def _refuse(uri: str) -> Resource:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


def walk(schema: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    """Call `visit` on every subschema (dict) of `schema`, skipping `const`, `enum`, `x-` values and the like."""
    if isinstance(schema, list):
        for item in schema:
            walk(item, visit)
        return
    if not isinstance(schema, dict):
        return
    visit(schema)
    for key, value in schema.items():
        if key in _VALUES or key.startswith("x-"):
            continue
        if key in _MAPS and isinstance(value, dict):
            for sub in value.values():
                walk(sub, visit)
        elif isinstance(value, dict | list):
            walk(value, visit)


def refs_in(schema: Any) -> Iterator[str]:
    found: list[str] = []
    walk(schema, lambda s: found.extend(s[k] for k in _REF_KEYS if isinstance(s.get(k), str)))
    yield from found


def _split(ref: str) -> tuple[str, str]:
    """(file name, fragment) of a ref; the file name is "" for a ref inside the same document."""
    parts = urlsplit(ref)
    return parts.path, parts.fragment


def _without_id(schema: Any) -> Any:
    return {k: v for k, v in schema.items() if k != "$id"} if isinstance(schema, dict) else schema


def registry(bundle: dict[str, Any]) -> Registry:
    """The bundle's schemas by file name; anything else is unretrievable (no network, no files)."""
    resources = [
        (name, DRAFT202012.create_resource(_without_id(schema)))  # whatever `$schema` says: forms are 2020-12
        for name, schema in bundle.items()
        if isinstance(schema, dict)
    ]
    return Registry(retrieve=_refuse).with_resources(resources)  # type: ignore[call-arg]


def problems(name: str, bundle: dict[str, Any]) -> list[str]:
    """Why refs in the form `name` cannot be used: outside the bundle, unresolvable, or not a JSON pointer."""
    schema = bundle[name]
    out: list[str] = []
    nested: list[str] = []
    walk(schema, lambda s: nested.append(s["$id"]) if s is not schema and "$id" in s else None)
    for found in nested:
        out.append(f"'$id': '{found}' inside the schema is not supported; name shared parts by file instead")
    resolver = registry(bundle).resolver(base_uri=name)
    for ref in refs_in(schema):
        parts = urlsplit(ref)
        target, fragment = parts.path, parts.fragment
        if parts.scheme or parts.netloc or "/" in target or (target and target not in bundle):
            out.append(
                f"'$ref': '{ref}' points outside the files deployed with this diagram; refs may only name "
                'a form file of the same upload (e.g. "common.schema.json#/$defs/comment")'
            )
            continue
        if target and fragment and not fragment.startswith("/"):
            out.append(f"'$ref': '{ref}' must use a JSON pointer after '#' (e.g. '#/$defs/comment')")
            continue
        try:
            resolver.lookup(ref)
        except Unresolvable:
            out.append(f"'$ref': '{ref}' does not point to anything in the deployed files")
    return out


def _key(name: str) -> str:
    return "file:" + re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _rewrite(schema: Any, home: str, root: str, names: set[str]) -> Any:
    """A copy of `schema` (the file `home`) with every ref to a bundle file pointing into the embedded document
    (a ref outside the bundle, which deploy refuses, is left as it is: it fails to resolve, it is never fetched)."""

    def target(ref: str) -> str:
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc or (parts.path and parts.path not in names):
            return ref
        file, fragment = parts.path or home, parts.fragment
        if file == root:
            return "#" + fragment
        if fragment and not fragment.startswith("/"):
            return ref if file == home else "#" + fragment  # a plain-name anchor: anchors are document-wide
        return f"#/$defs/{_key(file)}{fragment}"

    def visit(s: dict[str, Any]) -> None:
        for k in _REF_KEYS:
            if isinstance(s.get(k), str):
                s[k] = target(s[k])

    out = copy.deepcopy(schema)
    walk(out, visit)
    return out


def _referenced(name: str, bundle: dict[str, Any]) -> list[str]:
    """The bundle files `name` needs, directly or through other files, in a stable order."""
    seen: list[str] = []
    todo = [name]
    while todo:
        for ref in refs_in(bundle.get(todo.pop(0))):
            file = _split(ref)[0]
            if file and file != name and file not in seen and isinstance(bundle.get(file), dict):
                seen.append(file)
                todo.append(file)
    return seen


def embed(name: str, bundle: dict[str, Any]) -> dict[str, Any]:
    """The form `name` as one self-contained schema: referenced files under `$defs["file:<name>"]`."""
    names = set(bundle)
    root: dict[str, Any] = _rewrite(_without_id(bundle[name]), name, name, names)
    needed = _referenced(name, bundle)
    if needed:
        defs = dict(root.get("$defs") or {})
        for file in needed:
            doc = _rewrite(bundle[file], file, name, names)
            defs[_key(file)] = {k: v for k, v in doc.items() if k not in ("$id", "$schema")}
        root["$defs"] = defs
    return root
