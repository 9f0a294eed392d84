"""Distribution guidance (e.g. top 20% / middle 70% / bottom 10%, with a tolerance): how a group's overall ratings
compare, and how many people would have to move into or out of each band to fall within it."""

from __future__ import annotations

import math
from typing import Any

DEFAULT: dict[str, Any] = {
    "bands": [
        {"name": "top", "ratings": [5], "share": 0.2},
        {"name": "middle", "ratings": [3, 4], "share": 0.7},
        {"name": "bottom", "ratings": [1, 2], "share": 0.1},
    ],
    "tolerance": 0.05,
}


def problems(guidance: Any) -> list[str]:
    """Why a guidance setting cannot be used (empty when it can)."""
    if not isinstance(guidance, dict) or not isinstance(guidance.get("bands"), list) or not guidance["bands"]:
        return ['an object {"bands": [{"name", "ratings": [..], "share"}], "tolerance"}']
    out: list[str] = []
    seen: set[int] = set()
    for band in guidance["bands"]:
        ok = isinstance(band, dict) and isinstance(band.get("name"), str) and isinstance(band.get("ratings"), list)
        ok = ok and all(isinstance(r, int) and not isinstance(r, bool) for r in band["ratings"])
        ok = ok and isinstance(band.get("share"), int | float) and 0 <= band["share"] <= 1
        if not ok:
            return ['each band needs a "name", whole-number "ratings" and a "share" from 0 to 1']
        if seen & set(band["ratings"]):
            out.append(f"band '{band['name']}' repeats a rating of another band")
        seen |= set(band["ratings"])
    if abs(sum(b["share"] for b in guidance["bands"]) - 1) > 0.001:
        out.append("the bands' shares must add up to 1")
    tolerance = guidance.get("tolerance", 0)
    if not isinstance(tolerance, int | float) or not 0 <= tolerance <= 0.5:
        out.append("tolerance must be from 0 to 0.5")
    return out


def compare(ratings: list[float], guidance: dict[str, Any]) -> list[dict[str, Any]]:
    """Per band: count, share, the allowed count range and `move` (+n: n more people belong here; -n: n fewer)."""
    n = len(ratings)
    tolerance = guidance.get("tolerance", 0)
    rows = []
    for band in guidance["bands"]:
        count = sum(1 for r in ratings if r is not None and round(r) in band["ratings"])
        low = max(0, math.ceil((band["share"] - tolerance) * n - 1e-9))
        high = min(n, math.floor((band["share"] + tolerance) * n + 1e-9))
        if low > high:  # a small group: no whole count lies in the range, so both neighbours of it are fine
            low, high = high, low
        move = low - count if count < low else high - count if count > high else 0
        rows.append(
            {
                "band": band["name"],
                "ratings": band["ratings"],
                "count": count,
                "share": round(count / n, 3) if n else None,
                "target": band["share"],
                "allowed": [low, high],
                "move": move,
            }
        )
    return rows


# --- performance bands (the 9-box rows) ---------------------------------------------------------------------------

PERFORMANCE = (("low", (1, 2)), ("medium", (3,)), ("high", (4, 5)))


def performance_band(rating: float | None) -> str | None:
    if rating is None:
        return None
    return next((band for band, values in PERFORMANCE if round(rating) in values), None)
