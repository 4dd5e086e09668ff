"""The embedded Store: bound parameters end to end, and one process per data directory."""

import json
import subprocess
import sys
import textwrap

import httpx
import pytest

from gateway import sql_params

INJECTION_CORPUS = [
    "it's", 'say "hi"', "back\\slash", "trailing\\", "{x:String}", "{project_id:UInt64}",
    "-- comment", "/* c */", "'; DROP TABLE events; --", "%s %(x)s %%", "nul\0byte",
    "new\nline", "tab\there", "cr\rret", "ünïcødé 😀", "\\N", "", "a" * 10_000, "[1,2]", "''",
]  # fmt: skip


@pytest.mark.parametrize("value", INJECTION_CORPUS, ids=range(len(INJECTION_CORPUS)))
def test_values_reach_clickhouse_as_data(spyglass, value):
    row = spyglass.query(
        "SELECT {v:String}, {vs:Array(String)}, {t:Tuple(String, String)}, length({v:String})",
        {"v": value, "vs": [value, "x"], "t": (value, value)},
    ).rows[0]
    assert row[0] == value
    assert row[1] == [value, "x"]
    assert list(row[2]) == [value, value]
    assert row[3] == len(value.encode())


def test_property_keys_and_values_from_the_corpus_survive_capture_and_filtering(spyglass, tenant):
    batch = [
        {"event": f"e{i}", "distinct_id": f"d{i}", "properties": {value: value}}
        for i, value in enumerate(INJECTION_CORPUS)
    ]
    r = httpx.post(spyglass.url + "/batch/", json={"api_key": tenant["token"], "batch": batch})
    assert r.status_code == 200
    for i, value in enumerate(INJECTION_CORPUS):
        found = spyglass.query(
            "SELECT event FROM events WHERE project_id = {p:UInt64} "
            "AND toString(getSubcolumn(properties, {k:String})) = {v:String} "
            "AND event = {e:String}",
            {"p": tenant["id"], "k": value.replace(".", "%2E"), "v": value, "e": f"e{i}"},
        ).rows
        assert found == [(f"e{i}",)], repr(value)
    assert (
        spyglass.query(
            "SELECT count() FROM system.tables WHERE name = 'events' "
            "AND database = currentDatabase()"
        ).scalar()
        == 1
    )


def test_reserved_parameter_names_are_refused():
    for name in ("limit", "offset", "1abc", "a-b", "x y"):
        with pytest.raises(ValueError):
            sql_params.check_name(name)


def test_query_errors_keep_clickhouse_code(spyglass):
    from gateway.errors import StoreError

    with pytest.raises(StoreError) as info:
        spyglass.query("SELECT * FROM no_such_table")
    assert info.value.clickhouse_code == 60


def test_second_process_on_the_same_data_dir_is_refused_clearly(spyglass, tmp_path):
    code = textwrap.dedent(f"""
        from pathlib import Path
        from gateway.store_chdb import ChdbStore
        from gateway.errors import DataDirLocked
        try:
            ChdbStore(Path({str(spyglass.settings.chdb_path)!r}))
        except DataDirLocked as exc:
            print("LOCKED:", exc.detail)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "LOCKED:" in out.stdout, out.stderr
    assert "held by" in out.stdout


def test_results_are_typed(spyglass):
    row = spyglass.query(
        "SELECT toUInt64(18446744073709551615), toDateTime64('2026-01-02 03:04:05"
        ".123456', 6, 'UTC'), toDate('2026-01-02'), 1.5, [1, 2]"
    ).rows[0]
    assert row[0] == 18446744073709551615
    assert row[1].isoformat() == "2026-01-02T03:04:05.123456+00:00"
    assert row[2].isoformat() == "2026-01-02"
    assert row[3] == 1.5 and row[4] == [1, 2]
    assert json.dumps(row[4])


def test_a_failed_statement_never_leaves_a_handle_dirty(spyglass):
    from gateway.errors import StoreError

    store = spyglass.services.store
    for _ in range(8):  # more than the pool: every handle takes a turn at failing
        with pytest.raises(StoreError):
            spyglass.query("SELECT 1; SELECT nope FROM nowhere")
    rows = [spyglass.query("SELECT {v:String}", {"v": f"ok{i}"}).rows for i in range(8)]
    assert rows == [[(f"ok{i}",)] for i in range(8)]
    assert store.queries_run > 0
