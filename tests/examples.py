"""How many examples a property test draws: a quarter of its thorough count for `make test` on a
developer's machine, the full count where PERFTRACK_THOROUGH is set (CI sets it)."""

from __future__ import annotations

import os

THOROUGH = bool(os.environ.get("PERFTRACK_THOROUGH"))


def examples(thorough: int) -> int:
    return thorough if THOROUGH else max(thorough // 4, 50)
