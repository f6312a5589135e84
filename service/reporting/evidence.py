"""Evidence attachments: size-limited, content-type checked by their bytes, stored with their hash,
within a quota per division and year (bytes, removed files included: they stay stored) and a
number of files per report."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from sqlalchemy import func
from sqlmodel import Session, col, select

from ..clock import clock
from ..domain.vocabulary import ReportAction
from ..models import Attachment, Indicator, Report, ReportEvent, User
from .reports import EDITABLE_STATES, ReportError, Scope, bump_version, check_writable

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 10 * MB


@dataclass(frozen=True)
class EvidenceLimits:
    max_bytes: int = DEFAULT_MAX_BYTES  # one file
    division_year_bytes: int = 500 * MB  # everything one division stores for one year
    files_per_report: int = 200  # files in one report (removed ones not counted)

    @classmethod
    def of(cls, settings) -> EvidenceLimits:
        return cls(settings.max_attachment_bytes, settings.evidence_quota_bytes, settings.max_attachments_per_report)


def _megabytes(size: int) -> str:
    return f"{size / MB:,.1f} MB"


def evidence_usage(session: Session, scope: Scope) -> int:
    """Bytes of evidence the division has stored for the year (removed files included)."""
    return session.exec(
        select(func.coalesce(func.sum(Attachment.size), 0))
        .join(Report, Report.id == Attachment.report_id)
        .where(Report.division_id == scope.division.id, Report.fiscal_year_id == scope.year.id)
    ).one()


def check_quota(session: Session, scope: Scope, size: int, limits: EvidenceLimits) -> None:
    """ReportError showing used / limit when one more file of SIZE bytes would exceed a quota."""
    if scope.report.id is not None:
        files = session.exec(
            select(func.count())
            .select_from(Attachment)
            .where(Attachment.report_id == scope.report.id, col(Attachment.removed_at).is_(None))
        ).one()
        if files >= limits.files_per_report:
            raise ReportError(
                409, f"本报告已有 {files} 个附件，已达上限 {limits.files_per_report} 个：请合并文件或移除不再需要的附件"
            )
    used = evidence_usage(session, scope)
    if used + size > limits.division_year_bytes:
        raise ReportError(
            413,
            f"{scope.division.name}{scope.year.year} 年度的证明材料已用 {_megabytes(used)} / "
            f"限额 {_megabytes(limits.division_year_bytes)}（含已移除但仍保存的文件），"
            f"本文件 {_megabytes(size)} 超出限额：请压缩文件，或联系财务处",
        )


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
    limits: EvidenceLimits = EvidenceLimits(),
) -> Attachment:
    _check_editable(session, scope)
    content_type = check_file(file_name, data, limits.max_bytes)
    check_quota(session, scope, len(data), limits)
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
    _record(
        session,
        scope,
        user,
        version,
        ReportAction.ATTACH,
        f"上传附件 {item.file_name}（{indicator.code}）",
        {"indicator": indicator.code, "file_name": item.file_name},
    )
    return item


def remove_attachment(session: Session, scope: Scope, user: User, item: Attachment) -> None:
    """Hidden from the report, kept in the database (nothing is deleted)."""
    _check_editable(session, scope)
    if item.removed_at is None:
        version = bump_version(session, scope)
        item.removed_at, item.removed_by = clock.now(), user.username
        session.add(item)
        indicator = session.get(Indicator, item.indicator_id)
        _record(
            session,
            scope,
            user,
            version,
            ReportAction.DETACH,
            f"移除附件 {item.file_name}",
            {"indicator": indicator.code if indicator else "", "file_name": item.file_name},
        )


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


def _record(session, scope, user, version, action, comment, detail) -> None:
    """The event, with the indicator and file in DETAIL so 自退回以来的修改 can list evidence changes."""
    session.add(
        ReportEvent(
            report_id=scope.report.id,
            version=version,
            action=action,
            actor=user.username,
            comment=comment,
            detail=detail,
        )
    )
    session.flush()
