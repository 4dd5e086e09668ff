"""Limits against abuse: depth, aliases, tokens, page size and body size — each a 400 (413
for the body) naming the limit; errors carry machine-readable codes."""

import httpx

from gateway.schema import MAX_ALIASES, MAX_DEPTH, MAX_PAGE, MAX_TOKENS


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
