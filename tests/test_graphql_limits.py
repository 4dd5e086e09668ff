"""Limits against abuse: depth, aliases, tokens, page size, series per insight and body size —
each a 400 (413 for the body) naming the limit; errors carry machine-readable codes, and
unexpected ones are masked."""

import asyncio

import httpx
import pytest

from gateway.auth import Caller
from gateway.schema import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_PAGE,
    MAX_TOKENS,
    Context,
    schema,
    shim_schema,
)
from resolvers.funnels_request import MAX_STEPS
from resolvers.trends_filter import MAX_SERIES


def gql(spyglass, tenant, query: str):
    return httpx.post(f"{spyglass.url}/graphql", json={"query": query},
                      headers={"Authorization": f"Bearer {tenant['key']}"})  # fmt: skip


def nested(levels: int) -> str:
    """dashboards → results → tiles → insight → createdBy (the deepest real read, 5 levels),
    then `levels` more made-up levels below it."""
    inner = "id"
    for level in range(levels):
        inner = f"x{level} {{ {inner} }}"
    return ('query { dashboards(projectId: "@current") { results { tiles { insight { '
            f"createdBy {{ {inner} }} }} }} }} }} }}")  # fmt: skip


def assert_limited(response, code: str, limit: int) -> None:
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert any(e["extensions"]["code"] == code and str(limit) in e["message"] for e in errors)


def test_depth_limit(spyglass, tenant):
    assert gql(spyglass, tenant, nested(0)).status_code == 200
    assert_limited(gql(spyglass, tenant, nested(MAX_DEPTH)), "too_deep", MAX_DEPTH)


def test_alias_limit(spyglass, tenant):
    fine = " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES))
    assert gql(spyglass, tenant, f"query {{ {fine} }}").status_code == 200
    over = " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1))
    assert_limited(gql(spyglass, tenant, f"query {{ {over} }}"), "too_many_aliases", MAX_ALIASES)


def test_token_limit(spyglass, tenant):
    query = "query { " + "__typename " * (MAX_TOKENS + 10) + "}"
    assert_limited(gql(spyglass, tenant, query), "too_many_tokens", MAX_TOKENS)


def test_page_size_and_body_size(spyglass, tenant):
    r = gql(spyglass, tenant, f'query {{ insights(projectId: "{tenant["id"]}", '
                              f"limit: {MAX_PAGE + 1}) {{ count }} }}")  # fmt: skip
    error = r.json()["errors"][0]
    assert error["extensions"] == {"code": "invalid_input", "attr": "limit"}
    assert str(MAX_PAGE) in error["message"]
    big = httpx.post(f"{spyglass.url}/api/projects/{tenant['id']}/insights/",
                     content=b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}',
                     headers={"Authorization": f"Bearer {tenant['key']}",
                              "Content-Type": "application/json"})  # fmt: skip
    assert big.status_code == 413 and big.json()["attr"] == "body"


def test_internal_errors_are_masked(spyglass, tenant):
    # A GraphQL error that is not ours (here: an unknown field) keeps GraphQL's message;
    # our own errors keep theirs with a code; nothing leaks a stack trace.
    r = gql(spyglass, tenant, "query { nope }")
    error = r.json()["errors"][0]
    assert "Cannot query field" in error["message"] and "Traceback" not in r.text


def test_a_chunked_body_declares_no_length_and_is_limited_all_the_same(spyglass, tenant):
    """Without Content-Length the size is only known by reading: over the limit is still a
    413, on REST and on /graphql; a small chunked body goes through."""
    headers = {"Authorization": f"Bearer {tenant['key']}", "Content-Type": "application/json"}

    def chunked(payload: bytes):
        for start in range(0, len(payload), 64 * 1024):
            yield payload[start : start + 64 * 1024]

    big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    for path in (f"/api/projects/{tenant['id']}/insights/", "/graphql"):
        r = httpx.post(spyglass.url + path, content=chunked(big), headers=headers)
        assert "content-length" not in r.request.headers  # really chunked
        assert r.status_code == 413 and r.json()["attr"] == "body", (path, r.text)
    small = httpx.post(f"{spyglass.url}/api/projects/{tenant['id']}/insights/",
                       content=chunked(b'{"name": "chunked"}'), headers=headers)  # fmt: skip
    assert small.status_code == 201 and small.json()["name"] == "chunked"


@pytest.mark.parametrize("which", [schema, shim_schema])
def test_an_unexpected_exception_is_masked_and_coded(which):
    """A resolver that fails in a way nobody planned (here: a context without services, so
    the access check trips over None) answers "Unexpected error." with code `internal_error`:
    no exception text, no trace. The REST shim reads that code as a 500."""
    caller = Caller(user={"id": 1, "organization": 1}, key={})
    result = asyncio.run(which.execute('query { insights(projectId: "1") { count } }',
                                       context_value=Context(None, caller)))  # fmt: skip
    (error,) = result.errors
    formatted = error.formatted
    assert formatted["message"] == "Unexpected error."
    assert formatted["extensions"] == {"code": "internal_error"}
    assert "NoneType" not in str(formatted) and "tenancy" not in str(formatted)


@pytest.mark.parametrize(("path", "limit"), [("trend", MAX_SERIES), ("funnel", MAX_STEPS)])
def test_series_per_insight(spyglass, tenant, path, limit):
    """A trend takes at most MAX_SERIES series, a funnel MAX_STEPS steps: one more is a 400
    naming `events` and the limit."""
    url = f"{spyglass.url}/api/projects/{tenant['id']}/insights/{path}/"
    headers = {"Authorization": f"Bearer {tenant['key']}"}

    def series(n: int) -> dict:
        return {"events": [{"id": f"e{i}", "order": i} for i in range(n)], "date_from": "-1d"}

    assert httpx.post(url, json=series(limit), headers=headers, timeout=60).status_code == 200
    over = httpx.post(url, json=series(limit + 1), headers=headers, timeout=60)
    assert over.status_code == 400 and over.json()["attr"] == "events"
    assert f"at most {limit}" in over.json()["detail"]
