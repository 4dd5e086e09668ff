"""The OpenAPI document at /api/schema/ is the truth: schemathesis sends generated requests to
every operation of a live server and every answer must be documented (status, content type,
body schema) and below 500, except the documented 501 of an insight engine not built yet.

Per operation: 100 valid requests and 30 invalid ones (which must get a documented 4xx);
SPYGLASS_SCHEMATHESIS_EXAMPLES / SPYGLASS_SCHEMATHESIS_NEGATIVE change the counts. Examples are
derandomised, so CI runs the same requests each time. Requests run as one tenant (its own key,
in the Bearer header). Path ids are narrowed to the tenant's project (its id or `@current`) and
to objects made up front, plus one unknown id, so examples reach real handlers instead of
stopping at 403/404. A fast test checks that every /api/ route the app serves is documented.
"""

from __future__ import annotations

import os
import re
from collections import Counter

import httpx
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

from gateway.openapi import openapi_document

# Examples per operation: valid requests (the issue asks for at least 100), and invalid ones
# (each must be refused with a documented 4xx) on top, fewer to keep the run in a few minutes.
EXAMPLES = {
    GenerationMode.POSITIVE: int(os.environ.get("SPYGLASS_SCHEMATHESIS_EXAMPLES", "100")),
    GenerationMode.NEGATIVE: int(os.environ.get("SPYGLASS_SCHEMATHESIS_NEGATIVE", "30")),
}
UNKNOWN_ID = 2_000_000_000
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip


def _made(c: httpx.Client, path: str, body: dict) -> int:
    r = c.post(path, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture(scope="module")
def api_tenant(spyglass) -> dict:
    """A tenant with a few insights, dashboards (one with tiles) and actions to aim at."""
    tenant = spyglass.new_project()
    # Its own key, with a rate limit above what the run sends (the 429 path has its own tests).
    key, _ = spyglass.run(spyglass.services.tenancy.create_key(
        tenant["user"]["id"], "schemathesis", [], rate_limit_per_minute=1_000_000))  # fmt: skip
    tenant = {**tenant, "key": key}
    base = f"/api/projects/{tenant['id']}"
    headers = {"Authorization": f"Bearer {tenant['key']}"}
    with httpx.Client(base_url=spyglass.url, headers=headers, timeout=30) as c:
        boards = [_made(c, f"{base}/dashboards/", {"name": n}) for n in ("Growth", "KPIs")]
        insights = [
            _made(c, f"{base}/insights/", {"name": "Pageviews", "dashboards": boards[:1],
                                           "filters": {"events": [{"id": "$pageview"}]}}),
            _made(c, f"{base}/insights/", {"name": "Retention",
                                           "filters": {"insight": "RETENTION"}}),
            _made(c, f"{base}/insights/", {"derived_name": "Funnel", "dashboards": boards,
                                           "filters": {"insight": "FUNNELS"}}),
        ]  # fmt: skip
        cohorts = [
            _made(c, f"{base}/cohorts/", {"name": "Beta", "is_static": True, "csv": "a\nb\n"}),
            _made(c, f"{base}/cohorts/", {"name": "Londoners", "filters": {"properties": {
                "type": "AND", "values": [{"key": "city", "value": "London", "type": "person",
                                           "operator": "exact"}]}}}),
        ]  # fmt: skip
        actions = [_made(c, f"{base}/actions/", {"name": "Signed up",
                                                 "steps": [{"event": "signup"}]})]  # fmt: skip
    return {
        **tenant,
        "ids": {"insights": insights, "dashboards": boards, "actions": actions, "cohorts": cohorts},
    }


def narrowed_document(tenant: dict) -> dict:
    """The served document, with path parameters aimed at this tenant's project and objects."""
    document = openapi_document()
    project = document["components"]["parameters"]["project_id"]
    project["schema"] = {"type": "string", "enum": [str(tenant["id"]), "@current"]}
    for path, item in document["paths"].items():
        kind = next((k for k in tenant["ids"] if f"/{k}/{{id}}" in path), None)
        if kind is None:
            continue
        for op in item.values():
            op["parameters"] = [
                {"name": "id", "in": "path", "required": True,
                 "schema": {"type": "integer", "enum": [*tenant["ids"][kind], UNKNOWN_ID]}}
                if param == {"$ref": "#/components/parameters/id"} else param
                for param in op["parameters"]
            ]  # fmt: skip
    return document


@pytest.fixture(scope="module")
def api_schema(spyglass, api_tenant):
    served = httpx.get(f"{spyglass.url}/api/schema/")
    assert served.status_code == 200
    assert served.json()["paths"] == openapi_document()["paths"]
    config = schemathesis.Config.from_dict({
        "base-url": spyglass.url,
        "headers": {"Authorization": f"Bearer {api_tenant['key']}"},
        "request-timeout": 30,
        # 501 (an insight engine not built yet) is documented where it can happen; the
        # status-code check still fails it anywhere else.
        "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "501"]}},
    })  # fmt: skip
    return schemathesis.openapi.from_dict(narrowed_document(api_tenant), config=config)


OPERATIONS = [(method.upper(), path) for path, item in openapi_document()["paths"].items()
              for method in item]  # fmt: skip
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_answer_is_documented(api_schema, method, path, mode):
    if mode is GenerationMode.NEGATIVE and path == "/api/schema/":
        pytest.skip("no parameters or body to make invalid")
    operation = api_schema[path][method]
    statuses: Counter[int] = Counter()

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exchange(case):
        statuses[case.call_and_validate(checks=CHECKS).status_code] += 1

    exchange()
    print(f"{method} {path} {mode.value}: {statuses.total()} requests, {dict(statuses)}")


def _served_api_routes() -> set[tuple[str, str]]:
    """(method, path) of every /api/ route the app serves, spelled as the document spells them."""
    from starlette.routing import Route

    from gateway.app import create_app
    from gateway.config import from_env

    app = create_app(from_env({"SPYGLASS_DATA": "/nonexistent"}))  # routes only: never started
    served = set()
    for route in app.routes:
        if not isinstance(route, Route) or not route.path.startswith("/api/"):
            continue
        path = re.sub(r"\{(\w+):int\}", r"{\1}", route.path.rstrip("/") + "/")
        paths = [path.replace("{kind:insight_kind}", k) for k in ("trend", "funnel",
                                                                  "retention", "path")]  # fmt: skip
        paths = [
            path.replace("{kind:people_kind}", k)
            for path in paths
            for k in ("trends", "stickiness", "lifecycle", "funnel", "retention", "path")
        ]
        for method in route.methods or ():
            if method != "HEAD":  # Starlette adds HEAD to every GET
                served |= {(method, p) for p in set(paths)}
    return served


def test_every_served_api_route_is_documented():
    documented = {(m.upper(), p) for p, item in openapi_document()["paths"].items() for m in item}
    assert _served_api_routes() == documented
