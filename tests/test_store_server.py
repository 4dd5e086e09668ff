"""The server Store against a real ClickHouse server (Debian's 18.16 in CI).

18.16 predates protocol-level query parameters, so `{name:Type}` is bound by clickhouse-driver
on the client side (DESIGN.md, "Supported ClickHouse servers"); these tests hold that path to
the same promise as the server-side one: every value reaches ClickHouse as data.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.config import from_env
from gateway.errors import QueryTimeout, StoreError, StoreUnavailable
from gateway.store import as_utc, open_store
from tests.clickhouse_servers import CLUSTER_NAME, PASSWORD, PASSWORD_USER, free_ports

# The fixtures live in conftest_servers.py; requiring it here keeps this module self-contained.
pytest_plugins = ["tests.conftest_servers"]
pytestmark = pytest.mark.server


def server_store(url: str, **env: str):
    return open_store(from_env({"CLICKHOUSE_URL": url, **env}))


def table_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def test_connects_and_queries(clickhouse_server):
    async def main():
        store = server_store(clickhouse_server.url())
        try:
            assert store.kind == "server"
            result = await store.query("SELECT version() AS version, 1 + 1 AS two")
            assert result.columns == ["version", "two"]
            assert result.rows[0][1] == 2
        finally:
            await store.close()

    asyncio.run(main())


def test_authenticates_with_a_percent_quoted_password(clickhouse_server):
    async def main():
        store = server_store(clickhouse_server.url(PASSWORD_USER, PASSWORD))
        try:
            # currentUser() is newer than 18.16; the process list knows who is asking.
            # The literal % also checks that SQL text survives the client-side binding.
            result = await store.query(
                "SELECT user FROM system.processes WHERE query LIKE '%who-am-i%'"
            )
            assert result.rows == [(PASSWORD_USER,)]
        finally:
            await store.close()

    asyncio.run(main())


def test_wrong_password_is_a_clear_error(clickhouse_server):
    async def main():
        store = server_store(clickhouse_server.url(PASSWORD_USER, "not the password"))
        started = time.monotonic()
        try:
            with pytest.raises(StoreError) as caught:
                await store.query("SELECT 1")
        finally:
            await store.close()
        error = caught.value
        assert time.monotonic() - started < 10
        assert not isinstance(error, StoreUnavailable)
        # 193 WRONG_PASSWORD on 18.16; 516 AUTHENTICATION_FAILED on current servers.
        assert error.clickhouse_code in (193, 516)
        assert "password" in error.detail.lower()
        assert "Stack trace" not in error.detail

    asyncio.run(main())


def test_unreachable_server_is_store_unavailable():
    (port,) = free_ports(1)  # nothing listens there

    async def main():
        store = server_store(f"clickhouse://default:@127.0.0.1:{port}/default")
        started = time.monotonic()
        try:
            with pytest.raises(StoreUnavailable):
                await store.query("SELECT 1")
        finally:
            await store.close()
        assert time.monotonic() - started < 10

    asyncio.run(main())


TYPED_COLUMNS = ["s", "n", "f", "ts", "tags", "maybe"]
TYPED_ROWS = [
    ("plain", 1, 0.5, datetime(2024, 1, 2, 3, 4, 5), ["a", "b"], None),
    ("ünïcødé ✓", 2**64 - 1, -1e-300, datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC), [], "x"),
    (
        "",
        0,
        3.141592653589793,
        datetime(2038, 1, 1, tzinfo=timezone(timedelta(hours=2))),
        ["", "'"],
        "",
    ),
]


def test_typed_insert_and_select_round_trip(clickhouse_server):
    table = table_name("typed")

    async def main():
        store = server_store(clickhouse_server.url())
        try:
            await store.command(
                f"CREATE TABLE {table} (s String, n UInt64, f Float64, ts DateTime,"
                " tags Array(String), maybe Nullable(String)) ENGINE = MergeTree ORDER BY n"
            )
            assert await store.insert(table, TYPED_COLUMNS, TYPED_ROWS) == len(TYPED_ROWS)

            result = await store.query(f"SELECT {', '.join(TYPED_COLUMNS)} FROM {table} ORDER BY n")
            assert result.columns == TYPED_COLUMNS
            assert result.types == [
                "String",
                "UInt64",
                "Float64",
                "DateTime",
                "Array(String)",
                "Nullable(String)",
            ]
            expected = sorted(
                ((s, n, f, as_utc(ts), tags, maybe) for s, n, f, ts, tags, maybe in TYPED_ROWS),
                key=lambda row: row[1],
            )
            assert result.rows == expected
            assert all(row[3].tzinfo is not None for row in result.rows)

            for s, n, f, ts, tags, maybe in TYPED_ROWS:
                found = await store.query(
                    f"SELECT n FROM {table} WHERE s = {{s:String}} AND n = {{n:UInt64}}"
                    " AND f = {f:Float64} AND ts = {ts:DateTime} AND tags = {tags:Array(String)}",
                    {"s": s, "n": n, "f": f, "ts": ts, "tags": tags},
                )
                assert found.rows == [(n,)]
                if maybe is not None:
                    found = await store.query(
                        f"SELECT n FROM {table} WHERE maybe = {{maybe:Nullable(String)}}",
                        {"maybe": maybe},
                    )
                    assert found.rows == [(n,)]

            # Parameters as values in the select list come back as they went in. (A DateTime
            # parameter would come back as its text on 18.16: client-side binding sends it as
            # a string literal, and only a comparison with a DateTime column converts it.)
            params = {
                "s": "ünïcødé ✓",
                "n": 2**64 - 1,
                "f": -1e-300,
                "tags": ["a", ""],
                "maybe": None,
            }
            echoed = await store.query(
                "SELECT {s:String} AS s, {n:UInt64} AS n, {f:Float64} AS f,"
                " {tags:Array(String)} AS tags, {maybe:Nullable(String)} AS maybe",
                params,
            )
            assert echoed.dicts() == [params]
        finally:
            await store.close()

    asyncio.run(main())


INJECTION_CORPUS = [
    "'",
    "''",
    '"',
    "\\",
    "\\'",
    "ends with a backslash\\",
    "{x:String}",
    "{s:String}",
    "{{x}}",
    "--",
    "-- comment\nSELECT 1",
    "/* open comment",
    "%",
    "%%",
    "%s",
    "%(x)s",
    "%(s)s",
    "\0",
    "nul\0inside",
    "line\nbreak",
    "carriage\rreturn",
    "tab\there",
    "\b\f\a\v",
    "ünïcødé — ✓ 😀 中文",
    "'; DROP TABLE t; --",
    "'); DROP TABLE {table}; --",
    "\\'; DROP TABLE {table}; --",
    "' OR 1=1 --",
    "` backtick",
    "$$dollar$$",
    "?",
    " ",
    "",
]


def test_injection_corpus_travels_as_data(clickhouse_server):
    table = table_name("injection")
    corpus = [value.replace("{table}", table) for value in INJECTION_CORPUS]

    async def main():
        store = server_store(clickhouse_server.url())
        try:
            await store.command(
                f"CREATE TABLE {table} (id UInt64, s String, tags Array(String))"
                " ENGINE = MergeTree ORDER BY id"
            )
            rows = [(i, value, [value, "other"]) for i, value in enumerate(corpus)]
            await store.insert(table, ["id", "s", "tags"], rows)

            stored = await store.query(f"SELECT id, s, tags FROM {table} ORDER BY id")
            assert stored.rows == rows

            for i, value in enumerate(corpus):
                found = await store.query(
                    f"SELECT id, s FROM {table} WHERE s = {{s:String}}", {"s": value}
                )
                assert found.rows == [(i, value)], repr(value)
                found = await store.query(
                    f"SELECT id FROM {table} WHERE has(tags, {{s:String}}) AND id = {{id:UInt64}}",
                    {"s": value, "id": i},
                )
                assert found.rows == [(i,)], repr(value)
                echoed = await store.query(
                    "SELECT {s:String} AS s, length({s:String}) AS n", {"s": value}
                )
                assert echoed.rows == [(value, len(value.encode()))], repr(value)

            echoed = await store.query("SELECT {all:Array(String)} AS all", {"all": corpus})
            assert echoed.scalar() == corpus
            found = await store.query(
                f"SELECT count() FROM {table} WHERE has({{all:Array(String)}}, s)",
                {"all": corpus},
            )
            assert found.scalar() == len(corpus)

            # Still there, still whole: nothing in the corpus ran as SQL.
            assert (await store.query(f"SELECT count() FROM {table}")).scalar() == len(corpus)
            exists = await store.query(
                "SELECT count() FROM system.tables WHERE database = currentDatabase()"
                " AND name = {name:String}",
                {"name": table},
            )
            assert exists.scalar() == 1
        finally:
            await store.close()

    asyncio.run(main())


def test_server_errors_keep_the_clickhouse_code(clickhouse_server):
    async def main():
        store = server_store(clickhouse_server.url())
        try:
            with pytest.raises(StoreError) as caught:
                await store.query("SELECT * FROM no_such_table_anywhere")
            assert caught.value.clickhouse_code == 60  # UNKNOWN_TABLE
            assert "no_such_table_anywhere" in caught.value.detail
            assert "Stack trace" not in caught.value.detail
            assert not isinstance(caught.value, QueryTimeout | StoreUnavailable)

            with pytest.raises(StoreError) as caught:
                await store.query("SELEKT 1")
            assert caught.value.clickhouse_code == 62  # SYNTAX_ERROR

            with pytest.raises(StoreError) as caught:
                await store.command("CREATE TABLE bad (x NoSuchType) ENGINE = Memory")
            assert caught.value.clickhouse_code == 50  # UNKNOWN_TYPE

            # The failed queries cost the pooled connections nothing.
            assert (await store.query("SELECT 1")).scalar() == 1
        finally:
            await store.close()

    asyncio.run(main())


def test_slow_query_is_killed_by_the_timeout(clickhouse_server):
    async def main():
        store = server_store(clickhouse_server.url(), SPYGLASS_QUERY_TIMEOUT="1")
        started = time.monotonic()
        try:
            # 18.16 caps sleep() at 3 s and checks the limit only between blocks; counting an
            # endless system.numbers is checked on every block.
            with pytest.raises(QueryTimeout) as caught:
                await store.query("SELECT count() FROM system.numbers")
            elapsed = time.monotonic() - started
            assert caught.value.clickhouse_code == 159  # TIMEOUT_EXCEEDED
            assert 0.9 < elapsed < 10
            assert (await store.query("SELECT 1")).scalar() == 1
        finally:
            await store.close()

    asyncio.run(main())


def test_reconnects_after_the_server_restarts(clickhouse_server_factory):
    server = clickhouse_server_factory()

    async def main():
        # One pooled connection, so the query after each restart reuses the broken socket.
        store = server_store(server.url(), SPYGLASS_POOL_SIZE="1")
        try:
            await store.command("CREATE TABLE kept (n UInt64) ENGINE = MergeTree ORDER BY n")
            await store.insert("kept", ["n"], [(1,), (2,), (3,)])
            assert (await store.query("SELECT sum(n) FROM kept")).scalar() == 6

            await asyncio.to_thread(server.restart)  # SIGTERM, same ports and data
            assert (await store.query("SELECT sum(n) FROM kept")).scalar() == 6

            await asyncio.to_thread(server.restart, hard=True)  # SIGKILL
            assert (await store.query("SELECT sum(n) FROM kept")).scalar() == 6

            await asyncio.to_thread(server.stop)
            with pytest.raises(StoreUnavailable):
                await store.query("SELECT 1")
            await asyncio.to_thread(server.start)
            assert (await store.query("SELECT count() FROM kept")).scalar() == 3
        finally:
            await store.close()

    asyncio.run(main())


def test_two_shard_cluster_distributes_rows(clickhouse_cluster):
    local = table_name("events_local")
    distributed = table_name("events_all")
    total = 200

    async def main():
        stores = [server_store(server.url()) for server in clickhouse_cluster]
        first = stores[0]
        try:
            for store in stores:
                await store.command(
                    f"CREATE TABLE {local} (id UInt64, name String) ENGINE = MergeTree ORDER BY id"
                )
                # Sharded by id: even ids to the first shard, odd ids to the second.
                await store.command(
                    f"CREATE TABLE {distributed} AS {local}"
                    f" ENGINE = Distributed({CLUSTER_NAME}, default, {local}, id)"
                )
            rows = [(i, f"event {i % 3}") for i in range(total)]
            assert await first.insert(distributed, ["id", "name"], rows) == total

            per_shard = [(await s.query(f"SELECT count() FROM {local}")).scalar() for s in stores]
            assert all(count > 0 for count in per_shard), per_shard
            assert sum(per_shard) == total
            for store in stores:  # either node sees the whole table
                assert (await store.query(f"SELECT count() FROM {distributed}")).scalar() == total
            found = await first.query(
                f"SELECT count() FROM {distributed} WHERE name = {{name:String}}",
                {"name": "event 0"},
            )
            assert found.scalar() == len([row for row in rows if row[1] == "event 0"])
        finally:
            for store in stores:
                await store.close()

    asyncio.run(main())
