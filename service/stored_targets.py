"""The one bridge between a stored indicator and the domain `Target`.

`target_of` reads the target in force from an `Indicator` row; `target_of_columns` from the values
of `TARGET_COLUMNS` that a set-based read selected (the sweep and the evaluation read columns, not
rows, and pick them by position: a named lookup per column costs more than scoring).
`target_columns` is the way back, for imports and corrections.
"""

from __future__ import annotations

from collections.abc import Sequence

from .domain.targets import Target
from .models import Indicator

# In the order of Target's fields, so their values build a Target as they come.
TARGET_COLUMNS = (
    Indicator.kind,
    Indicator.comparator,
    Indicator.target_value,
    Indicator.unit,
    Indicator.per,
    Indicator.direction,
    Indicator.due,
    Indicator.name,
    Indicator.level2,
)


def target_of(indicator: Indicator) -> Target:
    return Target(
        indicator.kind,
        indicator.comparator,
        indicator.target_value,
        indicator.unit,
        indicator.per,
        indicator.direction,
        indicator.due,
        indicator.name,
        indicator.level2,
    )


def target_of_columns(values: Sequence) -> Target:
    """VALUES: those of `TARGET_COLUMNS`, in order (e.g. the last columns of a result row)."""
    return Target(*values)


def target_columns(target: Target) -> dict:
    """The `Indicator` columns that store TARGET (its name and level2 are the indicator's own)."""
    return {
        "kind": target.kind,
        "comparator": target.comparator,
        "target_value": target.value,
        "unit": target.unit,
        "per": target.per,
        "direction": target.direction,
        "due": target.due,
    }
