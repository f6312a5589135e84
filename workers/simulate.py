"""A simulated year: the clock advances a day at a time; each day, what the scheduler would
enqueue that day goes through the real queues and is run by a worker (in-process, so the
simulated clock holds).  Replaying days already simulated creates nothing new."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from service.clock import clock
from service.db import session_scope
from service.domain.vocabulary import Channel
from service.models import Alert, Notification, User

from .queues import make_worker
from .schedule import PERIODIC, enqueue_periodic


def simulate(engine, redis_url: str, start: date, end: date, on_day=None) -> list[dict]:
    """Run START..END; returns every alert created, in order, with its recipients."""
    created: list[dict] = []
    with clock.restored():
        day = start
        while day <= end:
            clock.set_today(day)
            with session_scope(engine) as session:
                known = session.execute(select(Alert.id).order_by(Alert.id.desc()).limit(1)).scalar() or 0
            for entry in PERIODIC:
                if entry.dated and entry.fires_on(day):
                    enqueue_periodic(redis_url, entry, day)
            make_worker(redis_url, forking=False).work(burst=True, logging_level="WARNING")
            today = _alerts_after(engine, known)
            created += today
            if on_day is not None:
                on_day(day, today)
            day += timedelta(days=1)
    return created


def _alerts_after(engine, last_id: int) -> list[dict]:
    with session_scope(engine) as session:
        alerts = session.execute(select(Alert).where(Alert.id > last_id).order_by(Alert.id)).scalars().all()
        recipients: dict[int, list[str]] = {}
        for alert_id, username in session.execute(
            select(Notification.alert_id, User.username)
            .join(User, User.id == Notification.user_id)
            .where(Notification.alert_id > last_id, Notification.channel == Channel.INBOX)
            .order_by(User.username)
        ).all():
            recipients.setdefault(alert_id, []).append(username)
        return [
            {
                "as_of": a.as_of.isoformat(),
                "kind": a.kind,
                "subject": a.subject_code,
                "due": a.due.isoformat() if a.due else None,
                "step": a.step,
                "recipients": recipients.get(a.id, []),
            }
            for a in alerts
        ]
