"""A fuzz run against the OpenAPI document (schemathesis): every operation, with each role's token
(finance, reporter, auditor, admin), valid and invalid data, a bounded number of examples.  No
response is a 500, and every response conforms to the document (status documented, content type,
body schema): errors included, as problem+json."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow  # whole-year and every-case runs: `make test`, not `make test-fast`

ROLES = ("caiwu", "xxh", "shenji", "admin")  # finance, a division's reporter, the auditor, the administrator
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 6  # per operation, role, mode and path: about 900 requests in all
# Path parameters naming things that exist, so the bodies reach the real rules and not only a 404.
KNOWN = {"division": "XXH", "period": "2025Q2"}
KNOWN_CODE = {
    "/api/v1/projects/{code}": "2025-001",
    "/api/v1/projects/{code}/status": "2025-001",
    "/api/v1/projects/{code}/quarters": "2025-001",
    "/api/v1/indicators/{code}": "2025-001.01",
    "/api/v1/indicators/{code}/history": "2025-001.01",
}


def _fuzz(operation, mode: GenerationMode, token: str, known_path: bool) -> None:
    names = [p.name for p in operation.path_parameters]
    path = (
        {name: KNOWN_CODE[operation.path] if name == "code" else KNOWN[name] for name in names} if known_path else None
    )
    headers = {"Authorization": f"Bearer {token}", "If-Match": '"0"'}  # the reports' first version

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path, headers=headers))
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_every_operation_as_every_role_gives_no_500_and_conforms(app, tokens):
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", app, headers={"Authorization": f"Bearer {tokens['caiwu']}"}
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    failures = []
    for operation in operations:
        paths = (True, False) if list(operation.path_parameters) else (False,)
        # Invalid data needs something typed to break: a query or a body (free-text paths cannot be invalid).
        modes = (
            (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            if list(operation.query) or operation.body
            else (GenerationMode.POSITIVE,)
        )
        for role in ROLES:
            for mode in modes:
                for known_path in paths:
                    try:
                        _fuzz(operation, mode, tokens[role], known_path)
                    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report every failing operation
                        failures.append(
                            f"{operation.method.upper()} {operation.path} as {role} ({mode}, "
                            f"{'known' if known_path else 'generated'} path): "
                            f"{type(exc).__name__}: {str(exc)[:1500]}"
                        )
    assert not failures, "\n\n".join(failures)
