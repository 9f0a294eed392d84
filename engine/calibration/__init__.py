"""Calibration: groups of reviews opened to a committee once rated, the committee's view, and the results it
hands back to each review (lifecycle, view).

The public face is below; `from engine import calibration` then `calibration.create_group(...)`."""

from engine.calibration.lifecycle import (
    DEFINITION_KEY,
    MESSAGE,
    calibration_progress,
    create_group,
    deliver_calibration,
    get_group,
    groups_of,
    on_calibrated,
    open_group,
    record_changes,
    ungrouped,
)

__all__ = [
    "DEFINITION_KEY",
    "MESSAGE",
    "calibration_progress",
    "create_group",
    "deliver_calibration",
    "get_group",
    "groups_of",
    "on_calibrated",
    "open_group",
    "record_changes",
    "ungrouped",
]
