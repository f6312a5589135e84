"""What a user may do to a report now: the permission table and the workflow's state rules
together (docs/domain.md §5.7), so a page offers exactly the steps the server accepts and the
report's state line can say who must act next.  Pure: no database, no Flask."""

from __future__ import annotations

from dataclasses import dataclass

from .permissions import TRANSITION_NEEDS, Action, Actor, can
from .vocabulary import ReportAction, ReportState, Role

EDITABLE_STATES = (ReportState.DRAFT, ReportState.SIGNED, ReportState.RETURNED)
# The states each step of the workflow starts from.
STARTS_FROM: dict[ReportAction, tuple[ReportState, ...]] = {
    ReportAction.SIGN: (ReportState.DRAFT, ReportState.RETURNED),
    ReportAction.SUBMIT: EDITABLE_STATES,
    ReportAction.RETURN: (ReportState.SUBMITTED, ReportState.ACCEPTED),
    ReportAction.ACCEPT: (ReportState.SUBMITTED,),
}


@dataclass(frozen=True)
class Situation:
    """A report as the rules read it."""

    division_id: int
    state: str  # ReportState
    requires_signoff: bool  # the division's head signs before submission
    period_open: bool  # the period has opened (its last day has come)
    locked: bool  # finance has locked the period

    @property
    def writable(self) -> bool:
        return self.period_open and not self.locked


def needs_signoff_first(user: Actor, situation: Situation) -> bool:
    """A reporter of a division that requires sign-off submits only what its head signed; the head
    submits directly (the submission is the signature)."""
    return situation.requires_signoff and user.role != Role.HEAD and situation.state != ReportState.SIGNED


def may_edit(user: Actor | None, situation: Situation) -> bool:
    return (
        situation.writable
        and situation.state in EDITABLE_STATES
        and can(user, Action.EDIT_REPORT, situation.division_id)
    )


def may_take(user: Actor | None, situation: Situation, action: ReportAction) -> bool:
    """May USER take workflow step ACTION on the report now (before the report's own content is checked)?"""
    if user is None or not situation.writable or situation.state not in STARTS_FROM[action]:
        return False
    if not can(user, TRANSITION_NEEDS[action], situation.division_id):
        return False
    if action == ReportAction.SIGN:
        return situation.requires_signoff
    if action == ReportAction.SUBMIT:
        return not needs_signoff_first(user, situation)
    return True


def may_request_signoff(user: Actor | None, situation: Situation) -> bool:
    """A reporter sends a report that needs its head's signature to the head (who is told)."""
    return (
        user is not None
        and situation.requires_signoff
        and user.role != Role.HEAD
        and situation.state in STARTS_FROM[ReportAction.SIGN]
        and may_edit(user, situation)
    )


def next_step(situation: Situation, signoff_requested: bool = False) -> str:
    """Who must act next, in words for the report's state line."""
    if situation.locked:
        return "期间已锁定：财务处重新开放前，任何人都不能修改或流转"
    if not situation.period_open:
        return "本期间尚未开放填报"
    state = situation.state
    if state == ReportState.ACCEPTED:
        return "已审核通过，无需再操作"
    if state == ReportState.SUBMITTED:
        return "等待财务处审核（审核通过或退回修改）"
    if state == ReportState.SIGNED:
        return "处室负责人已签认：等待处室填报人提交财务处（签认后再修改需重新签认）"
    prefix = "财务处已退回：处室修改后" if state == ReportState.RETURNED else "处室填报中："
    if situation.requires_signoff:
        if signoff_requested:
            return prefix + "已送处室负责人，等待负责人签认"
        return prefix + "填写完整后送处室负责人签认，签认后由填报人提交财务处"
    return prefix + "填写完整后提交财务处"
