"""Keep what bpmn-js drops on save: `loopDataInputRef`/`loopDataOutputRef` that name task-data variables (e.g.
`peers`, `peer_feedback` in feedback_360) are unresolved references to bpmn-moddle, so an edited diagram can come
back without them. They are copied back from the diagram the edit started from, element by element."""

from __future__ import annotations

import copy

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
REFS = ("loopDataInputRef", "loopDataOutputRef")
# Children of multiInstanceLoopCharacteristics in XSD order; a restored ref goes before the first later one.
ORDER = (
    "loopCardinality",
    *REFS,
    "inputDataItem",
    "outputDataItem",
    "complexBehaviorDefinition",
    "completionCondition",
)


def _parse(xml: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(xml.encode(), parser)


def _q(name: str) -> str:
    return f"{{{BPMN}}}{name}"


def restore_loop_refs(original: str, edited: str) -> str:
    """`edited` with every loop data ref of `original` present again on the same element (by id)."""
    try:
        before, after = _parse(original), _parse(edited)
    except etree.XMLSyntaxError:
        return edited  # the deploy check reports the broken file with its line
    changed = False
    for mi in before.iter(_q("multiInstanceLoopCharacteristics")):
        owner = mi.getparent()
        if owner is None or not owner.get("id"):
            continue
        found = after.xpath("//*[@id=$id]", id=owner.get("id"))
        if not found:
            continue  # the element was deleted in the edit
        target = found[0].find(_q("multiInstanceLoopCharacteristics"))
        if target is None:
            continue  # the edit made it a plain task
        for ref in REFS:
            old = mi.find(_q(ref))
            if old is None or (target.find(_q(ref)) is not None and (target.find(_q(ref)).text or "").strip()):
                continue
            stale = target.find(_q(ref))
            if stale is not None:
                target.remove(stale)
            later = [c for c in target if etree.QName(c).localname in ORDER[ORDER.index(ref) + 1 :]]
            if later:
                later[0].addprevious(copy.deepcopy(old))
            else:
                target.append(copy.deepcopy(old))
            changed = True
    if not changed:
        return edited
    return etree.tostring(after, xml_declaration=True, encoding="UTF-8").decode()
