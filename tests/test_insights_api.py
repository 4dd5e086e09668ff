"""Saved insights over PostHog's REST paths (and the GraphQL they map onto)."""

import concurrent.futures
import csv
import io

import httpx
import pytest


def client(spyglass, tenant) -> httpx.Client:
    return httpx.Client(base_url=spyglass.url, timeout=30,
                        headers={"Authorization": f"Bearer {tenant['key']}"})  # fmt: skip


def create(c, project, **fields):
    fields.setdefault("name", "Pageviews")
    r = c.post(f"/api/projects/{project}/insights/", json=fields)
    assert r.status_code == 201, r.text
    return r.json()


SEED_KEYS = {
    "id": int, "short_id": str, "name": str, "derived_name": (str, type(None)), "filters": dict,
    "filters_hash": str, "order": (int, type(None)), "deleted": bool, "dashboards": list,
    "last_refresh": (str, type(None)), "refreshing": bool, "created_at": str,
    "created_by": dict, "description": str, "updated_at": str, "tags": list, "favorited": bool,
    "saved": bool, "last_modified_at": str, "last_modified_by": dict, "is_sample": bool,
    "effective_restriction_level": int, "effective_privilege_level": int, "timezone": str,
}  # fmt: skip


def test_create_and_retrieve_carry_every_seed_key(spyglass, tenant):
    with client(spyglass, tenant) as c:
        made = create(c, tenant["id"], filters={"events": [{"id": "$pageview"}]}, tags=["b", "a"])
        got = c.get(f"/api/projects/{tenant['id']}/insights/{made['id']}/")
    assert got.status_code == 200
    body = got.json()
    for key, kind in SEED_KEYS.items():
        assert isinstance(body[key], kind), key
    assert "result" in body
    assert body["filters"] == {"events": [{"id": "$pageview"}], "insight": "TRENDS"}
    assert body["tags"] == ["a", "b"]
    assert body["created_by"]["email"] == tenant["user"]["email"]
    assert len(body["short_id"]) == 8 and body["filters_hash"].startswith("cache_")


def test_trailing_slash_optional_and_current_project(spyglass, tenant):
    with client(spyglass, tenant) as c:
        made = create(c, tenant["id"])
        for path in (f"/api/projects/{tenant['id']}/insights/{made['id']}",
                     f"/api/projects/@current/insights/{made['id']}/"):  # fmt: skip
            r = c.get(path)
            assert r.status_code == 200 and r.json()["id"] == made["id"]


def test_list_paginates_with_absolute_urls_and_filters(spyglass, tenant):
    other_user_key = spyglass.new_project()  # another org: must never appear
    with client(spyglass, tenant) as c:
        made = [create(c, tenant["id"], name=f"Insight {i}", saved=i % 2 == 0) for i in range(5)]
        first = c.get(f"/api/projects/{tenant['id']}/insights/", params={"limit": 2}).json()
        assert first["count"] == 5 and len(first["results"]) == 2 and first["previous"] is None
        assert first["next"].startswith(spyglass.url) and "offset=2" in first["next"]
        second = c.get(first["next"]).json()
        assert "offset" not in (second["previous"] or "offset")  # offset 0 is dropped
        ids = {i["id"] for i in first["results"]} | {i["id"] for i in second["results"]}
        third = c.get(second["next"]).json()
        assert third["next"] is None
        ids |= {i["id"] for i in third["results"]}
        assert ids == {m["id"] for m in made}
        by_short = c.get(f"/api/projects/{tenant['id']}/insights/",
                         params={"short_id": made[3]["short_id"]}).json()  # fmt: skip
        assert [i["id"] for i in by_short["results"]] == [made[3]["id"]]
        saved = c.get(f"/api/projects/{tenant['id']}/insights/", params={"saved": "true"}).json()
        assert saved["count"] == 3
        mine = c.get(
            f"/api/projects/{tenant['id']}/insights/",
            params={"created_by": tenant["user"]["id"], "search": "insight 4"},
        ).json()
        assert [i["name"] for i in mine["results"]] == ["Insight 4"]
    assert other_user_key["id"] != tenant["id"]


