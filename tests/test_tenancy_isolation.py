"""No key reaches another project: every REST path and every GraphQL field is tried with one
tenant's key against another tenant's project and ids."""

import httpx
import pytest

from tests.test_insights_api import client


@pytest.fixture(scope="module")
def two_tenants(spyglass):
    mine, theirs = spyglass.new_project(), spyglass.new_project()
    with client(spyglass, theirs) as c:
        p = theirs["id"]
        board = c.post(f"/api/projects/{p}/dashboards/", json={"name": "Theirs"}).json()
        insight = c.post(f"/api/projects/{p}/insights/",
                         json={"name": "Theirs", "dashboards": [board["id"]]}).json()  # fmt: skip
        action = c.post(f"/api/projects/{p}/actions/", json={"name": "Theirs"}).json()
        cohort = c.post(f"/api/projects/{p}/cohorts/",
                        json={"name": "Theirs", "is_static": True}).json()  # fmt: skip
    return mine, theirs, {"insight": insight["id"], "dashboard": board["id"],
                          "action": action["id"], "cohort": cohort["id"]}  # fmt: skip


ENDPOINTS = [
    ("GET", "/api/projects/{p}/"), ("PATCH", "/api/projects/{p}/"),
    ("GET", "/api/projects/{p}/insights/"), ("POST", "/api/projects/{p}/insights/"),
    ("GET", "/api/projects/{p}/insights/{insight}/"),
    ("PATCH", "/api/projects/{p}/insights/{insight}/"),
    ("DELETE", "/api/projects/{p}/insights/{insight}/"),
    ("GET", "/api/projects/{p}/insights/{insight}/activity/"),
    ("POST", "/api/projects/{p}/insights/{insight}/viewed/"),
    ("GET", "/api/projects/{p}/insights/activity/"),
    ("GET", "/api/projects/{p}/insights/trend/"), ("POST", "/api/projects/{p}/insights/trend/"),
    ("GET", "/api/projects/{p}/insights/funnel/"), ("POST", "/api/projects/{p}/insights/funnel/"),
    ("GET", "/api/projects/{p}/insights/retention/"),
    ("GET", "/api/projects/{p}/insights/path/"), ("POST", "/api/projects/{p}/insights/path/"),
    ("GET", "/api/projects/{p}/insights/funnel/correlation/"),
    ("POST", "/api/projects/{p}/insights/funnel/correlation/"),
    ("GET", "/api/projects/{p}/persons/funnel/correlation/"),
    ("POST", "/api/projects/{p}/persons/funnel/correlation/"),
    ("GET", "/api/projects/{p}/dashboards/"), ("POST", "/api/projects/{p}/dashboards/"),
    ("GET", "/api/projects/{p}/dashboards/{dashboard}/"),
    ("PATCH", "/api/projects/{p}/dashboards/{dashboard}/"),
    ("GET", "/api/projects/{p}/actions/"), ("POST", "/api/projects/{p}/actions/"),
    ("GET", "/api/projects/{p}/actions/{action}/"),
    ("PATCH", "/api/projects/{p}/actions/{action}/"),
    ("GET", "/api/projects/{p}/cohorts/"), ("POST", "/api/projects/{p}/cohorts/"),
    ("GET", "/api/projects/{p}/cohorts/{cohort}/"),
    ("PATCH", "/api/projects/{p}/cohorts/{cohort}/"),
    ("GET", "/api/projects/{p}/cohorts/{cohort}/persons/"),
    ("GET", "/api/projects/{p}/persons/trends/"), ("POST", "/api/projects/{p}/persons/trends/"),
    ("GET", "/api/projects/{p}/persons/stickiness/?stickiness_days=1"),
    ("GET", "/api/projects/{p}/persons/lifecycle/?target_date=2024-01-01&lifecycle_type=new"),
    ("GET", "/api/projects/{p}/persons/funnel/?funnel_step=1"),
    ("POST", "/api/projects/{p}/persons/funnel/"),
    ("GET", "/api/projects/{p}/persons/retention/"), ("GET", "/api/projects/{p}/persons/path/"),
    ("POST", "/api/projects/{p}/persons/path/"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "template"), ENDPOINTS)
def test_another_projects_path_is_refused(spyglass, two_tenants, method, template):
    mine, theirs, ids = two_tenants
    path = template.format(p=theirs["id"], **ids)
    with client(spyglass, mine) as c:
        r = c.request(
            method, path, json={"name": "hijack"} if method in ("POST", "PATCH") else None
        )
    # DELETE is refused outright (405) before any lookup, as PostHog does.
    assert r.status_code == (405 if method == "DELETE" else 403), (path, r.text)


@pytest.mark.parametrize(("method", "template"),
                         [e for e in ENDPOINTS if any(f"{{{k}}}" in e[1] for k in
                                                      ("insight", "dashboard", "action",
                                                       "cohort"))])  # fmt: skip
def test_another_projects_ids_do_not_exist_in_mine(spyglass, two_tenants, method, template):
    mine, theirs, ids = two_tenants
    path = template.format(p=mine["id"], **ids)
    with client(spyglass, mine) as c:
        r = c.request(
            method, path, json={"name": "hijack"} if method in ("POST", "PATCH") else None
        )
    assert r.status_code in ((405,) if method == "DELETE" else (404,)), (path, r.text)
    with client(spyglass, theirs) as c:  # and nothing of theirs changed
        assert (
            c.get(f"/api/projects/{theirs['id']}/insights/{ids['insight']}/").json()["name"]
            == "Theirs"
        )


