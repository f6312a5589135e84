"""Evidence attachments: size-limited, content-type checked by their bytes, stored with their hash."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import PurePath

from sqlmodel import Session, select

from ..clock import clock
from ..domain.vocabulary import ReportAction
from ..models import Attachment, Indicator, ReportEvent, User
from .reports import EDITABLE_STATES, ReportError, Scope, bump_version, check_writable

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# extension -> (content type, magic bytes the file must start with)
ALLOWED = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    ".jpg": ("image/jpeg", b"\xff\xd8\xff"),
    ".jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", b"PK\x03\x04"),
    ".doc": ("application/msword", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    ".xls": ("application/vnd.ms-excel", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
}
# Direction controls make "invoice<U+202E>fdp.exe" display as "invoiceexe.pdf": a name must show what it is.
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_file(file_name: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The content type of an acceptable evidence file, or ReportError naming the reason."""
    hidden = sorted({f"U+{ord(c):04X}" for c in file_name or "" if c in BIDI_CONTROLS})
    if hidden:
        raise ReportError(
            422,
            f"附件文件名「{(file_name or '').translate({ord(c): None for c in BIDI_CONTROLS})}」"
            f"含有改变文字方向的不可见字符（{'、'.join(hidden)}），可能掩盖真实的文件类型，"
            "请重命名后再上传",
        )
    suffix = PurePath(file_name or "").suffix.lower()
    if suffix not in ALLOWED:
        raise ReportError(415, f"附件「{file_name}」的类型不支持：只接受 PDF、图片（PNG/JPG）和 Office 文件")
    if not data:
        raise ReportError(422, f"附件「{file_name}」是空文件")
    if len(data) > max_bytes:
        raise ReportError(413, f"附件「{file_name}」超过 {max_bytes // (1024 * 1024)} MB")
    content_type, magic = ALLOWED[suffix]
    if not data.startswith(magic) or (magic == b"PK\x03\x04" and not _is_office_zip(data)):
        raise ReportError(415, f"附件「{file_name}」的内容与扩展名 {suffix} 不符")
    return content_type


def _is_office_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "[Content_Types].xml" in archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):  # truncated or forged
        return False


def add_attachment(
    session: Session,
    scope: Scope,
    user: User,
    indicator: Indicator,
    file_name: str,
    data: bytes,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Attachment:
    _check_editable(session, scope)
    content_type = check_file(file_name, data, max_bytes)
    version = bump_version(session, scope)
    item = Attachment(
        report_id=scope.report.id,
        indicator_id=indicator.id,
        file_name=PurePath(file_name).name[:255],
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        actor=user.username,
    )
    session.add(item)
    _record(session, scope, user, version, ReportAction.ATTACH, f"上传附件 {item.file_name}（{indicator.code}）")
    return item


def remove_attachment(session: Session, scope: Scope, user: User, item: Attachment) -> None:
    """Hidden from the report, kept in the database (nothing is deleted)."""
    _check_editable(session, scope)
    if item.removed_at is None:
        version = bump_version(session, scope)
        item.removed_at, item.removed_by = clock.now(), user.username
        session.add(item)
        _record(session, scope, user, version, ReportAction.DETACH, f"移除附件 {item.file_name}")


def attachments_of(session: Session, scope: Scope, indicator: Indicator) -> list[Attachment]:
    if scope.report.id is None:
        return []
    return list(
        session.exec(
            select(Attachment)
            .where(Attachment.report_id == scope.report.id, Attachment.indicator_id == indicator.id)
            .order_by(Attachment.id)
        ).all()
    )


def _check_editable(session: Session, scope: Scope) -> None:
    check_writable(session, scope)
    if scope.report.state not in EDITABLE_STATES:
        raise ReportError(409, "报告已提交或已审核通过，不能修改附件")


def _record(session, scope, user, version, action, comment) -> None:
    session.add(
        ReportEvent(report_id=scope.report.id, version=version, action=action, actor=user.username, comment=comment)
    )
    session.flush()