def test_patch_updates_fields_and_logs_activity(spyglass, tenant):
    with client(spyglass, tenant) as c:
        made = create(c, tenant["id"], name="Before")
        r = c.patch(f"/api/projects/{tenant['id']}/insights/{made['id']}/",
                    json={"name": "After", "description": "why"})  # fmt: skip
        assert r.status_code == 200 and r.json()["name"] == "After"
        assert r.json()["last_modified_at"] >= made["last_modified_at"]
        log = c.get(f"/api/projects/{tenant['id']}/insights/{made['id']}/activity/").json()
    assert log["total_count"] == 2
    latest, created = log["results"]
    assert created["activity"] == "created" and created["detail"]["changes"] is None
    assert latest["activity"] == "updated" and latest["item_id"] == str(made["id"])
    assert latest["scope"] == "Insight" and latest["user"]["email"] == tenant["user"]["email"]
    assert sorted((ch["field"], ch["action"], ch["before"], ch["after"])
                  for ch in latest["detail"]["changes"]) == [
        ("description", "created", "", "why"), ("name", "changed", "Before", "After")]  # fmt: skip


def test_concurrent_patches_never_lose_a_field(spyglass, tenant):
    with client(spyglass, tenant) as c:
        made = create(c, tenant["id"])
        url = f"/api/projects/{tenant['id']}/insights/{made['id']}/"
        patches = [{"name": "N"}, {"description": "D"}, {"tags": ["t"]}, {"favorited": True},
                   {"derived_name": "DN"}, {"order": 3}]  # fmt: skip
        with concurrent.futures.ThreadPoolExecutor(len(patches)) as pool:
            statuses = list(pool.map(lambda body: c.patch(url, json=body).status_code, patches))
        assert statuses == [200] * len(patches)
        final = c.get(url).json()
    assert (final["name"], final["description"], final["tags"], final["favorited"],
            final["derived_name"], final["order"]) == ("N", "D", ["t"], True, "DN", 3)  # fmt: skip


def test_delete_is_405_and_soft_delete_hides_until_restored(spyglass, tenant):
    with client(spyglass, tenant) as c:
        made = create(c, tenant["id"])
        url = f"/api/projects/{tenant['id']}/insights/{made['id']}/"
        r = c.delete(url)
        assert r.status_code == 405 and r.content == b""
        assert c.patch(url, json={"deleted": True}).status_code == 200
        assert c.get(url).status_code == 404
        assert c.get(url + "activity/").status_code == 404
        listed = c.get(f"/api/projects/{tenant['id']}/insights/").json()
        assert made["id"] not in [i["id"] for i in listed["results"]]
        assert c.patch(url, json={"name": "x"}).status_code == 404
        restored = c.patch(url, json={"deleted": False})
        assert restored.status_code == 200 and restored.json()["deleted"] is False
        assert c.get(url).status_code == 200


def test_viewed_is_201_with_empty_body(spyglass, tenant):
    with client(spyglass, tenant) as c:
        made = create(c, tenant["id"])
        r = c.post(f"/api/projects/{tenant['id']}/insights/{made['id']}/viewed/")
    assert r.status_code == 201 and r.content == b""


def test_project_activity_lists_every_insight_newest_first(spyglass, tenant):
    with client(spyglass, tenant) as c:
        a, b = create(c, tenant["id"], name="A"), create(c, tenant["id"], name="B")
        log = c.get(f"/api/projects/{tenant['id']}/insights/activity/", params={"limit": 1})
    body = log.json()
    assert body["total_count"] == 2 and body["results"][0]["detail"]["name"] == "B"
    assert "page=2" in body["next"] and body["previous"] is None
    assert {a["id"], b["id"]}


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [({}, 401, "not_authenticated"),
     ({"Authorization": "Bearer phx_not_a_key"}, 401, "authentication_failed")],
)  # fmt: skip
def test_missing_or_bad_key_is_401(spyglass, tenant, headers, status, code):
    r = httpx.get(f"{spyglass.url}/api/projects/{tenant['id']}/insights/", headers=headers)
    assert r.status_code == status and r.json()["code"] == code


