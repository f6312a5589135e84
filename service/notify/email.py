"""Email over SMTP: Chinese subject and body, plain text and HTML.

Header values come from data people typed (an indicator name from a .docx cell may hold a
line break), so every header is built from one line of text and folded by the email
package's policy; the recipient is exactly one validated address, given to SMTP as the only
envelope recipient whatever the header says.
"""

from __future__ import annotations

import re
import smtplib
import unicodedata
from datetime import date
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from html import escape

from email_validator import EmailNotValidError, validate_email

from ..domain.vocabulary import AlertKind

SUBJECT_LENGTH = 200
MAX_ADDRESS_LENGTH = 200  # the column's length
_SEPARATORS = re.compile(r"[,;，；、\s]")


class PermanentFailure(Exception):
    """A delivery that retrying cannot fix (a malformed address or header, a refused recipient)."""


class InvalidAddress(ValueError):
    """An e-mail address people typed that is not exactly one valid address; the message says why (Chinese)."""


def parse_address(text: str) -> str:
    """The one address TEXT holds, normalised (IDN domains in ASCII), or InvalidAddress."""
    text = (text or "").strip()
    if not text:
        raise InvalidAddress("邮箱地址为空")
    if len(text) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress(f"邮箱地址不能超过 {MAX_ADDRESS_LENGTH} 个字符")
    if text.count("@") > 1 or _SEPARATORS.search(text):
        raise InvalidAddress(
            f"「{one_line(text)[:80]}」不是一个邮箱地址：每个邮箱栏只能填写一个地址，不能用逗号、分号或空格分隔多个地址"
        )
    try:
        valid = validate_email(text, check_deliverability=False, allow_smtputf8=False)
        return valid.ascii_email or valid.normalized
    except EmailNotValidError as exc:
        raise InvalidAddress(f"邮箱地址「{one_line(text)[:80]}」格式不正确，应如 zhangsan@example.gov.cn") from exc


def one_line(text: str) -> str:
    """TEXT as a single header-safe line: line breaks, tabs and other control or format characters
    (including U+2028/U+2029) become one space."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in str(text or ""))
    return " ".join(cleaned.split())


def compose(user, alerts, settings, digest_of: date | None = None) -> EmailMessage:
    message = EmailMessage(policy=SMTP_POLICY)  # folds long headers, CRLF line ends
    if digest_of is not None:
        subject = f"[perftrack] {digest_of.isoformat()} 绩效提醒汇总（{len(alerts)} 条）"
    else:
        subject = f"[perftrack] {AlertKind.label_of(alerts[0].kind, '提醒')}：{alerts[0].message}"
    message["Subject"] = one_line(subject)[:SUBJECT_LENGTH]
    message["From"] = settings.smtp_from
    message["To"] = Address(display_name=one_line(user.display_name), addr_spec=parse_address(user.email))
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
    try:
        recipient = parse_address(user.email)
        message = compose(user, alerts, settings, digest_of)
    except InvalidAddress as exc:
        raise PermanentFailure(f"收件人 {user.username} 的邮箱地址无效：{exc}") from exc
    except (ValueError, TypeError) as exc:  # a header the policy refuses: the same on every retry
        raise PermanentFailure(f"邮件无法生成：{type(exc).__name__}: {exc}") from exc
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message, to_addrs=[recipient])  # the envelope: this address only
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _reply in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            raise PermanentFailure(f"邮件服务器拒收 {recipient}：{exc.recipients}") from exc
        raise
    except smtplib.SMTPDataError as exc:
        if exc.smtp_code >= 500:
            raise PermanentFailure(f"邮件服务器拒绝该邮件：{exc.smtp_code} {exc.smtp_error!r}") from exc
        raise
    return f"sent to {recipient}"
