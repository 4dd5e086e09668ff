"""The GraphQL mutations themselves (the REST tests reach them through the shim): an insight's
life on dashboards — tiles added, moved and removed — favourited, tagged, viewed, soft-deleted
and restored, with one activity entry per change."""

import httpx

INSIGHT = "id name favorited tags dashboards deleted"


def gql(spyglass, tenant, query: str, **variables) -> dict:
    r = httpx.post(f"{spyglass.url}/graphql",
                   json={"query": query, "variables": {"p": str(tenant["id"]), **variables}},
                   headers={"Authorization": f"Bearer {tenant['key']}"}, timeout=60)  # fmt: skip
    return r.json()


def ok(spyglass, tenant, query: str, **variables) -> dict:
    body = gql(spyglass, tenant, query, **variables)
    assert "errors" not in body, body
    return body["data"]


def update(spyglass, tenant, insight_id: int, **fields) -> dict:
    query = f"""mutation ($p: String!, $id: BigInt!, $input: InsightInput!) {{
      updateInsight(projectId: $p, id: $id, input: $input) {{ {INSIGHT} }} }}"""
    return ok(spyglass, tenant, query, id=insight_id, input=fields)["updateInsight"]


def tiles(spyglass, tenant, dashboard_id: int) -> list[dict]:
    query = """query ($p: String!, $id: BigInt!) { dashboard(projectId: $p, id: $id) {
      tiles { id color layouts insight { id } } } }"""
    return ok(spyglass, tenant, query, id=dashboard_id)["dashboard"]["tiles"]


def activity(spyglass, tenant, insight_id: int) -> dict:
    query = """query ($p: String!, $id: BigInt) { insightActivity(projectId: $p, id: $id) {
      totalCount results { activity itemId user { email } detail } } }"""
    return gql(spyglass, tenant, query, id=insight_id)


def test_an_insights_life_through_graphql_mutations(spyglass, tenant):
    new_board = """mutation ($p: String!, $name: String!) {
      createDashboard(projectId: $p, input: {name: $name}) { id name tiles { id } } }"""
    a = ok(spyglass, tenant, new_board, name="A")["createDashboard"]["id"]
    b = ok(spyglass, tenant, new_board, name="B")["createDashboard"]["id"]
    made = ok(spyglass, tenant, f"""mutation ($p: String!, $a: BigInt!) {{
      createInsight(projectId: $p, input: {{name: "Signups", dashboards: [$a]}}) {{ {INSIGHT} }}
    }}""", a=a)["createInsight"]  # fmt: skip
    insight = made["id"]
    assert made["dashboards"] == [a]
    assert [t["insight"]["id"] for t in tiles(spyglass, tenant, a)] == [insight]

    # a tile added, then moved and recoloured, then the other one removed
    assert update(spyglass, tenant, insight, dashboards=[a, b])["dashboards"] == [a, b]
    (tile,) = tiles(spyglass, tenant, b)
    layouts = {"sm": {"x": 6, "y": 2, "w": 6, "h": 5}}
    moved = ok(spyglass, tenant, """mutation ($p: String!, $d: BigInt!, $t: BigInt!,
      $layouts: JSON) { updateDashboardTile(projectId: $p, dashboardId: $d, tileId: $t,
                                            layouts: $layouts, color: "purple") }""",
               d=b, t=tile["id"], layouts=layouts)  # fmt: skip
    assert moved == {"updateDashboardTile": True}
    expected = {"id": tile["id"], "color": "purple", "layouts": layouts, "insight": {"id": insight}}
    assert tiles(spyglass, tenant, b) == [expected]
    assert update(spyglass, tenant, insight, dashboards=[b])["dashboards"] == [b]
    assert tiles(spyglass, tenant, a) == []

    # favourite and tag
    tagged = update(spyglass, tenant, insight, favorited=True, tags=["kpi", "growth", "kpi"])
    assert tagged["favorited"] is True and tagged["tags"] == ["growth", "kpi"]
    listed = ok(
        spyglass,
        tenant,
        """query ($p: String!) {
      insights(projectId: $p, favorited: true, search: "growth") { count results { id } } }""",
    )
    assert listed["insights"] == {"count": 1, "results": [{"id": insight}]}

    # viewed
    viewed = "mutation ($p: String!, $id: BigInt!) { markInsightViewed(projectId: $p, id: $id) }"
    assert ok(spyglass, tenant, viewed, id=insight) == {"markInsightViewed": True}
    mine = ok(
        spyglass,
        tenant,
        """query ($p: String!) {
      insights(projectId: $p, myLastViewed: true) { results { id } } }""",
    )
    assert mine["insights"]["results"] == [{"id": insight}]

    # soft delete: gone from reads, activity and its tiles; restore brings the insight back
    assert update(spyglass, tenant, insight, deleted=True)["deleted"] is True
    read = "query ($p: String!, $id: BigInt!) { insight(projectId: $p, id: $id) { id name } }"
    assert gql(spyglass, tenant, read, id=insight)["errors"][0]["extensions"]["code"] == (
        "not_found")  # fmt: skip
    assert activity(spyglass, tenant, insight)["errors"][0]["extensions"]["code"] == "not_found"
    assert tiles(spyglass, tenant, b) == []
    assert update(spyglass, tenant, insight, deleted=False)["deleted"] is False
    assert ok(spyglass, tenant, read, id=insight)["insight"] == {"id": insight, "name": "Signups"}

    # one entry per change, newest first, each saying what changed and by whom
    log = activity(spyglass, tenant, insight)["data"]["insightActivity"]
    changed = [sorted(c["field"] for c in e["detail"]["changes"] or []) for e in log["results"]]
    assert changed == [["deleted"], ["deleted"], ["favorited", "tags"], ["dashboards"],
                       ["dashboards"], []]  # fmt: skip
    assert [e["activity"] for e in log["results"]] == ["updated"] * 5 + ["created"]
    assert log["totalCount"] == 6
    assert {e["user"]["email"] for e in log["results"]} == {tenant["user"]["email"]}
    assert {e["itemId"] for e in log["results"]} == {str(insight)}
    # `activity` (the name, with PostHog's scope) reads the same log
    general = gql(
        spyglass,
        tenant,
        """query ($p: String!, $id: BigInt) {
      activity(projectId: $p, scope: INSIGHT, itemId: $id, limit: 2, page: 2) {
        totalCount results { activity itemId user { email } detail } } }""",
        id=insight,
    )
    assert general["data"]["activity"] == {"totalCount": 6, "results": log["results"][2:4]}
