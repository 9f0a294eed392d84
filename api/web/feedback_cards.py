"""The 360 summary as cards a reader reads: per perspective (peers, direct reports), how many answered, the mean
of each rated question under the question's own title, and the comments per question — or, below the cycle's
anonymity threshold, only that there were not enough answers to show. Never who answered."""

from __future__ import annotations

from typing import Any

from api.web.i18n import Text

PERSPECTIVES = {"peer": ("Peers", "同事"), "direct_report": ("Direct reports (upward)", "下属（向上反馈）")}
FALLBACK_QUESTIONS = {
    "rating": ("Rating", "评分"),
    "strengths": ("What they do well", "做得好的地方"),
    "improvements": ("What would help them even more", "可以做得更好的地方"),
}


def number(value: Any) -> str:
    """2.0 as "2", 3.5 as "3.5"."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def cards(tr: Text, summary: Any, labels: dict[str, Any]) -> list[dict[str, Any]] | None:
    """One card per perspective: its answer count, the mean of each rated question and the comments per question,
    or only the threshold when too few answered. `summary` is engine/review/feedback.summary or, for a reader,
    engine/review/anonymity.answers_view (answers without who gave them)."""
    if not isinstance(summary, dict):
        return None
    cards = []
    for kind, part in summary.items():
        if not isinstance(part, dict):
            continue
        en, zh = PERSPECTIVES.get(kind, ("Other raters", "其他评价人"))
        card: dict[str, Any] = {"title": tr.t(en, zh), "hidden": bool(part.get("hidden"))}
        card["threshold"] = (labels.get("anonymity") or {}).get(kind, 3)
        if card["hidden"]:
            cards.append(card)
            continue
        means, comments = part.get("means"), part.get("comments")
        if "answers" in part:  # a reader's anonymous view: the answers, not who gave them
            means, comments = _aggregate(part.get("answers") or [])
        order = list((labels.get("questions") or {}).get(kind) or {})
        means = dict(sorted((means or {}).items(), key=lambda kv: _rank(order, kv[0])))
        comments = dict(sorted((comments or {}).items(), key=lambda kv: _rank(order, kv[0])))
        card["count"] = part.get("count") or 0
        card["means"] = [(_question(tr, labels, kind, k), number(v)) for k, v in (means or {}).items()]
        card["comments"] = [(_question(tr, labels, kind, k), list(v)) for k, v in (comments or {}).items() if v]
        cards.append(card)
    return cards


def _question(tr: Text, labels: dict[str, Any], kind: str, key: str) -> str:
    node = (labels.get("questions") or {}).get(kind, {}).get(key)
    if isinstance(node, dict) and tr.label(node):
        return tr.label(node)
    en, zh = FALLBACK_QUESTIONS.get(key, (key.replace("_", " ").capitalize(), ""))
    return tr.t(en, zh or en)


def _rank(order: list[str], key: str) -> tuple[int, str]:
    """Questions in the order the rater's form asks them; anything else after them."""
    return (order.index(key) if key in order else len(order), key)


def _aggregate(answers: list[Any]) -> tuple[dict[str, float], dict[str, list[str]]]:
    numbers: dict[str, list[float]] = {}
    texts: dict[str, list[str]] = {}
    for answer in answers:
        for key, value in (answer if isinstance(answer, dict) else {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                numbers.setdefault(key, []).append(float(value))
            elif isinstance(value, str) and value.strip() and key != "decline_reason":
                texts.setdefault(key, []).append(value.strip())
    means = {k: round(sum(v) / len(v), 2) for k, v in sorted(numbers.items())}
    return means, {k: sorted(v, key=str.casefold) for k, v in sorted(texts.items())}
