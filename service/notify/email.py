"""Email over SMTP: Chinese subject and body, plain text and HTML."""

from __future__ import annotations

import smtplib
from datetime import date
from email.message import EmailMessage
from html import escape

from ..domain.vocabulary import AlertKind


def compose(user, alerts, settings, digest_of: date | None = None) -> EmailMessage:
    message = EmailMessage()
    if digest_of is not None:
        message["Subject"] = f"[perftrack] {digest_of.isoformat()} 绩效提醒汇总（{len(alerts)} 条）"
    else:
        message["Subject"] = f"[perftrack] {AlertKind.label_of(alerts[0].kind, '提醒')}：{alerts[0].message}"[:200]
    message["From"] = settings.smtp_from
    message["To"] = user.email
    lines = [f"{user.display_name}，您好："] + [f"- {a.message}\n  {settings.base_url}{a.link}" for a in alerts]
    message.set_content("\n\n".join(lines + ["（本邮件由 perftrack 绩效目标跟踪系统自动发送）"]))
    items = "".join(
        f'<li>{escape(a.message)} <a href="{escape(settings.base_url + a.link)}">去处理</a></li>' for a in alerts
    )
    message.add_alternative(
        f"<p>{escape(user.display_name)}，您好：</p><ul>{items}</ul>"
        "<p style='color:#666'>本邮件由 perftrack 绩效目标跟踪系统自动发送</p>",
        subtype="html",
    )
    return message


def send(user, alerts, settings, digest_of: date | None = None) -> str:
    if not settings.smtp_host:
        raise RuntimeError("SMTP_HOST 未配置")
    message = compose(user, alerts, settings, digest_of)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)
    return f"sent to {user.email}"
