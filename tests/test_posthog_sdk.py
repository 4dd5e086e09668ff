"""The official posthog Python SDK, unchanged, against our ingestion."""

from posthog import Posthog

from gateway.persons import person_of


def test_official_python_sdk_capture_identify_alias_set_groups(spyglass, tenant):
    client = Posthog(
        tenant["token"],
        host=spyglass.url,
        flush_at=10,
        flush_interval=0.1,
        gzip=True,
        max_retries=0,
    )
    errors = []
    client.on_error = lambda error, batch: errors.append(error)
    client.capture(
        "$pageview", distinct_id="anon-sdk", properties={"$current_url": "https://x.io/?a='b'"}
    )
    # posthog-js-style identify: an $identify event naming the anonymous id.
    client.capture(
        "$identify", distinct_id="sdk-user", properties={"$anon_distinct_id": "anon-sdk"}
    )
    client.set(distinct_id="sdk-user", properties={"email": "sdk@x.io", "plan": "free"})
    client.set_once(distinct_id="sdk-user", properties={"first_seen_via": "sdk"})
    client.capture(
        "purchase", distinct_id="sdk-user", properties={"revenue": 12.5}, groups={"company": "acme"}
    )
    client.group_identify("company", "acme", {"name": "Acme"}, distinct_id="sdk-user")
    client.alias(previous_id="other-device", distinct_id="sdk-user")
    client.flush()
    client.shutdown()
    assert errors == []

    rows = spyglass.query(
        "SELECT event, toString(properties.`$lib`), group_0 FROM events "
        "WHERE project_id = {p:UInt64} ORDER BY event",
        {"p": tenant["id"]},
    ).rows
    assert {"$pageview", "$identify", "$set", "purchase", "$groupidentify",
            "$create_alias"} <= {r[0] for r in rows}  # fmt: skip
    assert {r[1] for r in rows} == {"posthog-python"}
    assert ("purchase", "posthog-python", "acme") in rows

    person = spyglass.run(person_of(spyglass.services.store, tenant["id"], "anon-sdk"))
    assert set(person["distinct_ids"]) == {"anon-sdk", "sdk-user", "other-device"}
    assert person["properties"] == {"email": "sdk@x.io", "plan": "free", "first_seen_via": "sdk"}
