"""The declarative table of periodic work, and the one scheduler process that enqueues it.

APScheduler 3.11 runs in exactly one process and only enqueues RQ jobs, with deterministic
job ids (name + day), so a second scheduler, a restart or a misfire cannot double the work;
the jobs are idempotent anyway (alert keys are unique).  A Redis leader lock keeps a
standby scheduler idle until the leader dies.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass
from datetime import date, datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from service.clock import clock
from service.queueing import connection, queue, safe_id

log = logging.getLogger("perftrack.scheduler")
LEADER_KEY = "perftrack:scheduler:leader"
LEADER_TTL = 30  # seconds; renewed every 10
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # APScheduler's day_of_week names


@dataclass(frozen=True)
class Periodic:
    name: str
    function: str
    trigger: dict  # CronTrigger fields (Asia/Shanghai); `every_minutes` for an interval
    queue: str = "default"
    dated: bool = True  # the job takes the day (ISO) it runs for

    def fires_on(self, day: date) -> bool:
        """Whether this entry runs on DAY (what a simulation replays)."""
        if "every_minutes" in self.trigger:
            return True
        weekday = self.trigger.get("day_of_week")
        return weekday is None or WEEKDAYS[day.weekday()] == weekday


PERIODIC = [
    Periodic("daily-sweep", "workers.jobs.daily_sweep", {"hour": 1, "minute": 0}),
    Periodic("deadline-scan", "workers.jobs.scan_alerts", {"hour": 8, "minute": 30}),
    Periodic("daily-digest", "workers.jobs.daily_digest", {"hour": 17, "minute": 30}, queue="notify"),
    Periodic("weekly-digest", "workers.jobs.weekly_digest", {"day_of_week": "mon", "hour": 9, "minute": 0}),
    Periodic("outbox-drain", "workers.jobs.drain_outbox", {"every_minutes": 1}, dated=False),
]


def enqueue_periodic(redis_url: str, entry: Periodic, day: date | None = None):
    """Enqueue ENTRY for DAY with the id `name-day`: the same day is never queued twice at once."""
    day = day or clock.today()
    args = (day.isoformat(),) if entry.dated else ()
    job_id = safe_id(entry.name, day.isoformat() if entry.dated else int(time.time() // 60))
    return queue(redis_url, entry.queue).enqueue_call(entry.function, args=args, job_id=job_id)


def _trigger(entry: Periodic, zone):
    if "every_minutes" in entry.trigger:
        return IntervalTrigger(minutes=entry.trigger["every_minutes"], timezone=zone)
    return CronTrigger(timezone=zone, **entry.trigger)


class Leadership:
    """A Redis lock with a TTL: whoever holds it schedules; the others wait."""

    def __init__(self, redis_url: str) -> None:
        self.redis = connection(redis_url)
        self.token = f"{socket.gethostname()}:{os.getpid()}"

    def acquire(self) -> bool:
        if self.redis.set(LEADER_KEY, self.token, nx=True, ex=LEADER_TTL):
            return True
        return self.renew()

    def renew(self) -> bool:
        if (self.redis.get(LEADER_KEY) or b"").decode() != self.token:
            return False
        self.redis.expire(LEADER_KEY, LEADER_TTL)
        return True

    def release(self) -> None:
        if (self.redis.get(LEADER_KEY) or b"").decode() == self.token:
            self.redis.delete(LEADER_KEY)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(0)


def run_scheduler(redis_url: str, zone: str) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per lock renewal
    # SIGTERM (systemd, docker, `perftrack dev` on Ctrl-C) ends it like Ctrl-C: through the `finally`
    # below, so the leader lock is released at once instead of blocking a restart for LEADER_TTL.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    leadership = Leadership(redis_url)
    # The `try` starts before the lock is taken: a SIGTERM at any moment after (even between the
    # "leads" line and the scheduler's start) still releases it.  release() checks the token.
    try:
        while not leadership.acquire():
            log.info("another scheduler leads; waiting")
            time.sleep(LEADER_TTL / 3)
        scheduler = BlockingScheduler(
            timezone=zone, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}
        )
        for entry in PERIODIC:
            scheduler.add_job(
                enqueue_periodic, _trigger(entry, zone), args=(redis_url, entry), id=entry.name, replace_existing=True
            )

        def keep_lead():
            if not leadership.renew():
                log.error("lost the scheduler lock; stopping")
                scheduler.shutdown(wait=False)

        scheduler.add_job(keep_lead, IntervalTrigger(seconds=LEADER_TTL // 3, timezone=zone), id="leader-renew")
        log.info("scheduler leads (%s) at %s", leadership.token, datetime.now().isoformat(timespec="seconds"))
        scheduler.start()
    finally:
        leadership.release()
        gc.freeze()  # the process ends now: spare it the collector's pass over the whole heap at exit
