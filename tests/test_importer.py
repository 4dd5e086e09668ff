"""`spyglass import`: JSON lines, CSV and Parquet through ClickHouse's input formats."""

import json

import pytest

from gateway.admin import run as admin_run
from gateway.persons import person_of


def test_jsonl_import_stores_good_rows_and_reports_bad_ones(spyglass, tenant, tmp_path):
    lines = [
        {"event": "$pageview", "distinct_id": "anon", "timestamp": "2026-01-01T10:00:00Z",
         "properties": {"$current_url": "https://x.io/'q'", "n": 1}},
        {"event": "signed_up", "distinct_id": "u1", "timestamp": "2026-01-01 10:05:00",
         "properties": {"$set": {"email": "u1@x.io"}},
         "uuid": "6b1c7c1e-0f1e-4f65-9a0a-1f2d3c4b5a69"},
        {"event": "$identify", "distinct_id": "u1", "timestamp": "2026-01-01T10:05:01Z",
         "properties": {"$anon_distinct_id": "anon"}},
        {"event": "", "distinct_id": "x", "timestamp": "2026-01-01T10:00:00Z"},
        {"event": "e", "timestamp": "2026-01-01T10:00:00Z"},
        {"event": "e", "distinct_id": "x", "timestamp": "not a time"},
    ]  # fmt: skip
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    summary = spyglass.run(
        admin_run(spyglass.services, ["import", str(path), "--project", str(tenant["id"])])
    )
    assert summary["rows_read"] == 6 and summary["stored"] == 3
    assert summary["rejected"] == {
        "missing event": {"rows": 1, "first_line": 4},
        "missing distinct_id": {"rows": 1, "first_line": 5},
        "unparseable timestamp": {"rows": 1, "first_line": 6},
    }
    person = spyglass.run(person_of(spyglass.services.store, tenant["id"], "anon"))
    assert person["distinct_ids"] == ["anon", "u1"]
    assert person["properties"] == {"email": "u1@x.io"}
    # A second run of the same file stores nothing new for rows that carry a uuid.
    again = spyglass.run(
        admin_run(spyglass.services, ["import", str(path), "--project", str(tenant["id"])])
    )
    assert again["skipped_duplicates"] >= 1


def test_csv_and_parquet(spyglass, tenant, tmp_path):
    csv = tmp_path / "e.csv"
    csv.write_text(
        "event,distinct_id,timestamp,properties\nclick,a,2026-01-02T00:00:00Z,"
        '"{""k"": ""v,1""}"\nclick,b,2026-01-02T00:00:01Z,\n'
    )
    summary = spyglass.run(
        admin_run(spyglass.services, ["import", str(csv), "--project", str(tenant["id"])])
    )
    assert (summary["rows_read"], summary["stored"]) == (2, 2)
    parquet = tmp_path / "e.parquet"
    spyglass.query(
        f"INSERT INTO FUNCTION file('{parquet}', 'Parquet', 'event String, "
        "distinct_id String, timestamp String') VALUES ('p', 'c', '2026-01-03 00:00:00')"
    )
    summary = spyglass.run(
        admin_run(spyglass.services, ["import", str(parquet), "--project", str(tenant["id"])])
    )
    assert summary["stored"] == 1
    props = spyglass.query(
        "SELECT event, toString(properties.k) FROM events WHERE "
        "project_id = {p:UInt64} ORDER BY timestamp",
        {"p": tenant["id"]},
    ).rows
    assert props == [("click", "v,1"), ("click", ""), ("p", "")]


def test_import_errors_name_the_field(spyglass, tenant, tmp_path):
    from gateway.errors import ValidationError

    with pytest.raises(ValidationError) as info:
        spyglass.run(
            admin_run(
                spyglass.services,
                ["import", str(tmp_path / "missing.jsonl"), "--project", str(tenant["id"])],
            )
        )
    assert info.value.attr == "file"
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(ValidationError) as info:
        spyglass.run(
            admin_run(
                spyglass.services,
                ["import", str(tmp_path / "x.txt"), "--project", str(tenant["id"])],
            )
        )
    assert info.value.attr == "format"
