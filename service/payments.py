"""Loading treasury payment records (CSV or .xlsx, UTF-8 or GB18030) and reading them back per project.

All or nothing: a file with any bad row, an unknown project, or a payment outside its project's year is
refused whole, with every problem named (row, field, reason), and nothing is written.  Loading the same
file again adds nothing (each record is its project, day, kind, amount and occurrence in the file), and a
later export that repeats earlier records adds only the new ones.  The rules of the file are
`service.domain.payments`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlmodel import Session, col

from .clock import clock
from .db import among
from .domain.payments import PaymentLine, occurrences, read_payment_table, to_wan
from .importers.flat import xlsx_cell_text
from .importers.source import ImportProblem
from .importers.text_export import decode_text
from .models import FiscalYear, Payment, PaymentBatch, Project
from .queueing import enqueue, safe_id

MAX_ROWS = 200_000


class PaymentError(Exception):
    """A payment file refused whole: a summary and every problem (row, field, reason)."""

    def __init__(self, message: str, problems: list[ImportProblem]):
        super().__init__(message)
        self.message, self.problems = message, problems

    def __str__(self) -> str:
        return "\n".join([self.message, *(str(p) for p in self.problems)])


@dataclass
class PaymentSummary:
    file_name: str
    rows: int
    added: int
    projects: int
    added_wan: Decimal  # what the added records come to, in 万元
    years: list[int] = field(default_factory=list)

    @property
    def message(self) -> str:
        if not self.added:
            return f"「{self.file_name}」的 {self.rows} 条记录都已导入过，未作任何更改"
        return (
            f"「{self.file_name}」：{self.rows} 条记录，新增 {self.added} 条（{self.projects} 个项目，"
            f"合计 {self.added_wan:,.2f} 万元）"
            + (f"，其余 {self.rows - self.added} 条已导入过" if self.rows > self.added else "")
        )

    def to_dict(self) -> dict:
        return {
            "file": self.file_name,
            "rows": self.rows,
            "added": self.added,
            "projects": self.projects,
            "added_wan": str(self.added_wan),
            "years": self.years,
            "message": self.message,
        }


def read_payment_file(data: bytes, file_name: str) -> list[PaymentLine]:
    """The file's lines (CSV, or the first sheet of an .xlsx), or PaymentError with every problem."""
    if data[:2] == b"PK" or file_name.lower().endswith(".xlsx"):
        rows = _xlsx_rows(data)
    else:
        rows = _csv_rows(data)
    if len(rows) > MAX_ROWS:
        raise PaymentError(f"超过 {MAX_ROWS} 行", [ImportProblem("文件", "行数", f"超过 {MAX_ROWS} 行，请分批导入")])
    lines, problems = read_payment_table(rows)
    if problems:
        raise PaymentError(
            "文件有误，未导入任何记录", [ImportProblem(p.location, p.field, p.message) for p in problems]
        )
    return lines


def _csv_rows(data: bytes) -> list[tuple[str, list[str]]]:
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        raise PaymentError(
            "文件编码无法识别", [ImportProblem("文件", "编码", "应为 UTF-8 或 GB18030 编码的 CSV")]
        ) from exc
    try:
        return [(f"第 {n} 行", cells) for n, cells in enumerate(csv.reader(io.StringIO(text)), start=1)]
    except csv.Error as exc:
        raise PaymentError("文件格式有误", [ImportProblem("文件", "格式", f"CSV 格式错误：{exc}")]) from exc


