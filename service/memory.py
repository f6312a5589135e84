"""Large in-memory work without Python's cycle collector walking it."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")


def without_cycle_collection(work: Callable[_P, _R]) -> Callable[_P, _R]:
    """WORK run with the cycle collector paused (and resumed after, as it was).  A large workbook, a sweep's or
    a run's batch holds hundreds of thousands of live objects; each full collection walks them all, and the
    collector ran often enough to take a third of the work.  Those objects are freed by reference counting;
    what garbage in cycles the work leaves is collected once the collector resumes.  Only the entry that found
    the collector enabled turns it back on."""

    @functools.wraps(work)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return work(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused
