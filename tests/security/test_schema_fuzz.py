"""The REST API and the API channel fuzzed from the app's own OpenAPI schema with schemathesis:
valid and invalid requests for every operation, sent to the running app with the right token
(an agent's bearer token on agent endpoints, the inbox token on the API channel). No answer may
be a 5xx, and every answer must match the response schema the app publishes.

Cases are generated first (hypothesis, through schemathesis' strategies, a fixed seed and a
bounded count), then played against the live server in this test's event loop; each failure is
reported with the request that caused it. Bugs it found stay below as fixed regression cases."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.security.conftest import stored

EXAMPLES = 8  # per operation, mode and id choice: 35 operations, 4 variants: ~650 distinct calls
CHECKS = [not_a_server_error, response_schema_conformance]
INBOX_ENDPOINT = "/api/v1/inboxes/{inbox_id}/messages"


def _cases(operation: Any, mode: GenerationMode, fixed: dict[str, Any]) -> list[Any]:
    """A bounded, reproducible sample of the operation's cases in one generation mode."""
    found: list[Any] = []
    path_parameters = {k: v for k, v in fixed.items() if k in operation.path_parameters}

    @seed(20261123)
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(operation.as_strategy(mode, path_parameters=path_parameters or None))
    def collect(case: Any) -> None:
        found.append(case)

    try:
        collect()
    except Unsatisfiable:  # nothing to make invalid (an operation without parameters)
        return []
    return found


def _headers(case: Any, world: dict[str, Any]) -> dict[str, str]:
    """The token that belongs on this endpoint: the inbox token on the API channel."""
    token = world["north"].token if case.path == INBOX_ENDPOINT else world["admin"].token
    return {**(case.headers or {}), "Authorization": f"Bearer {token}"}


async def _play(client: Any, case: Any, headers: dict[str, str]) -> Any:
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url), headers=headers)
    request = {
        k: kwargs[k] for k in ("method", "url", "headers", "params", "cookies") if k in kwargs
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif "data" in kwargs:
        request["content" if isinstance(kwargs["data"], bytes | str) else "data"] = kwargs["data"]
    return await client.request(**request)


def _real_ids(world: dict[str, Any]) -> dict[str, Any]:
    """Path ids that exist, so the fuzzing reaches past the 404 into the handlers."""
    nora = world["nora"]
    return {
        "conversation_id": nora["conversation_id"],
        "customer_id": nora["customer_id"],
        "message_id": nora["message_id"],
        "attachment_id": world["attachment"],
        "suggestion_id": 1,
        "merge_id": 1,
        "entry_id": 1,
    }


@pytest.mark.parametrize("ids", ["random", "real"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
async def test_every_operation_answers_within_its_schema_and_never_5xx(
    server, db, world, mode, ids
):
    async with server.client() as client:
        raw = (await client.get("/schema/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(raw)
        # The API channel's inbox is always the token's own: other inboxes are a plain 403/404.
        fixed = {"inbox_id": world["north"].id, **(_real_ids(world) if ids == "real" else {})}
        failures: list[str] = []
        played = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            for case in _cases(operation, mode, fixed):
                response = await _play(client, case, _headers(case, world))
                played += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except BaseExceptionGroup as exc:  # schemathesis' FailureGroup of check failures
                    failures.append(
                        f"{operation.label}: {response.status_code} {case.as_curl_command()}\n{exc}"
                    )
    assert played > 0
    assert not failures, "\n\n".join(failures[:10])


# --- regressions: what the fuzzing found ------------------------------------------------------

# (who, method, path, request): each answered with a body outside the published error schema
# (`{"error", "status_code"}` without the `detail` the schema requires).
REGRESSIONS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("inbox", "POST", "/api/v1/inboxes/{north}/messages", {}),
    ("inbox", "POST", "/api/v1/inboxes/{north}/messages", {"content": b"[1,"}),
    ("admin", "GET", "/api/v1/conversations", {"params": {"limit": "-1"}}),
    ("admin", "GET", "/api/v1/conversations/{missing}", {}),
    ("admin", "POST", "/api/v1/faq", {"json": {"question": 1}}),
]


@pytest.mark.parametrize(("who", "method", "path", "request_kwargs"), REGRESSIONS)
async def test_a_fuzzing_finding_stays_fixed(server, db, world, who, method, path, request_kwargs):
    before = await stored(db)
    token = world["north"].token if who == "inbox" else world["admin"].token
    path = path.format(north=world["north"].id, missing=999_999)
    async with server.client(token) as client:
        response = await client.request(method, path, **request_kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert {"detail", "status_code"} <= response.json().keys()
    assert isinstance(response.json()["detail"], str)
    assert await stored(db) == before
