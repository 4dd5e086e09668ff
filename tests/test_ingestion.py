"""Capture endpoints as PostHog SDKs use them, and what lands in ClickHouse."""

import base64
import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gateway.persons import person_of


def events_of(spyglass, project_id):
    return spyglass.query(
        "SELECT event, distinct_id, toString(person_id), timestamp, properties "
        "FROM events WHERE project_id = {p:UInt64} ORDER BY timestamp, event",
        {"p": project_id},
    ).rows


def post(spyglass, path, **kwargs):
    return httpx.post(spyglass.url + path, timeout=30, **kwargs)


@pytest.mark.parametrize("path", ["/batch/", "/capture/", "/e/", "/i/v0/e/", "/track/", "/batch"])
def test_every_capture_path_stores_a_batch(spyglass, tenant, path):
    body = {"api_key": tenant["token"], "batch": [
        {"event": "clicked", "distinct_id": "d1", "properties": {"n": 1}},
        {"event": "viewed", "distinct_id": "d1", "properties": {"n": 2}},
    ]}  # fmt: skip
    response = post(spyglass, path, json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": 1}
    assert sorted(r[0] for r in events_of(spyglass, tenant["id"])) == ["clicked", "viewed"]


def test_single_event_with_token_in_body(spyglass, tenant):
    r = post(spyglass, "/capture/", json={"token": tenant["token"], "event": "solo",
                                          "distinct_id": "x"})  # fmt: skip
    assert r.status_code == 200
    assert [row[0] for row in events_of(spyglass, tenant["id"])] == ["solo"]


def test_gzip_body(spyglass, tenant):
    payload = json.dumps(
        {"api_key": tenant["token"], "batch": [{"event": "zipped", "distinct_id": "z"}]}
    ).encode()
    r = post(
        spyglass,
        "/batch/",
        content=gzip.compress(payload),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert [row[0] for row in events_of(spyglass, tenant["id"])] == ["zipped"]


def test_posthog_js_form_with_base64_data(spyglass, tenant):
    events = [
        {
            "event": "$pageview",
            "properties": {
                "distinct_id": "js-user",
                "token": tenant["token"],
                "$current_url": "https://a.example/x?q='\"",
                "$lib": "web",
            },
        }
    ]
    data = base64.b64encode(json.dumps(events).encode()).decode()
    r = post(spyglass, "/e/?ver=1.0&_=1700000000000", data={"data": data})
    assert r.status_code == 200, r.text
    rows = events_of(spyglass, tenant["id"])
    assert [(r[0], r[1]) for r in rows] == [("$pageview", "js-user")]
    assert rows[0][4]["$current_url"] == "https://a.example/x?q='\""


def test_gzip_js_compression_query_param(spyglass, tenant):
    events = [{"event": "gz", "properties": {"distinct_id": "u", "token": tenant["token"]}}]
    r = post(
        spyglass,
        "/e/?compression=gzip-js",
        content=gzip.compress(json.dumps(events).encode()),
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 200, r.text
    assert [row[0] for row in events_of(spyglass, tenant["id"])] == ["gz"]


def test_sent_at_corrects_client_clock_skew(spyglass, tenant):
    # The client's clock is 1 hour fast: its event "at 12:00:00" was sent "at 12:00:05".
    client_now = datetime.now(UTC) + timedelta(hours=1)
    body = {
        "api_key": tenant["token"],
        "sentAt": (client_now + timedelta(seconds=5)).isoformat(),
        "batch": [{"event": "skewed", "distinct_id": "s", "timestamp": client_now.isoformat()}],
    }
    before = datetime.now(UTC)
    assert post(spyglass, "/batch/", json=body).status_code == 200
    stored = events_of(spyglass, tenant["id"])[0][3]
    # Stored ≈ server's now − 5 s, not the client's skewed time.
    assert before - timedelta(seconds=7) <= stored <= datetime.now(UTC) - timedelta(seconds=4)


def test_offset_means_milliseconds_ago(spyglass, tenant):
    body = {
        "api_key": tenant["token"],
        "batch": [{"event": "o", "distinct_id": "o", "offset": 60_000}],
    }
    before = datetime.now(UTC)
    assert post(spyglass, "/batch/", json=body).status_code == 200
    stored = events_of(spyglass, tenant["id"])[0][3]
    assert before - timedelta(seconds=62) <= stored <= before - timedelta(seconds=58)


def test_retried_uuid_is_stored_once(spyglass, tenant):
    event_uuid = str(uuid.uuid4())
    body = {"api_key": tenant["token"], "batch": [
        {"event": "once", "distinct_id": "r", "uuid": event_uuid,
         "timestamp": "2026-01-05T10:00:00Z"}]}  # fmt: skip
    for _ in range(3):
        assert post(spyglass, "/batch/", json=body).status_code == 200
    double = {"api_key": tenant["token"], "batch": body["batch"] * 2}
    assert post(spyglass, "/batch/", json=double).status_code == 200
    assert len(events_of(spyglass, tenant["id"])) == 1


@pytest.mark.parametrize(
    ("body", "status", "attr"),
    [
        ({"api_key": "phc_nope", "batch": [{"event": "e", "distinct_id": "d"}]}, 401, "token"),
        ({"batch": [{"event": "e", "distinct_id": "d"}]}, 401, "token"),
        ({"api_key": "TOKEN", "batch": [{"distinct_id": "d"}]}, 400, "event"),
        ({"api_key": "TOKEN", "batch": [{"event": "e"}]}, 400, "distinct_id"),
        (
            {
                "api_key": "TOKEN",
                "batch": [{"event": "e", "distinct_id": "d", "timestamp": "yesterday"}],
            },
            400,
            "timestamp",
        ),
        ({"api_key": "TOKEN", "batch": "nope"}, 400, "batch"),
    ],
)
def test_bad_input_is_a_clear_4xx_naming_the_field(spyglass, tenant, body, status, attr):
    body = json.loads(json.dumps(body).replace("TOKEN", tenant["token"]))
    r = post(spyglass, "/batch/", json=body)
    assert r.status_code == status, r.text
    assert r.json()["attr"] == attr
    assert r.json()["detail"]
    assert events_of(spyglass, tenant["id"]) == []


def test_malformed_json_and_bad_gzip(spyglass, tenant):
    r = post(
        spyglass, "/batch/", content=b'{"api_key": ', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_payload"
    r = post(spyglass, "/batch/", content=b"\x1f\x8bnot gzip", headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400 and r.json()["attr"] == "body"


def test_oversize_body_is_413(spyglass, tenant):
    limit = spyglass.settings.max_body_bytes
    r = post(
        spyglass,
        "/batch/",
        content=b"x" * (limit + 1),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"


def test_batch_with_some_bad_events_stores_the_good_ones(spyglass, tenant):
    body = {"api_key": tenant["token"], "batch": [
        {"event": "good", "distinct_id": "g"},
        {"event": "", "distinct_id": "g"},
        {"event": "also good", "distinct_id": "g"},
        {"event": "no id"},
    ]}  # fmt: skip
    r = post(spyglass, "/batch/", json=body)
    assert r.status_code == 200
    assert [(x["index"], x["attr"]) for x in r.json()["rejected"]] == [
        (1, "event"),
        (3, "distinct_id"),
    ]
    assert sorted(row[0] for row in events_of(spyglass, tenant["id"])) == ["also good", "good"]


def test_decide_and_flags_answer_with_no_flags(spyglass):
    for path in ("/decide/?v=3", "/flags/?v=2"):
        r = post(spyglass, path, json={"token": "x", "distinct_id": "y"})
        assert r.status_code == 200 and r.json()["featureFlags"] == {}


def _send(spyglass, tenant, *events):
    r = post(spyglass, "/batch/", json={"api_key": tenant["token"], "batch": list(events)})
    assert r.status_code == 200, r.text


def test_identify_merges_anonymous_history_into_one_person(spyglass, tenant):
    _send(spyglass, tenant,
          {"event": "$pageview", "distinct_id": "anon-1", "timestamp": "2026-01-01T10:00:00Z"},
          {"event": "$identify", "distinct_id": "alice", "timestamp": "2026-01-01T10:01:00Z",
           "properties": {"$anon_distinct_id": "anon-1", "$set": {"email": "a@x.io"}}},
          {"event": "$pageview", "distinct_id": "anon-2", "timestamp": "2026-01-02T10:00:00Z"},
          {"event": "$identify", "distinct_id": "alice", "timestamp": "2026-01-02T10:01:00Z",
           "properties": {"$anon_distinct_id": "anon-2"}})  # fmt: skip
    person = spyglass.run(person_of(spyglass.services.store, tenant["id"], "anon-2"))
    assert person["distinct_ids"] == ["alice", "anon-1", "anon-2"]
    assert person["properties"] == {"email": "a@x.io"}
    # Every event, whichever id sent it, belongs to one person once overrides apply.
    resolved = spyglass.query(
        "SELECT uniqExact(if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),"
        " e.person_id, o.override_person_id)) FROM events AS e LEFT JOIN ("
        " SELECT old_person_id, argMax(override_person_id, version) AS override_person_id"
        " FROM person_overrides WHERE project_id = {p:UInt64} GROUP BY old_person_id) AS o"
        " ON o.old_person_id = e.person_id WHERE e.project_id = {p:UInt64}",
        {"p": tenant["id"]},
    )
    assert resolved.scalar() == 1


def test_identified_person_is_not_merged_away(spyglass, tenant):
    # As PostHog: when both ids already have persons and the anonymous one is identified,
    # $identify does not merge them (a shared device is not proof of one person).
    _send(
        spyglass,
        tenant,
        {"event": "$identify", "distinct_id": "bob", "properties": {"$anon_distinct_id": "dev"}},
        {"event": "seen", "distinct_id": "carol"},
        {"event": "$identify", "distinct_id": "carol", "properties": {"$anon_distinct_id": "dev"}},
    )
    bob = spyglass.run(person_of(spyglass.services.store, tenant["id"], "bob"))
    carol = spyglass.run(person_of(spyglass.services.store, tenant["id"], "carol"))
    assert bob["id"] != carol["id"]
    assert "dev" in bob["distinct_ids"]


def test_create_alias_merges(spyglass, tenant):
    _send(
        spyglass,
        tenant,
        {"event": "a", "distinct_id": "x1"},
        {"event": "b", "distinct_id": "x2"},
        {"event": "$create_alias", "distinct_id": "x1", "properties": {"alias": "x2"}},
    )
    person = spyglass.run(person_of(spyglass.services.store, tenant["id"], "x2"))
    assert person["distinct_ids"] == ["x1", "x2"]


def test_set_set_once_unset_fold_by_event_time_whatever_the_arrival_order(spyglass, tenant):
    # Sent out of order: the fold is by event time, not arrival.
    _send(spyglass, tenant,
          {"event": "e", "distinct_id": "p", "timestamp": "2026-01-03T00:00:00Z",
           "properties": {"$set": {"plan": "pro"}, "$set_once": {"first": "late"}}},
          {"event": "e", "distinct_id": "p", "timestamp": "2026-01-01T00:00:00Z",
           "properties": {"$set": {"plan": "free", "gone": 1}, "$set_once": {"first": "early"}}},
          {"event": "e", "distinct_id": "p", "timestamp": "2026-01-02T00:00:00Z",
           "properties": {"$unset": ["gone"]}})  # fmt: skip
    person = spyglass.run(person_of(spyglass.services.store, tenant["id"], "p"))
    assert person["properties"] == {"plan": "pro", "first": "early"}


def test_groups_get_indexes_in_order_first_seen(spyglass, tenant):
    _send(spyglass, tenant,
          {"event": "e", "distinct_id": "g", "properties": {"$groups": {"company": "acme"}}},
          {"event": "e", "distinct_id": "g",
           "properties": {"$groups": {"project": "p1", "company": "acme"}}},
          {"event": "$groupidentify", "distinct_id": "g",
           "properties": {"$group_type": "company", "$group_key": "acme",
                          "$group_set": {"industry": "tools"}}})  # fmt: skip
    mapping = spyglass.query(
        "SELECT group_type, group_type_index FROM group_type_mapping "
        "WHERE project_id = {p:UInt64} ORDER BY group_type_index",
        {"p": tenant["id"]},
    ).rows
    assert mapping == [("company", 0), ("project", 1)]
    groups = spyglass.query(
        "SELECT group_0, group_1 FROM events WHERE project_id = {p:UInt64} ORDER BY group_1",
        {"p": tenant["id"]},
    ).rows
    assert ("acme", "p1") in groups
    writes = spyglass.query(
        "SELECT group_key, key, value FROM group_property_writes WHERE project_id = {p:UInt64}",
        {"p": tenant["id"]},
    ).rows
    assert writes == [("acme", "industry", '"tools"')]


def test_projects_do_not_see_each_others_events(spyglass):
    a, b = spyglass.new_project(), spyglass.new_project()
    _send(spyglass, a, {"event": "only-a", "distinct_id": "same"})
    assert events_of(spyglass, b["id"]) == []


def test_concurrent_retries_of_one_event_store_it_once(spyglass, tenant):
    # Identical requests racing into overlapping group-commit flushes.
    import concurrent.futures

    body = {"api_key": tenant["token"], "batch": [
        {"event": "raced", "distinct_id": "r", "uuid": str(uuid.uuid4())},
        {"event": "raced", "distinct_id": "r", "uuid": str(uuid.uuid4())},
    ]}  # fmt: skip
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda _: post(spyglass, "/batch/", json=body).status_code,
                                 range(48)))  # fmt: skip
    assert statuses == [200] * 48
    assert len(events_of(spyglass, tenant["id"])) == 2


def test_property_keys_with_dots_nested_objects_and_odd_values_round_trip(spyglass, tenant):
    props = {"a.b": 1, "utm.source": "x", "nested": {"k": [1, "y"]}, "ü": "ø", "f": 1.5,
             "flag": True, "empty": "", "big": 2**70}  # fmt: skip
    _send(spyglass, tenant, {"event": "odd", "distinct_id": "o", "properties": props})
    stored = events_of(spyglass, tenant["id"])[0][4]
    # Every key survives whole. Integers beyond 64 bits arrive as floats, as JavaScript (and
    # so posthog-js) would send them anyway (docs/compatibility.md).
    assert stored == {**props, "big": float(2**70)}
    one = spyglass.query(
        "SELECT toString(getSubcolumn(properties, {k:String})) FROM events "
        "WHERE project_id = {p:UInt64}", {"p": tenant["id"], "k": "a%2Eb"}).scalar()  # fmt: skip
    assert one == "1"