GRAPHQL = [
    'insight(projectId: "{p}", id: {insight}) {{ id }}', 'insights(projectId: "{p}") {{ count }}',
    'insightActivity(projectId: "{p}") {{ totalCount }}', 'dashboard(projectId: "{p}", id: '
    "{dashboard}) {{ id }}", 'dashboards(projectId: "{p}") {{ count }}',
    'actions(projectId: "{p}") {{ count }}', 'action(projectId: "{p}", id: {action}) {{ id }}',
    'trends(projectId: "{p}", filters: {{}}) {{ isCached }}',
    'cohorts(projectId: "{p}") {{ count }}', 'cohort(projectId: "{p}", id: {cohort}) {{ id }}',
    'cohortPersons(projectId: "{p}", id: {cohort}) {{ count }}',
    'funnel(projectId: "{p}", filters: {{}}) {{ isCached }}',
    *[f'{field}(projectId: "{{p}}", filters: {{{{}}}}, point: {{{{{point}}}}}) {{{{ count }}}}'
      for field, point in (("trendsPeople", ""), ("stickinessPeople", "stickinessDays: 1"),
                           ("lifecyclePeople", 'targetDate: "2024-01-01", lifecycleType: new'),
                           ("funnelPeople", "funnelStep: 1"), ("retentionPeople", ""),
                           ("pathPeople", ""))],
    'funnelCorrelation(projectId: "{p}", filters: {{}}) {{ isCached }}',
    'funnelCorrelationPersons(projectId: "{p}", filters: {{}}) {{ count }}',
    *[f'{field}(projectId: "{{p}}", filters: {{{{}}}}) {{{{ isCached }}}}'
      for field in ("stickiness", "lifecycle", "retention", "paths", "insightResult")],
    'insight(projectId: "{p}", id: {insight}, fromDashboard: {dashboard}) {{ id }}',
    'project(projectId: "{p}") {{ apiToken }}',
    'activity(projectId: "{p}", itemId: {insight}) {{ totalCount }}',
]  # fmt: skip
# Every mutation, aimed at the other project's ids.
MUTATIONS = [
    'updateProject(projectId: "{p}", input: {{name: "hijack"}}) {{ id }}',
    'createInsight(projectId: "{p}", input: {{name: "hijack"}}) {{ id }}',
    'updateInsight(projectId: "{p}", id: {insight}, input: {{name: "hijack"}}) {{ id }}',
    'updateInsight(projectId: "{p}", id: {insight}, input: {{deleted: true}}) {{ id }}',
    'markInsightViewed(projectId: "{p}", id: {insight})',
    'createDashboard(projectId: "{p}", input: {{name: "hijack"}}) {{ id }}',
    'updateDashboard(projectId: "{p}", id: {dashboard}, input: {{name: "hijack"}}) {{ id }}',
    'updateDashboardTile(projectId: "{p}", dashboardId: {dashboard}, tileId: 1, color: "red")',
    'createAction(projectId: "{p}", input: {{name: "hijack"}}) {{ id }}',
    'updateAction(projectId: "{p}", id: {action}, input: {{name: "hijack"}}) {{ id }}',
    'createCohort(projectId: "{p}", input: {{name: "hijack", is_static: true}}) {{ id }}',
    'updateCohort(projectId: "{p}", id: {cohort}, input: {{name: "hijack"}}) {{ id }}',
]  # fmt: skip


@pytest.mark.parametrize("field", GRAPHQL)
def test_graphql_fields_refuse_another_project(spyglass, two_tenants, field):
    mine, theirs, ids = two_tenants
    query = "query { " + field.format(p=theirs["id"], **ids) + " }"
    r = httpx.post(f"{spyglass.url}/graphql", json={"query": query},
                   headers={"Authorization": f"Bearer {mine['key']}"})  # fmt: skip
    body = r.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "permission_denied", body


@pytest.mark.parametrize("field", MUTATIONS)
def test_graphql_mutations_refuse_another_project_and_change_nothing(spyglass, two_tenants,
                                                                      field):  # fmt: skip
    mine, theirs, ids = two_tenants
    query = "mutation { " + field.format(p=theirs["id"], **ids) + " }"
    r = httpx.post(f"{spyglass.url}/graphql", json={"query": query},
                   headers={"Authorization": f"Bearer {mine['key']}"})  # fmt: skip
    body = r.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "permission_denied", body
    with client(spyglass, theirs) as c:
        p = theirs["id"]
        assert c.get(f"/api/projects/{p}/insights/{ids['insight']}/").json()["name"] == "Theirs"
        board = c.get(f"/api/projects/{p}/dashboards/{ids['dashboard']}/").json()
        assert board["name"] == "Theirs" and board["tiles"][0]["color"] is None
        assert c.get(f"/api/projects/{p}/insights/").json()["count"] == 1
        assert c.get(f"/api/projects/{p}/dashboards/").json()["count"] == 1
        assert c.get(f"/api/projects/{p}/").json()["name"] == "Test"
