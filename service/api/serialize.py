"""Table rows to plain dicts for the API (and JSON exports)."""

from __future__ import annotations

from ..domain.targets import decimal_to_json
from ..models import Division, FindingRow, Indicator, Project
from ..stored_targets import target_of


def finding_json(finding: FindingRow, project: Project | None = None, indicator: Indicator | None = None) -> dict:
    return {
        "id": finding.id,
        "code": finding.code,
        "severity": finding.severity,
        "message": finding.message,
        "state": finding.state,
        "project": project.code if project else None,
        "indicator": indicator.code if indicator else None,
        "resolved_by": finding.resolved_by,
        "note": finding.note,
    }


def indicator_json(
    indicator: Indicator,
    findings: list[FindingRow] | None,
    project: Project | None = None,
    division: Division | None = None,
) -> dict:
    target = target_of(indicator)
    body = {
        "code": indicator.code,
        "project": indicator.code.rsplit(".", 1)[0],
        "division": division.code if division else None,
        "row_order": indicator.row_order,
        "level1": indicator.level1,
        "level2": indicator.level2,
        "name": indicator.name,
        "description": indicator.description,
        "raw_value": indicator.raw_value,
        "source_value": indicator.source_value,
        "weight": indicator.weight,
        "in_source": indicator.in_source,
        "target": {
            **{k: v for k, v in target.to_dict().items() if k != "findings"},
            "value": decimal_to_json(indicator.target_value),
            "reading": target.reading(),
        },
    }
    if findings is not None:
        body["findings"] = [finding_json(f, indicator=indicator) for f in findings]
    return body


def project_json(
    project: Project,
    division: Division,
    year: int,
    indicator_count: int,
    open_findings: dict | None,
    detail: bool = False,
) -> dict:
    body = {
        "code": project.code,
        "year": year,
        "table_no": project.table_no,
        "title": project.title,
        "name": project.name,
        "prefix": project.prefix,
        "division": {"code": division.code, "name": division.name},
        "funding_level": project.funding_level,
        "budget": project.budget,
        "fiscal_funds": project.fiscal_funds,
        "other_funds": project.other_funds,
        "indicator_count": indicator_count,
        "open_findings": open_findings or {},
    }
    if detail:
        body["use_of_funds"] = project.use_of_funds
        body["goals"] = project.goals
    return body
