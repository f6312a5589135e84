"""Delivery channels, a small registry (as Redash's destinations): in-app inbox, email, webhook.

`deliver` sends one notification on its channel and logs the attempt, whatever the
outcome; a failing channel only fails its own notification (the job retries it with
backoff), never the others.  The `delivery_attempt` table is the proof of notification.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlmodel import Session

from ..clock import clock
from ..domain.vocabulary import Channel
from ..models import Alert, DeliveryAttempt, Notification, User
from . import email, webhook

SENDERS = {Channel.EMAIL: email.send, Channel.WEBHOOK: webhook.send}  # the inbox needs no sending
BACKOFF = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)]


def deliver(session: Session, notification_id: int, settings) -> str:
    """sent | failed | skipped (already sent, or not for this channel any more)."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.state != "pending" or notification.channel not in SENDERS:
        return "skipped"
    alert = session.get(Alert, notification.alert_id)
    user = session.get(User, notification.user_id)
    notification.attempts += 1
    try:
        detail = SENDERS[notification.channel](user, [alert], settings)
        ok = True
    except Exception as exc:  # noqa: BLE001 - every failure is logged and retried, never raised to other channels
        detail, ok = f"{type(exc).__name__}: {exc}", False
    session.add(
        DeliveryAttempt(notification_id=notification.id, channel=notification.channel, ok=ok, detail=str(detail)[:2000])
    )
    if ok:
        notification.state, notification.sent_at = "sent", clock.now()
    else:
        notification.next_attempt_at = clock.now() + BACKOFF[min(notification.attempts, len(BACKOFF)) - 1]
    session.add(notification)
    session.flush()
    return "sent" if ok else "failed"


def send_digests(session: Session, day: date, settings) -> int:
    """One mail per user who chose a daily digest, with every notice waiting for it."""
    waiting = session.execute(
        select(Notification, Alert, User)
        .join(Alert, Alert.id == Notification.alert_id)
        .join(User, User.id == Notification.user_id)
        .where(Notification.state == "digest", Notification.channel == Channel.EMAIL)
        .order_by(Notification.user_id, Alert.id)
    ).all()
    by_user: dict[int, list] = {}
    for notification, alert, user in waiting:
        by_user.setdefault(user.id, []).append((notification, alert, user))
    sent = 0
    for items in by_user.values():
        user = items[0][2]
        try:
            detail = email.send(user, [alert for _, alert, _ in items], settings, digest_of=day)
            ok = True
        except Exception as exc:  # noqa: BLE001
            detail, ok = f"{type(exc).__name__}: {exc}", False
        for notification, _alert, _user in items:
            notification.attempts += 1
            session.add(
                DeliveryAttempt(
                    notification_id=notification.id,
                    channel=Channel.EMAIL,
                    ok=ok,
                    detail=f"digest {day.isoformat()}: {detail}"[:2000],
                )
            )
            if ok:
                notification.state, notification.sent_at = "sent", clock.now()
            session.add(notification)
        sent += ok
    session.flush()
    return sent


def retry_due(session: Session) -> list[int]:
    """Failed notifications whose backoff has passed (picked up if their job was lost)."""
    return list(
        session.execute(
            select(Notification.id).where(
                Notification.state == "pending", Notification.attempts > 0, Notification.next_attempt_at <= clock.now()
            )
        ).scalars()
    )
