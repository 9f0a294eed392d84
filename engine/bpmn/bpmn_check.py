"""Safety and structure checks of uploaded BPMN files, done with lxml alone before SpiffWorkflow sees them.

DOCTYPE and entity declarations are refused by a byte scan before any XML parser runs (XXE, billion laughs,
quadratic blowup); the parser that then runs is hardened anyway. The structural checks catch what SpiffWorkflow's
parser misreports (dangling references) or silently drops (unconnected elements), with element ids and lines.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from lxml import etree

from engine.core.errors import DefinitionInvalid, TooLarge

MAX_FILE_BYTES = 5 * 1024 * 1024

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"

_DECLARATION = re.compile(rb"<!\s*(?:doctype|entity)", re.IGNORECASE)
_DECLARATION_TEXT = re.compile(r"<!\s*(?:doctype|entity)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"\A\s*<\?xml[^>]*?\sencoding\s*=\s*[\"']([^\"']*)[\"']")
_UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}
# Longest marks first: the UTF-32-LE byte-order mark starts with the UTF-16-LE one.
_SNIFF = [
    (codecs.BOM_UTF32_LE, "UTF-32-LE", True),
    (codecs.BOM_UTF32_BE, "UTF-32-BE", True),
    (codecs.BOM_UTF8, "UTF-8", True),
    (codecs.BOM_UTF16_LE, "UTF-16-LE", True),
    (codecs.BOM_UTF16_BE, "UTF-16-BE", True),
    (b"<\x00\x00\x00", "UTF-32-LE", False),
    (b"\x00\x00\x00<", "UTF-32-BE", False),
    (b"<\x00", "UTF-16-LE", False),
    (b"\x00<", "UTF-16-BE", False),
]
_NOT_FLOW_NODES = {
    "sequenceFlow",
    "laneSet",
    "lane",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "textAnnotation",
    "association",
    "documentation",
    "extensionElements",
    "ioSpecification",
    "property",
    "group",
    "auditing",
    "monitoring",
    "ioBinding",
    "resourceRole",
    "performer",
    "humanPerformer",
    "potentialOwner",
    "correlationSubscription",
    "supports",
    "multiInstanceLoopCharacteristics",
    "standardLoopCharacteristics",
    "completionCondition",
    "incoming",
    "outgoing",
    "dataInputAssociation",
    "dataOutputAssociation",
}
_SCOPES = {"subProcess", "transaction", "adHocSubProcess"}


def _q(local: str, ns: str = BPMN_NS) -> str:
    return f"{{{ns}}}{local}"


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _problem(file: str, element: str | None, line: int | None, message: str) -> dict[str, Any]:
    return {"file": file, "element": element, "line": line, "message": message}


def _refuse(name: str, line: int | None, message: str) -> DefinitionInvalid:
    return DefinitionInvalid(message, errors=[_problem(name, None, line, message)])


def refuse_unsafe_xml(name: str, data: bytes) -> None:
    """Raise unless `data` is at most MAX_FILE_BYTES of UTF-8 XML without DOCTYPE or entity declarations."""
    if len(data) > MAX_FILE_BYTES:
        message = (
            f"'{name}' is {len(data):,} bytes; the limit is {MAX_FILE_BYTES // (1024 * 1024)} MB "
            f"({MAX_FILE_BYTES:,} bytes) per file. Remove embedded images or split the diagram."
        )
        raise TooLarge(message, errors=[_problem(name, None, None, message)])
    encoding, bom = "UTF-8", 0
    for mark, enc, is_bom in _SNIFF:
        if data.startswith(mark):
            encoding, bom = enc, len(mark) if is_bom else 0
            break
    if encoding == "UTF-8":
        found = _DECLARATION.search(data)
        line = data.count(b"\n", 0, found.start()) + 1 if found else None
    else:
        text = data[bom:].decode(encoding.lower(), errors="replace")
        found_text = _DECLARATION_TEXT.search(text)
        line = text.count("\n", 0, found_text.start()) + 1 if found_text else None
    if line is not None:
        raise _refuse(
            name,
            line,
            f"'{name}' contains a DOCTYPE or entity declaration (line {line}). These are not "
            "allowed in diagrams because they can read server files or exhaust memory. "
            "Delete the <!DOCTYPE ...> block and upload again.",
        )
    if encoding != "UTF-8":
        raise _refuse(
            name,
            None,
            f"'{name}' is encoded as {encoding}; diagrams must be UTF-8. Save the file as UTF-8 and upload again.",
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _refuse(
            name,
            data.count(b"\n", 0, nul) + 1,
            f"'{name}' contains NUL bytes, so it is not UTF-8 text "
            "(perhaps UTF-16). Save the file as UTF-8 and upload again.",
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = data.count(b"\n", 0, exc.start) + 1
        raise _refuse(
            name,
            bad_line,
            f"'{name}' is not valid UTF-8 (first bad byte on line {bad_line}). "
            "Save the file as UTF-8 and upload again.",
        ) from None
    declared = _XML_ENCODING.match(data[bom:])
    if declared and declared.group(1).decode("ascii", "replace").strip().lower() not in _UTF8_NAMES:
        raise _refuse(
            name,
            1,
            f"'{name}' declares encoding \"{declared.group(1).decode('ascii', 'replace')}\"; "
            'diagrams must be UTF-8. Save the file as UTF-8 with encoding="UTF-8".',
        )


def parse_xml(name: str, data: bytes) -> etree._Element:
    """Refuse unsafe input, then parse it with a hardened lxml parser; syntax errors become DefinitionInvalid."""
    refuse_unsafe_xml(name, data)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        remove_comments=False,
        encoding="utf-8",
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or None
        raise _refuse(
            name,
            line,
            f"'{name}' is not well-formed XML: {exc.msg}. Fix the file (was it cut off "
            "or edited by hand?) or export it again from the modeler.",
        ) from None
    if root.getroottree().docinfo.doctype:  # unreachable after the scan; kept as a second lock
        raise _refuse(name, None, f"'{name}' contains a DOCTYPE, which is not allowed in diagrams.")
    return root


# Elements a diagram may contain, by namespace: the OMG families (BPMN, BPMNDI, DC, DI, DMN, DMNDI and the
# non-normative colour extension), SpiffWorkflow's extensions, and the data-only extensions Camunda and bpmn-js
# write (camunda:, zeebe:, modeler:, bioc:, biodi:). An element in any other namespace (XHTML, SVG, MathML, XSLT,
# XInclude, unknown vendors) is refused: a browser or XML tool could treat it as active content. Attributes in foreign
# namespaces (bioc:stroke, color:background-color, camunda:asyncBefore, ...) are data on a BPMN element and stay,
# except those of the web namespaces below, which only have a meaning to a browser.
_ELEMENT_NS_PREFIXES = (
    "http://www.omg.org/spec/",
    "https://www.omg.org/spec/",
    SPIFF_NS,
    "http://camunda.org/schema/",
    "http://bpmn.io/schema/",  # bioc: colours, biodi: DMN diagram bounds
)
_ACTIVE_NS = {
    "http://www.w3.org/1999/xhtml": "XHTML",
    "http://www.w3.org/2000/svg": "SVG",
    "http://www.w3.org/1998/Math/MathML": "MathML",
    "http://www.w3.org/1999/xlink": "XLink",
    "http://www.w3.org/1999/XSL/Transform": "XSLT",
    "http://www.w3.org/2001/XInclude": "XInclude",
    "http://www.w3.org/2003/XInclude": "XInclude",
}


def check_content(name: str, root: etree._Element) -> list[dict[str, Any]]:
    """Refuse processing instructions and elements outside the diagram namespaces (see `_ELEMENT_NS_PREFIXES`)."""
    problems: list[dict[str, Any]] = []
    nodes = [*reversed(list(root.itersiblings(preceding=True))), *root.iter(), *root.itersiblings()]
    for el in nodes:
        if isinstance(el, etree._ProcessingInstruction):
            problems.append(
                _problem(
                    name,
                    None,
                    el.sourceline,
                    f"'{name}' contains the processing instruction <?{el.target} ...?> (line {el.sourceline}). "
                    "Diagrams may not carry processing instructions (a stylesheet one can make a browser run "
                    "code). Delete it and upload again.",
                )
            )
            continue
        if not isinstance(el.tag, str):
            continue  # comments
        ns = etree.QName(el).namespace or ""
        if not ns.startswith(_ELEMENT_NS_PREFIXES):
            kind = _ACTIVE_NS.get(ns, "")
            problems.append(
                _problem(
                    name,
                    _owner(el) if el is not root else None,
                    el.sourceline,
                    f"'{name}' line {el.sourceline}: element <{etree.QName(el).localname}> in "
                    f"{f'the {kind} namespace' if kind else f'namespace {ns!r}' if ns else 'no namespace'} is not "
                    "part of a BPMN diagram (allowed: BPMN, BPMN DI, DC, DI, DMN, SpiffWorkflow, Camunda and bpmn.io "
                    "colour extensions). Remove it and upload again.",
                )
            )
            continue
        for attr in el.attrib:
            attr_ns = etree.QName(attr).namespace
            if attr_ns in _ACTIVE_NS:
                problems.append(
                    _problem(
                        name,
                        el.get("id") or _owner(el),
                        el.sourceline,
                        f"'{name}' line {el.sourceline}: attribute {etree.QName(attr).localname!r} in the "
                        f"{_ACTIVE_NS[attr_ns]} namespace has no meaning in a diagram. Remove it and upload again.",
                    )
                )
    return problems


def _label(el: Any) -> str:
    kind = re.sub(r"(?<!^)(?=[A-Z])", " ", _local(el)).lower().replace("sub process", "sub-process")
    return f"{kind[:1].upper()}{kind[1:]} '{el.get('id')}'"


def _flow_nodes(scope: Any) -> list[Any]:
    return [
        c
        for c in scope
        if isinstance(c.tag, str) and c.tag.startswith(f"{{{BPMN_NS}}}") and _local(c) not in _NOT_FLOW_NODES
    ]


def _check_scope(name: str, scope: Any, where: str, problems: list[dict[str, Any]], node_ids: set[str]) -> None:
    """Check one process or sub-process; recurse into nested sub-processes."""
    nodes = {n.get("id"): n for n in _flow_nodes(scope) if n.get("id")}
    node_ids.update(nodes)
    flows = {f.get("id"): f for f in scope.iterfind(_q("sequenceFlow"))}
    out: dict[str, list[str]] = {}
    inc: dict[str, list[str]] = {}
    add = problems.append
    for n in _flow_nodes(scope):
        if not n.get("id"):
            add(_problem(name, None, n.sourceline, f"A {_local(n)} in {where} has no id. Give it a unique id."))
    for fid, flow in flows.items():
        for attr, verb, index in (("sourceRef", "starts at", out), ("targetRef", "points to", inc)):
            ref = flow.get(attr)
            if ref in nodes:
                index.setdefault(ref, []).append(fid)
            else:
                add(
                    _problem(
                        name,
                        fid,
                        flow.sourceline,
                        f"Sequence flow '{fid}' {verb} '{ref or ''}', which is not in {where}. "
                        "Connect it to an existing element or remove it.",
                    )
                )
    ad_hoc = _local(scope) == "adHocSubProcess"
    starts = [n for n in nodes.values() if _local(n) == "startEvent"]
    if not ad_hoc and nodes and not starts:
        add(
            _problem(
                name,
                scope.get("id"),
                scope.sourceline,
                f"{where[0].upper()}{where[1:]} has no start event. Add one and connect it to the first step.",
            )
        )
    for nid, n in nodes.items():
        kind = _local(n)
        for child in (*n.iterfind(_q("incoming")), *n.iterfind(_q("outgoing"))):
            if (child.text or "").strip() not in flows:
                add(
                    _problem(
                        name,
                        nid,
                        child.sourceline,
                        f"{_label(n)} lists {_local(child)} flow '{(child.text or '').strip()}', which does not "
                        f"exist in {where}. Redraw the connection or remove the stale reference.",
                    )
                )
        default = n.get("default")
        if default and default not in out.get(nid, []):
            choices = ", ".join(f"'{f}'" for f in out.get(nid, [])) or "none"
            add(
                _problem(
                    name,
                    nid,
                    n.sourceline,
                    f"{_label(n)} has default flow '{default}', which is not one of its outgoing sequence "
                    f"flows ({choices}). Pick one of them as the default or remove the default.",
                )
            )
        if kind == "callActivity" and not (n.get("calledElement") or "").strip():
            add(
                _problem(
                    name,
                    nid,
                    n.sourceline,
                    f"{_label(n)} does not say which process to call. Set its "
                    "'called element' to the id of the process to run.",
                )
            )
        if kind == "boundaryEvent" and n.get("attachedToRef") not in nodes:
            add(
                _problem(
                    name,
                    nid,
                    n.sourceline,
                    f"{_label(n)} is attached to '{n.get('attachedToRef') or ''}', which is not in {where}. "
                    "Attach it to a task or remove it.",
                )
            )
        event_sub = kind == "subProcess" and n.get("triggeredByEvent") == "true"
        if not ad_hoc and not event_sub:
            needs_in = kind not in ("startEvent", "boundaryEvent")
            needs_out = kind != "endEvent"
            missing = [
                d
                for d, need, idx in (("incoming", needs_in, inc), ("outgoing", needs_out, out))
                if need and not idx.get(nid)
            ]
            if missing:
                add(
                    _problem(
                        name,
                        nid,
                        n.sourceline,
                        f"{_label(n)} in {where} is not connected: it has no {' or '.join(missing)} sequence "
                        "flow, so SpiffWorkflow would silently drop it. Connect it or delete it.",
                    )
                )
        if kind in _SCOPES:
            _check_scope(name, n, f"sub-process '{nid}'", problems, node_ids)
    if not ad_hoc:
        _check_reachable(name, nodes, inc, out, flows, where, problems)


def _check_reachable(
    name: str,
    nodes: dict[str, Any],
    inc: dict[str, list[str]],
    out: dict[str, list[str]],
    flows: dict[str, Any],
    where: str,
    problems: list[dict[str, Any]],
) -> None:
    """Report loops drawn off to the side: connected, yet reached from no start event (nor from an element
    already reported as unconnected, to report each mistake once)."""
    seen: set[str] = set()
    todo = [nid for nid in nodes if not inc.get(nid)]
    while todo:
        nid = todo.pop()
        if nid in seen:
            continue
        seen.add(nid)
        todo.extend(flows[f].get("targetRef") for f in out.get(nid, []))
    for nid, n in nodes.items():
        if nid not in seen and out.get(nid):
            problems.append(
                _problem(
                    name,
                    nid,
                    n.sourceline,
                    f"{_label(n)} in {where} cannot be reached from a start event, so SpiffWorkflow "
                    "would silently drop it. Connect it to the main path or delete it.",
                )
            )


def check_structure(name: str, root: etree._Element) -> list[dict[str, Any]]:
    """Every structural problem in one BPMN file, each as {"file", "element", "line", "message"}."""
    problems: list[dict[str, Any]] = []
    processes = list(root.iter(_q("process")))
    if not any((p.get("isExecutable") or "").strip().lower() == "true" for p in processes):
        problems.append(
            _problem(
                name,
                None,
                root.sourceline,
                f"'{name}' has no executable process. In the modeler, select the process (pool) "
                'and mark it executable (isExecutable="true").',
            )
        )
    for proc in processes:
        pid = proc.get("id")
        node_ids: set[str] = set()
        _check_scope(name, proc, f"process '{pid}'", problems, node_ids)
        for ref in proc.iter(_q("flowNodeRef")):
            target = (ref.text or "").strip()
            if target not in node_ids:
                lane = ref.getparent()
                problems.append(
                    _problem(
                        name,
                        lane.get("id"),
                        ref.sourceline,
                        f"Lane '{lane.get('name') or lane.get('id')}' lists '{target}', which is not "
                        f"an element of process '{pid}'. Remove it from the lane.",
                    )
                )
    all_ids = {e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
    for mf in root.iter(_q("messageFlow")):
        for attr, verb in (("sourceRef", "starts at"), ("targetRef", "points to")):
            if mf.get(attr) not in all_ids:
                problems.append(
                    _problem(
                        name,
                        mf.get("id"),
                        mf.sourceline,
                        f"Message flow '{mf.get('id')}' {verb} '{mf.get(attr) or ''}', which is not "
                        "in this file. Connect it to a pool or an element, or remove it.",
                    )
                )
    return problems


def _owner(el: Any) -> str | None:
    """The id of the element a piece of code belongs to (skipping event definitions and loop settings)."""
    for anc in el.iterancestors():
        local = _local(anc)
        if anc.get("id") and not local.endswith(("EventDefinition", "LoopCharacteristics")):
            return str(anc.get("id"))
    return None


_SOURCES: list[tuple[str, str, str]] = [  # (tag, kind, where the code is: element text or `value` attribute)
    (_q("script"), "script", "text"),
    (_q("preScript", SPIFF_NS), "script", "text"),
    (_q("postScript", SPIFF_NS), "script", "text"),
    (_q("conditionExpression"), "condition", "text"),
    (_q("condition"), "condition", "text"),
    (_q("loopCondition"), "condition", "text"),
    (_q("timeDate"), "timer", "text"),
    (_q("timeDuration"), "timer", "text"),
    (_q("timeCycle"), "timer", "text"),
    (_q("loopCardinality"), "expression", "text"),
    (_q("completionCondition"), "expression", "text"),
    (_q("messagePayload", SPIFF_NS), "expression", "text"),
    (_q("messageVariable", SPIFF_NS), "expression", "text"),
    (_q("payloadExpression", SPIFF_NS), "expression", "text"),
    (_q("expression", SPIFF_NS), "expression", "text"),
    (_q("parameter", SPIFF_NS), "expression", "value"),
]


def script_sources(root: etree._Element) -> list[tuple[str, str, str, int | None]]:
    """Every piece of Python in the diagram as (element id, kind, source, line).

    `kind` is "script" (run with exec) or "condition", "timer", "expression" (evaluated with eval).

    Sources are taken exactly as SpiffWorkflow reads them (an element's `.text`), so what is checked is what runs.
    """
    tags = {tag: (kind, how) for tag, kind, how in _SOURCES}
    found: list[tuple[str, str, str, int | None]] = []
    for el in root.iter(*tags, _q("formalExpression")):
        kind, how = tags.get(el.tag, ("expression", "text"))
        if el.tag == _q("formalExpression") and _local(el.getparent()) != "correlationPropertyRetrievalExpression":
            continue  # other formal expressions (e.g. data assignments) are not evaluated by SpiffWorkflow
        if how == "value" and not any(_local(a) == "serviceTaskOperator" for a in el.iterancestors()):
            continue
        source = el.text if how == "text" else el.get("value")
        if source and source.strip():
            found.append((_owner(el) or "", kind, source, el.sourceline))
    return found


def has_script_tasks(root: etree._Element) -> bool:
    """True if the diagram has a script task or a pre/post script (deploying it needs the designer role)."""
    if next(root.iter(_q("scriptTask")), None) is not None:
        return True
    return any((el.text or "").strip() for el in root.iter(_q("preScript", SPIFF_NS), _q("postScript", SPIFF_NS)))
