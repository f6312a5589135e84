"""Who may do what: one table of actions and roles (docs/domain.md §1).

Pure, so the use cases (saving a report, loading a file on the command line) check the
same rule as the pages and the API; the web's login glue is `service.access`.
"""

from __future__ import annotations

from typing import Protocol

from .vocabulary import Labelled, ReportAction, Role


class Action(Labelled):
    """Something a user asks to do; the label completes 「您没有权限…」."""

    READ_TARGETS = "read_targets", "查看绩效目标"
    MANAGE_TARGETS = "manage_targets", "管理绩效目标"
    VIEW_REPORT = "view_report", "查看该处室的报告"
    EDIT_REPORT = "edit_report", "填报该处室的报告"
    SIGN_REPORT = "sign_report", "签认该处室的报告"
    REVIEW_REPORT = "review_report", "审核报告"
    LOCK_PERIOD = "lock_period", "锁定或重新开放期间"
    IMPORT_PAYMENTS = "import_payments", "导入国库支付记录"
    EXPORT_MONITORING = "export_monitoring", "导出全局的执行监控表"
    RUN_EVALUATION = "run_evaluation", "进行绩效自评计算、评定和调整"  # start runs, grade, override, exclude, lock
    UNLOCK_EVALUATION = "unlock_evaluation", "解锁已归档的绩效自评"  # reopen a locked year, with a reason
    MANAGE_USERS = "manage_users", "管理用户"
    MANAGE_BUREAU = "manage_bureau", "设置单位和处室"  # the organisation, divisions added, renamed, retired


EVERYONE = frozenset(Role)
NOBODY: frozenset[Role] = frozenset()
# action -> (roles allowed anywhere, roles allowed within their own division)
RULES: dict[Action, tuple[frozenset[Role], frozenset[Role]]] = {
    Action.READ_TARGETS: (EVERYONE, NOBODY),
    Action.MANAGE_TARGETS: (frozenset({Role.ADMIN, Role.FINANCE}), NOBODY),
    Action.VIEW_REPORT: (frozenset({Role.ADMIN, Role.FINANCE, Role.AUDITOR}), frozenset({Role.REPORTER, Role.HEAD})),
    Action.EDIT_REPORT: (NOBODY, frozenset({Role.REPORTER, Role.HEAD})),
    Action.SIGN_REPORT: (NOBODY, frozenset({Role.HEAD})),
    Action.REVIEW_REPORT: (frozenset({Role.FINANCE}), NOBODY),
    Action.LOCK_PERIOD: (frozenset({Role.FINANCE}), NOBODY),
    Action.IMPORT_PAYMENTS: (frozenset({Role.ADMIN, Role.FINANCE}), NOBODY),
    Action.EXPORT_MONITORING: (frozenset({Role.ADMIN, Role.FINANCE, Role.AUDITOR}), NOBODY),
    Action.RUN_EVALUATION: (frozenset({Role.FINANCE}), NOBODY),
    Action.UNLOCK_EVALUATION: (frozenset({Role.ADMIN, Role.FINANCE}), NOBODY),
    Action.MANAGE_USERS: (frozenset({Role.ADMIN}), NOBODY),
    Action.MANAGE_BUREAU: (frozenset({Role.ADMIN}), NOBODY),
}
# What each step of a report's workflow asks of the user (on the report's division).
TRANSITION_NEEDS: dict[ReportAction, Action] = {
    ReportAction.SIGN: Action.SIGN_REPORT,
    ReportAction.SUBMIT: Action.EDIT_REPORT,
    ReportAction.RETURN: Action.REVIEW_REPORT,
    ReportAction.ACCEPT: Action.REVIEW_REPORT,
}


class Actor(Protocol):
    """What the rules read of a user (the `User` table row has it)."""

    role: str
    active: bool
    division_id: int | None


def can(user: Actor | None, action: str, division_id: int | None = None) -> bool:
    """May USER do ACTION (on DIVISION_ID's data)?  An unknown action is a programming error (ValueError)."""
    anywhere, own_division = RULES[Action(action)]
    if user is None or not user.active:
        return False
    if user.role in anywhere:
        return True
    return user.role in own_division and division_id is not None and user.division_id == division_id
