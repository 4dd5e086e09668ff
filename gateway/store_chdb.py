"""The embedded Store: chDB (ClickHouse's engine in-process) on a data directory.

chDB binds one engine per process to one data path and runs queries in parallel across
separate connection handles, so we keep a small pool of handles — one per in-flight query —
and call them from worker threads, off the event loop. A second process on the same path is
refused by our own lock file, with a message naming the holder, before chDB sees it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import re
import threading
from datetime import date, datetime
from pathlib import Path

import anyio
import anyio.to_thread
import orjson

from gateway import sql_params
from gateway.errors import DataDirLocked, QueryTimeout, StoreError
from gateway.store import (
    QUERY_ID,
    QueryResult,
    as_utc,
    check_identifier,
    killed_on_cancel,
    new_query_id,
)

LOCK_FILE = ".spyglass.lock"
_CODE = re.compile(r"Code: (\d+)\.")
_TIMEOUT_CODES = {159, 160}  # TIMEOUT_EXCEEDED, TOO_SLOW


def describe_holder(path: Path) -> str:
    info = path / "server.json"
    try:
        pid = json.loads(info.read_text())["pid"]
        return f"held by spyglass serve (pid {pid})"
    except (OSError, ValueError, KeyError):
        return "held by another spyglass process"


class DataDirLock:
    """An exclusive flock on DATA/.spyglass.lock, held for the life of the process's engine."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirLocked(
                f"the data directory {self.path} is {describe_holder(self.path)}; "
                "stop it or point SPYGLASS_DATA elsewhere"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _encode_rows(rows: list[tuple]) -> bytes:
    """Rows as JSONCompactEachRow (one array per row, columns named by the INSERT). orjson
    writes datetimes as RFC 3339 and UUIDs as text; the handles parse times best-effort."""
    return b"\n".join(_encode_row(row) for row in rows)


def _encode_row(row: tuple) -> bytes:
    try:
        return orjson.dumps(row, option=orjson.OPT_NAIVE_UTC)
    except TypeError:  # an integer beyond 64 bits: kept exact as its decimal text
        return orjson.dumps(_big_ints_as_text(row), option=orjson.OPT_NAIVE_UTC)


def _big_ints_as_text(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        return str(value)
    if isinstance(value, dict):
        return {k: _big_ints_as_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_big_ints_as_text(v) for v in value]
    return value


def _parse_datetime(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text))


def _converter(ch_type: str):
    """How a JSONCompact cell of this ClickHouse type becomes the Python value we return."""
    base = ch_type
    for wrapper in ("Nullable(", "LowCardinality("):
        if base.startswith(wrapper):
            base = base[len(wrapper) : -1]
    if base.startswith("DateTime"):
        return lambda v: None if v is None else _parse_datetime(v)
    if base == "Date" or base == "Date32":
        return lambda v: None if v is None else date.fromisoformat(v)
    return None


def _store_error(exc: Exception) -> StoreError:
    message = str(exc)
    match = _CODE.search(message)
    code = int(match.group(1)) if match else None
    cls = QueryTimeout if code in _TIMEOUT_CODES else StoreError
    return cls(message.strip(), clickhouse_code=code)


