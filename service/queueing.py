"""The one place that builds Redis connections and RQ queues, and enqueues work by dotted name.

The web never imports job code: it enqueues `"workers.jobs.recompute_project"` and the
like.  When Redis is unreachable the wish is kept as an outbox row (in the same
transaction as the change that caused it) and enqueued by `drain_outbox` once Redis is back.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy import select
from sqlmodel import Session

from .clock import clock
from .models import OutboxItem

QUEUES = ("high", "default", "notify")  # high: work a person waits on
JOB_TIMEOUT = 600
RETRY = Retry(max=4, interval=[10, 60, 300, 1800])
log = logging.getLogger("perftrack.queueing")


@lru_cache(maxsize=8)
def connection(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30)


def queue(url: str, name: str = "default") -> Queue:
    return Queue(name, connection=connection(url), default_timeout=JOB_TIMEOUT)


def safe_id(*parts) -> str:
    """RQ job ids allow [A-Za-z0-9_-] only."""
    return "-".join(str(p) for p in parts).replace(".", "_").replace(":", "_")


_down_until: dict[str, float] = {}  # url -> monotonic time: skip a Redis that just failed (no wait per job)
DOWN_PAUSE = 10.0


def enqueue(url: str | None, session: Session, function: str, *args, job_id: str, queue_name: str = "default") -> bool:
    """Enqueue FUNCTION(*ARGS) with a deterministic JOB_ID; False (and an outbox row) if Redis is down."""
    if url and time.monotonic() >= _down_until.get(url, 0):
        try:
            queue(url, queue_name).enqueue_call(
                function, args=args, job_id=job_id, retry=RETRY, failure_ttl=7 * 24 * 3600
            )
            _down_until.pop(url, None)
            return True
        except (RedisError, OSError) as exc:
            _down_until[url] = time.monotonic() + DOWN_PAUSE
            log.warning("redis unreachable, %s kept in the outbox: %s", job_id, exc)
    session.add(OutboxItem(function=function, args=list(args), job_id=job_id))
    return False


def drain_outbox(url: str, session: Session) -> int:
    """Enqueue what was kept while Redis was down; returns how many."""
    items = (
        session.execute(select(OutboxItem).where(OutboxItem.enqueued_at.is_(None)).order_by(OutboxItem.id).limit(1000))
        .scalars()
        .all()
    )
    for item in items:
        queue(url, "default").enqueue_call(item.function, args=tuple(item.args), job_id=item.job_id, retry=RETRY)
        item.enqueued_at = clock.now()
        session.add(item)
    return len(items)
