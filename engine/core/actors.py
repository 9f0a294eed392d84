"""Who acts in a diagram, by lane name: the standard lanes, their aliases and how a drawn lane name matches one.
Pure names (floor 1): the kernel's lanes, the notifier and the 360 rules all speak them."""

from __future__ import annotations

EMPLOYEE, MANAGER, SKIP, HR, PEER, DIRECT, COMMITTEE, FACILITATOR = (
    "employee",
    "manager",
    "skip-level manager",
    "hr",
    "peer",
    "direct report",
    "calibration committee",
    "facilitator",
)
STANDARD = (EMPLOYEE, MANAGER, SKIP, HR, PEER, DIRECT, COMMITTEE, FACILITATOR)
_ALIASES = {
    "skip level manager": SKIP,
    "skip-level": SKIP,
    "skip level": SKIP,
    "direct reports": DIRECT,
    "peers": PEER,
    "committee": COMMITTEE,
    "calibration facilitator": FACILITATOR,
    "human resources": HR,
    "hr partner": HR,
}
PER_ITEM = (PEER, DIRECT)  # multi-instance lanes: the element variable names the person
PER_MEMBER = (*PER_ITEM, COMMITTEE)  # lanes where a multi-instance task goes to the person its item names


def norm(lane: str | None) -> str:
    """Lane names match case-insensitively; a bilingual 'Manager / 经理' matches on its first part."""
    if not lane:
        return EMPLOYEE  # a task drawn outside any lane belongs to the subject
    key = " ".join(lane.split("/")[0].strip().lower().replace("_", " ").split())
    return _ALIASES.get(key, key)


PERSPECTIVES = {PEER: "peer", DIRECT: "direct_report"}  # per-item rater lanes → the 360 perspective they answer for


def perspective_of(lane: str | None) -> str | None:
    """'peer' or 'direct_report' for a rater's lane, else None."""
    return PERSPECTIVES.get(norm(lane)) if lane else None