class ChdbStore:
    kind = "chdb"

    def __init__(self, path: Path, *, pool_size: int = 4, query_timeout_s: float = 30.0):

        self.path = Path(path).resolve()
        self._lock = DataDirLock(self.path)
        self._lock.acquire()
        self._handles: queue.SimpleQueue = queue.SimpleQueue()
        self._all = []
        try:
            self._query_timeout_s = query_timeout_s
            for _ in range(pool_size):
                self._handles.put(self._open_handle())
            # chDB runs KILL QUERY across handles of one engine; kills get their own handle,
            # as the pool may be full of the queries to kill.
            self._killer = self._open_handle()
            self._killer_lock = threading.Lock()
        except Exception:
            self._lock.release()
            raise
        self._limiter = anyio.CapacityLimiter(pool_size)
        self.queries_run = 0  # reads issued (a metric; tests count them for batching)

    def _open_handle(self):
        import chdb

        conn = chdb.connect(f"file:{self.path}")
        # Session settings live on each handle: plain JSON numbers, a time limit.
        conn.query("SET output_format_json_quote_64bit_integers = 0")
        conn.query("SET date_time_input_format = 'best_effort'")
        # Property keys with dots stay one key in JSON columns (see 0001_events.sql).
        conn.query("SET json_type_escape_dots_in_keys = 1")
        # Strings stay strings: "2026-01-05" must not turn into a Date (and print back
        # differently) just because it looks like one.
        conn.query("SET input_format_try_infer_dates = 0")
        conn.query("SET input_format_try_infer_datetimes = 0")
        conn.query(f"SET max_execution_time = {float(self._query_timeout_s)}")
        # Joins build their hash table from the side our SQL puts on the right (the smaller,
        # by design). ClickHouse's own estimate swapped funnel paths' join to hash 6.6M path
        # events instead of 530k funnel people: 2.3 GiB and 6.1 s instead of 1.6 GiB, 3.5 s.
        conn.query("SET query_plan_join_swap_table = 'false'")
        self._all.append(conn)
        return conn

    async def _run(self, fn, *, abandon_on_cancel: bool = False):
        def call():
            conn = self._handles.get()
            try:
                return fn(conn)
            except Exception:
                # A failed statement can leave output buffered on the handle (a multi-statement
                # query that fails half-way does): never reuse it.
                with contextlib.suppress(Exception):
                    self._all.remove(conn)
                    conn.close()
                conn = self._open_handle()
                raise
            finally:
                self._handles.put(conn)

        return await anyio.to_thread.run_sync(call, limiter=self._limiter,
                                              abandon_on_cancel=abandon_on_cancel)  # fmt: skip

    def _kill(self, query_id: str) -> None:
        """chDB has no query-id argument; each read carries its id as `log_comment`, which
        system.processes shows in its settings, so KILL QUERY can find it."""
        with self._killer_lock:
            self._killer.query("KILL QUERY WHERE Settings['log_comment'] = {query_id:String} ASYNC",
                               "CSV", params={"query_id": query_id})  # fmt: skip

    def query_sync(self, conn, sql: str, params: dict | None, settings: dict | None,
                   query_id: str | None = None) -> QueryResult:  # fmt: skip
        if settings:
            sql = (
                sql.rstrip().rstrip(";")
                + " SETTINGS "
                + ", ".join(
                    f"{check_identifier(k)} = {float(v) if isinstance(v, float) else int(v)}"
                    for k, v in settings.items()
                )
            )
        try:
            if query_id is not None:  # a setting cannot be bound: checked against QUERY_ID
                if not QUERY_ID.match(query_id):
                    raise ValueError(f"invalid query id {query_id!r}")
                conn.query(f"SET log_comment = '{query_id}'")
            raw = conn.query(sql, "JSONCompact", params=sql_params.encode_all(params or {}))
            if query_id is not None:  # a late kill must not find the handle's next statement
                conn.query("SET log_comment = ''")
        except Exception as exc:  # chDB raises its own ChdbError/RuntimeError
            raise _store_error(exc) from None
        body = raw.bytes()
        if not body:
            return QueryResult([], [], [])
        doc = orjson.loads(body)
        columns = [m["name"] for m in doc["meta"]]
        types = [m["type"] for m in doc["meta"]]
        converters = [_converter(t) for t in types]
        rows = doc["data"]
        if any(converters):
            rows = [
                tuple(c(v) if c else v for c, v in zip(converters, row, strict=True))
                for row in rows
            ]
        else:
            rows = [tuple(row) for row in rows]
        return QueryResult(columns, types, rows)

    async def query(self, sql: str, params: dict | None = None, *, settings: dict | None = None):
        self.queries_run += 1
        query_id = new_query_id()
        return await killed_on_cancel(
            lambda: self._run(lambda conn: self.query_sync(conn, sql, params, settings, query_id),
                              abandon_on_cancel=True),
            lambda: anyio.to_thread.run_sync(lambda: self._kill(query_id)),
        )  # fmt: skip

    async def command(self, sql: str, params: dict | None = None) -> None:
        def run(conn):
            try:
                conn.query(sql, "CSV", params=sql_params.encode_all(params or {}))
            except Exception as exc:
                raise _store_error(exc) from None

        await self._run(run)

    def insert_sync(self, conn, table: str, columns: list[str], rows: list[tuple]) -> int:
        if not rows:
            return 0
        names = [check_identifier(c) for c in columns]
        body = _encode_rows(rows)
        statement = f"INSERT INTO {check_identifier(table)} ({', '.join(names)})"
        try:
            with conn.send_insert(statement, "JSONCompactEachRow") as inserter:
                inserter.append(body)
                inserter.finish()
        except Exception as exc:
            raise _store_error(exc) from None
        return len(rows)

    async def insert(self, table: str, columns: list[str], rows: list[tuple]) -> int:
        return await self._run(lambda conn: self.insert_sync(conn, table, columns, rows))

    async def insert_raw(self, statement: str, fmt: str, chunks) -> int:
        """Stream bytes in a ClickHouse input format into an INSERT (bulk import)."""

        def run(conn):
            try:
                with conn.send_insert(statement, fmt) as inserter:
                    for chunk in chunks:
                        inserter.append(chunk)
                    return inserter.finish().rows_written
            except Exception as exc:
                raise _store_error(exc) from None

        return await self._run(run)

    async def close(self) -> None:
        for conn in self._all:
            with contextlib.suppress(Exception):  # closing is best effort at shutdown
                conn.close()
        self._all.clear()
        self._lock.release()
