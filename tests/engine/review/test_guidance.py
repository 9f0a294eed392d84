"""Distribution guidance arithmetic: how many people would have to move into or out of each band."""

from __future__ import annotations

import pytest

from engine.core.errors import InvalidInput
from engine.review import cycle_settings, guidance


def bands(ratings, g=guidance.DEFAULT):
    return {row["band"]: row for row in guidance.compare(ratings, g)}


def test_a_group_within_tolerance_needs_no_moves():
    ratings = [5, 5] + [4] * 4 + [3] * 3 + [1]  # 20% / 70% / 10% of 10
    assert {b: r["move"] for b, r in bands(ratings).items()} == {"top": 0, "middle": 0, "bottom": 0}
    assert bands(ratings)["top"]["allowed"] == [2, 2]  # 15–25% of 10 people, whole people only


def test_a_lenient_group_is_told_how_many_to_move():
    ratings = [5] * 6 + [4] * 4  # 60% top, nobody at the bottom
    result = bands(ratings)
    assert (result["top"]["count"], result["top"]["move"]) == (6, -4)
    assert (result["middle"]["count"], result["middle"]["allowed"], result["middle"]["move"]) == (4, [7, 7], 3)
    assert (result["bottom"]["allowed"], result["bottom"]["move"]) == ([1, 1], 1)


def test_a_small_group_may_sit_on_either_side_of_an_unreachable_share():
    # 20% ± 5% of 3 people is 0.45..0.75 people: no whole number fits, so 0 and 1 are both within guidance
    result = bands([5, 4, 2])
    assert result["top"]["allowed"] == [0, 1] and result["top"]["move"] == 0
    assert bands([5, 5, 4])["top"]["move"] == -1


def test_wider_tolerance_on_a_larger_group():
    custom = {
        "bands": [
            {"name": "high", "ratings": [4, 5], "share": 0.3},
            {"name": "rest", "ratings": [1, 2, 3], "share": 0.7},
        ],
        "tolerance": 0.1,
    }
    result = bands([5] * 9 + [3] * 21, custom)  # 30 people, 30% high
    assert result["high"]["allowed"] == [6, 12] and result["high"]["move"] == 0


def test_guidance_settings_are_checked():
    with pytest.raises(InvalidInput) as bad:
        cycle_settings.validate(
            {
                "distribution": {
                    "bands": [
                        {"name": "a", "ratings": [5], "share": 0.5},
                        {"name": "b", "ratings": [5, 4], "share": 0.4},
                    ],
                    "tolerance": 0.9,
                }
            }
        )
    messages = [e["message"] for e in bad.value.errors]
    assert any("repeats a rating" in m for m in messages) and any("add up to 1" in m for m in messages)
    assert any("tolerance" in m for m in messages)
    assert cycle_settings.validate({"distribution": guidance.DEFAULT})["distribution"] == guidance.DEFAULT