def test_other_projects_and_missing_scopes_are_403_and_unknown_ids_404(spyglass, tenant):
    other = spyglass.new_project()
    with client(spyglass, other) as c:
        theirs = create(c, other["id"])
    with client(spyglass, tenant) as c:
        assert c.get(f"/api/projects/{other['id']}/insights/").status_code == 403
        # Another project's insight id, asked for through our own project, does not exist.
        assert c.get(f"/api/projects/{tenant['id']}/insights/{theirs['id']}/").status_code == 404
        assert c.patch(f"/api/projects/{tenant['id']}/insights/{theirs['id']}/",
                       json={"name": "hijack"}).status_code == 404  # fmt: skip
        assert c.get(f"/api/projects/{tenant['id']}/insights/999999/").status_code == 404
        assert c.get("/api/projects/not-a-number/insights/").status_code == 404
    reader = spyglass.new_project(scopes=["insight:read"])
    with client(spyglass, reader) as c:
        assert c.get(f"/api/projects/{reader['id']}/insights/").status_code == 200
        r = c.post(f"/api/projects/{reader['id']}/insights/", json={"name": "x"})
        assert r.status_code == 403 and "insight:write" in r.json()["detail"]
        assert c.get(f"/api/projects/{reader['id']}/insights/activity/").status_code == 403


@pytest.mark.parametrize(
    ("body", "attr"),
    [({"name": 5}, "name"), ({"filters": [1]}, "filters"), ({"tags": "x"}, "tags"),
     ({"dashboards": ["a"]}, "dashboards"), ({"favorited": "yes"}, "favorited"),
     ({"name": "x" * 401}, "name")],
)  # fmt: skip
def test_bad_fields_are_400_naming_the_field(spyglass, tenant, body, attr):
    with client(spyglass, tenant) as c:
        r = c.post(f"/api/projects/{tenant['id']}/insights/", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["attr"] == attr and r.json()["type"] == "validation_error"
        assert c.get(f"/api/projects/{tenant['id']}/insights/").json()["count"] == 0


def test_csv_lists_one_row_per_insight_and_unknown_format_is_404(spyglass, tenant):
    with client(spyglass, tenant) as c:
        create(c, tenant["id"], name="One, with comma")
        create(c, tenant["id"], name="Two")
        r = c.get(f"/api/projects/{tenant['id']}/insights/", params={"format": "csv"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert sorted(row["name"] for row in rows) == ["One, with comma", "Two"]
        assert "created_by.email" in rows[0]
        assert c.get(f"/api/projects/{tenant['id']}/insights/",
                     params={"format": "xml"}).status_code == 404  # fmt: skip


def test_graphql_serves_the_same_insight_with_error_codes(spyglass, tenant):
    with client(spyglass, tenant) as c:
        made = create(c, tenant["id"], name="Via REST")
        q = ("query($p: String!, $id: BigInt!) { insight(projectId: $p, id: $id) "
             "{ id shortId name createdBy { email } } }")  # fmt: skip
        r = c.post("/graphql", json={"query": q, "variables": {"p": str(tenant["id"]),
                                                               "id": made["id"]}})  # fmt: skip
        data = r.json()["data"]["insight"]
        assert data == {"id": made["id"], "shortId": made["short_id"], "name": "Via REST",
                        "createdBy": {"email": tenant["user"]["email"]}}  # fmt: skip
        missing = c.post(
            "/graphql", json={"query": q, "variables": {"p": str(tenant["id"]), "id": 10**9}}
        ).json()
        assert missing["errors"][0]["extensions"]["code"] == "not_found"
    anonymous = httpx.post(
        f"{spyglass.url}/graphql",
        json={"query": q, "variables": {"p": str(tenant["id"]), "id": made["id"]}},
    ).json()
    assert anonymous["errors"][0]["extensions"]["code"] == "not_authenticated"
    assert anonymous["data"] is None
