"""Project settings at /api/projects/:id/ in PostHog's shape; writes need project:write."""

import httpx
import pytest


def test_read_and_update_settings(spyglass, tenant):
    url = f"{spyglass.url}/api/projects/{tenant['id']}/"
    auth = {"Authorization": f"Bearer {tenant['key']}"}
    project = httpx.get(url, headers=auth).json()
    assert project["timezone"] == "UTC" and project["api_token"].startswith("phc_")
    assert project["week_start_day"] == 0 and project["test_account_filters"]
    patch = {
        "timezone": "Europe/London",
        "week_start_day": 1,
        "path_cleaning_filters": [{"regex": "/user/\\d+", "alias": "/user/<id>"}],
        "test_account_filters": [],
    }
    updated = httpx.patch(url, json=patch, headers=auth)
    assert updated.status_code == 200, updated.text
    again = httpx.get(url.rstrip("/"), headers=auth).json()
    assert (again["timezone"], again["week_start_day"], again["test_account_filters"]) == (
        "Europe/London", 1, [])  # fmt: skip
    assert again["path_cleaning_filters"][0]["alias"] == "/user/<id>"


@pytest.mark.parametrize(
    ("patch", "attr"),
    [({"timezone": "Mars/Base"}, "timezone"), ({"week_start_day": 3}, "week_start_day"),
     ({"test_account_filters": [{"key": "x", "operator": "nope"}]},
      "test_account_filters[0].operator"),
     ({"path_cleaning_filters": [{"regex": "(", "alias": "x"}]}, "path_cleaning_filters[0]")],
)  # fmt: skip
def test_bad_settings_are_400_and_change_nothing(spyglass, tenant, patch, attr):
    url = f"{spyglass.url}/api/projects/{tenant['id']}/"
    auth = {"Authorization": f"Bearer {tenant['key']}"}
    before = httpx.get(url, headers=auth).json()
    r = httpx.patch(url, json=patch, headers=auth)
    assert r.status_code == 400 and r.json()["attr"] == attr
    assert httpx.get(url, headers=auth).json() == before


def test_writes_need_project_write_and_other_projects_are_403(spyglass):
    reader = spyglass.new_project(scopes=["project:read", "insight:write"])
    url = f"{spyglass.url}/api/projects/{reader['id']}/"
    auth = {"Authorization": f"Bearer {reader['key']}"}
    assert httpx.get(url, headers=auth).status_code == 200
    r = httpx.patch(url, json={"timezone": "UTC"}, headers=auth)
    assert r.status_code == 403 and "project:write" in r.json()["detail"]
    other = spyglass.new_project()
    assert httpx.get(f"{spyglass.url}/api/projects/{other['id']}/",
                     headers=auth).status_code == 403  # fmt: skip


PROJECT = """query ($p: String!) { project(projectId: $p) { id organization name apiToken timezone
    weekStartDay testAccountFilters pathCleaningFilters createdAt } }"""
UPDATE = """mutation ($p: String!, $input: ProjectInput!) {
    updateProject(projectId: $p, input: $input) { timezone weekStartDay } }"""


def test_graphql_reads_and_writes_what_rest_does(spyglass):
    tenant = spyglass.new_project()
    url = f"{spyglass.url}/api/projects/{tenant['id']}/"
    auth = {"Authorization": f"Bearer {tenant['key']}"}

    def gql(query: str, **variables) -> dict:
        variables = {"p": str(tenant["id"]), **variables}
        r = httpx.post(f"{spyglass.url}/graphql", headers=auth,
                       json={"query": query, "variables": variables})  # fmt: skip
        assert "errors" not in r.json(), r.json()
        return r.json()["data"]

    updated = gql(UPDATE, input={"timezone": "Asia/Tokyo", "weekStartDay": 1})["updateProject"]
    assert updated == {"timezone": "Asia/Tokyo", "weekStartDay": 1}
    project, rest = gql(PROJECT)["project"], httpx.get(url, headers=auth).json()
    for key, value in project.items():
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
        assert rest[snake] == value, key
    assert rest["team_id"] == rest["project_id"] == tenant["id"]
    assert rest["api_token"] == tenant["token"] and rest["timezone"] == "Asia/Tokyo"
