"""The one clock.  Every "now" and "today" in perftrack comes from here.

Stored times are UTC; people see Asia/Shanghai (the configured zone).  Tests and demos
fix the date with `clock.set_today()` or `PERFTRACK_TODAY`, so a whole budget year
can be simulated.  `wall_now()` is the exception: real time for security timers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


class Clock:
    def __init__(self, zone: str = "Asia/Shanghai") -> None:
        self.zone = ZoneInfo(zone)
        self._fixed: datetime | None = None

    def configure(self, zone: str, fixed_today: date | None = None) -> None:
        self.zone = ZoneInfo(zone)
        if fixed_today is not None:
            self.set_today(fixed_today)

    def set_today(self, day: date | None, at: time = time(9, 0)) -> None:
        """Fix the clock at `at` local time on `day` (None: back to real time)."""
        self._fixed = None if day is None else datetime.combine(day, at, self.zone).astimezone(UTC)

    @contextmanager
    def restored(self) -> Iterator[None]:
        """Simulate days inside the block; the clock is as before afterwards."""
        saved = self._fixed
        try:
            yield
        finally:
            self._fixed = saved

    def now(self) -> datetime:
        """Aware UTC."""
        return self._fixed if self._fixed is not None else self.wall_now()

    @staticmethod
    def wall_now() -> datetime:
        """Aware UTC real time, even when the day is fixed: security timers (login limits,
        token expiry) must keep running during a demo or a simulated year."""
        return datetime.now(UTC)

    def local_now(self) -> datetime:
        return self.now().astimezone(self.zone)

    def today(self) -> date:
        """Today for the people using the service (local zone)."""
        return self.local_now().date()


clock = Clock()
