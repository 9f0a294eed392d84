"""Reports over a cycle: completion, distribution, leniency, goal alignment, 360 participation (standard), the
nine-box grid (nine_box) and what calibration changed (calibration_deltas).

The public face is below; `from engine import reports` then `reports.completion(...)`."""

from engine.reports.standard import (
    completion,
    distribution,
    goal_alignment,
    leniency,
    overall_ratings,
    participation_360,
    t_quantile,
    welch_interval,
)

__all__ = [
    "completion",
    "distribution",
    "goal_alignment",
    "leniency",
    "overall_ratings",
    "participation_360",
    "t_quantile",
    "welch_interval",
]