def _xlsx_rows(data: bytes) -> list[tuple[str, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), data_only=True, read_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise PaymentError(
            "文件格式有误", [ImportProblem("文件", "格式", f"无法作为 Excel (.xlsx) 文件打开：{exc}")]
        ) from exc
    sheet = workbook.worksheets[0]
    rows = []
    for number, row in enumerate(sheet.iter_rows(), start=1):
        rows.append((f"工作表「{sheet.title}」第 {number} 行", [_cell_text(c) for c in row]))
    workbook.close()
    return rows


def _cell_text(cell) -> str:
    if isinstance(cell.value, date):  # a date cell: its day, however the sheet formats it
        return cell.value.strftime("%Y-%m-%d")
    return xlsx_cell_text(cell)


def import_payments(
    session: Session, data: bytes, file_name: str, actor: str, redis_url: str | None = None
) -> PaymentSummary:
    """Load a payment file all or nothing; a batch is recorded only when something was added, and then
    today's statuses are recomputed in the background (the wish waits in the outbox if Redis is down)."""
    lines = read_payment_file(data, file_name)
    codes = sorted({line.project for line in lines})
    projects = {
        code: (project_id, year)
        for code, project_id, year in session.execute(
            select(col(Project.code), col(Project.id), col(FiscalYear.year))
            .join(FiscalYear, col(FiscalYear.id) == col(Project.fiscal_year_id))
            .where(col(Project.code).in_(codes))
        ).all()
    }
    problems = []
    for line in lines:
        found = projects.get(line.project)
        if found is None:
            problems.append(ImportProblem(line.location, "项目编号", f"项目「{line.project}」不存在"))
        elif line.paid_on.year != found[1]:
            problems.append(
                ImportProblem(
                    line.location,
                    "月份" if line.by_month else "支付日期",
                    f"{line.paid_on.isoformat()} 不在项目「{line.project}」的预算年度 {found[1]} 年内",
                )
            )
    if problems:
        raise PaymentError("文件有误，未导入任何记录", problems)
    records = [
        (projects[line.project][0], line.paid_on, line.by_month, line.amount, n)
        for line, n in zip(lines, occurrences(lines), strict=True)
    ]
    existing = _existing(session, records)
    new = [r for r in records if (r[0], r[1], r[2], r[3], r[4]) not in existing]
    years = sorted({projects[line.project][1] for line in lines})
    summary = PaymentSummary(
        file_name, len(lines), len(new), len({r[0] for r in new}), to_wan(sum((r[3] for r in new), Decimal(0))), years
    )
    if not new:
        return summary
    year_id = session.execute(select(col(FiscalYear.id)).where(col(FiscalYear.year) == years[0])).scalar_one()
    batch = PaymentBatch(
        fiscal_year_id=year_id,
        file_name=file_name[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        rows=len(lines),
        added=len(new),
        actor=actor[:100],
    )
    session.add(batch)
    session.flush()
    session.execute(
        insert(Payment),
        [
            {"project_id": p, "paid_on": d, "by_month": m, "amount": a, "occurrence": n, "batch_id": batch.id}
            for p, d, m, a, n in new
        ],
    )
    enqueue(
        redis_url,
        session,
        "workers.jobs.daily_sweep",
        clock.today().isoformat(),
        job_id=safe_id("sweep-after-payments", batch.id),
        queue_name="high",
    )
    return summary


def _existing(session: Session, records: list[tuple]) -> set[tuple]:
    """Which of RECORDS are stored already (compared as stored: amounts to the cent)."""
    found: set[tuple] = set()
    project_ids = sorted({r[0] for r in records})
    for start in range(0, len(project_ids), 500):
        rows = session.execute(
            select(
                col(Payment.project_id),
                col(Payment.paid_on),
                col(Payment.by_month),
                col(Payment.amount),
                col(Payment.occurrence),
            ).where(col(Payment.project_id).in_(project_ids[start : start + 500]))
        ).all()
        found.update((p, d, bool(m), Decimal(a).quantize(Decimal("0.01")), n) for p, d, m, a, n in rows)
    return found


def year_has_payments(session: Session, year_id: int) -> bool:
    return (
        session.execute(
            select(col(Payment.id))
            .join(Project, col(Project.id) == col(Payment.project_id))
            .where(col(Project.fiscal_year_id) == year_id)
        ).first()
        is not None
    )


def paid_through(session: Session, project_ids: list[int], through: date) -> dict[int, Decimal]:
    """Per project, what was paid up to and including THROUGH, in 万元 (projects with nothing are absent)."""
    paid: dict[int, Decimal] = {}
    for start in range(0, len(project_ids), 2000):
        rows = session.execute(
            select(col(Payment.project_id), func.sum(Payment.amount))
            .where(
                among(session, col(Payment.project_id), project_ids[start : start + 2000]),
                col(Payment.paid_on) <= through,
            )
            .group_by(col(Payment.project_id))
        ).all()
        paid.update({project_id: to_wan(Decimal(str(total))) for project_id, total in rows})
    return paid


def monthly_totals(session: Session, year: FiscalYear) -> list[tuple[str, str, list[Decimal]]]:
    """Per project with payments: (code, name, twelve monthly totals in 万元), by code."""
    rows = session.execute(
        select(col(Project.code), col(Project.name), col(Payment.paid_on), col(Payment.amount))
        .join(Project, col(Project.id) == col(Payment.project_id))
        .where(col(Project.fiscal_year_id) == year.id)
    ).all()
    months: dict[tuple[str, str], list[Decimal]] = {}
    for code, name, paid_on, amount in rows:
        months.setdefault((code, name), [Decimal(0)] * 12)[paid_on.month - 1] += Decimal(str(amount))
    return [(code, name, [to_wan(v) for v in values]) for (code, name), values in sorted(months.items())]


def payment_batches(session: Session, year: FiscalYear) -> list[PaymentBatch]:
    return list(
        session.execute(
            select(PaymentBatch)
            .where(col(PaymentBatch.fiscal_year_id) == year.id)
            .order_by(col(PaymentBatch.id).desc())
        ).scalars()
    )
