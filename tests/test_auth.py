"""Personal API keys as PostHog reads them: where the key may be (header, then body, then query
string; the first found is the one tried), what each scope allows (write implies read, no
scopes = everything), and keys restricted to some projects."""

import httpx
import pytest


def make_key(spyglass, tenant, scopes: list[str], projects: list[int] | None = None) -> str:
    async def make():
        key, _ = await spyglass.services.tenancy.create_key(tenant["user"]["id"], "t", scopes,
                                                            projects)  # fmt: skip
        return key

    return spyglass.run(make())


def test_the_key_from_the_header_then_the_body_then_the_query_string(spyglass, tenant):
    url = f"{spyglass.url}/api/projects/{tenant['id']}/insights/"
    key = tenant["key"]
    assert httpx.get(url, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert httpx.get(url, params={"personal_api_key": key}).status_code == 200
    made = httpx.post(url, json={"name": "By body", "personal_api_key": key})
    assert made.status_code == 201 and made.json()["name"] == "By body"
    # only the first place found is tried: a bad header is not rescued by a good query string
    bad = httpx.get(url, params={"personal_api_key": key},
                    headers={"Authorization": "Bearer phx_wrong"})  # fmt: skip
    assert bad.status_code == 401 and bad.json()["code"] == "authentication_failed"
    assert bad.json()["detail"] == (
        "Personal API key found in request Authorization header is invalid.")  # fmt: skip
    wrong = httpx.get(url, params={"personal_api_key": "phx_wrong"})
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "Personal API key found in request query string is invalid."
    wrong = httpx.post(url, json={"name": "x", "personal_api_key": "phx_wrong"})
    assert wrong.json()["detail"] == "Personal API key found in request body is invalid."


# (scopes, method, path, status): each endpoint's scope, write implying read
SCOPES = [
    ([], "POST", "insights/", 201),
    (["insight:write"], "GET", "insights/", 200),
    (["insight:write"], "POST", "insights/", 201),
    (["insight:read"], "GET", "insights/trend/", 200),
    (["insight:read"], "GET", "insights/activity/", 403),
    (["activity_log:read"], "GET", "insights/activity/", 200),
    (["activity_log:read"], "GET", "insights/", 403),
    (["dashboard:read"], "GET", "dashboards/", 200),
    (["dashboard:read"], "POST", "dashboards/", 403),
    (["dashboard:write"], "POST", "dashboards/", 201),
    (["dashboard:write"], "GET", "insights/trend/", 403),
    (["project:read"], "GET", "", 200),
    (["project:read"], "PATCH", "", 403),
    (["project:write"], "PATCH", "", 200),
    (["cohort:read"], "GET", "cohorts/", 200),
    (["cohort:read"], "GET", "actions/", 403),
    (["action:write"], "GET", "actions/", 200),
    (["*"], "PATCH", "", 200),
]  # fmt: skip


@pytest.mark.parametrize(("scopes", "method", "path", "status"), SCOPES)
def test_each_endpoint_needs_its_scope(spyglass, tenant, scopes, method, path, status):
    key = make_key(spyglass, tenant, scopes)
    body = {"name": "Scoped"} if method in ("POST", "PATCH") else None
    r = httpx.request(method, f"{spyglass.url}/api/projects/{tenant['id']}/{path}", json=body,
                      headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert r.status_code == status, r.text
    if status == 403:
        assert r.json()["detail"].startswith("API key missing required scope '")


def test_a_key_restricted_to_projects(spyglass, tenant):
    async def sibling():
        return await spyglass.services.tenancy.create_project(
            tenant["project"]["organization"], "Sibling"
        )

    other = spyglass.run(sibling())  # same organisation, so only the restriction keeps it out
    key = make_key(spyglass, tenant, [], projects=[tenant["id"]])
    auth = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{spyglass.url}/api/projects/{tenant['id']}/", headers=auth).status_code == (
        200)  # fmt: skip
    refused = httpx.get(f"{spyglass.url}/api/projects/{other['id']}/insights/", headers=auth)
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f"API key does not have access to the requested project: ID {other['id']}.")  # fmt: skip
    # `@current` is the project the key may reach, not merely the organisation's first
    only_other = {"Authorization": f"Bearer {make_key(spyglass, tenant, [], [other['id']])}"}
    current = httpx.get(f"{spyglass.url}/api/projects/@current/", headers=only_other).json()
    assert current["id"] == other["id"]
    unrestricted = {"Authorization": f"Bearer {tenant['key']}"}
    assert httpx.get(f"{spyglass.url}/api/projects/{other['id']}/insights/",
                     headers=unrestricted).status_code == 200  # fmt: skip
