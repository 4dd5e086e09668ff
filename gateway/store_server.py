"""The server Store: a ClickHouse server over the native protocol (clickhouse-driver).

A clickhouse-driver `Client` holds one socket and is not safe for concurrent use, so we keep
a small pool of clients, one per in-flight query, called from worker threads. Parameters
stay `{name:Type}` in our SQL: servers that understand protocol-level parameters get them
server-side; older servers (Debian's 18.16) get the driver's own client-side binding, with
our placeholders rewritten to the driver's `%(name)s` form — never escaping of our own.
"""

from __future__ import annotations

import queue
import threading
import uuid
from urllib.parse import unquote, urlparse

import anyio
import anyio.to_thread

from gateway import sql_params
from gateway.errors import QueryTimeout, StoreError, StoreUnavailable
from gateway.store import QueryResult, as_utc, check_identifier, killed_on_cancel, new_query_id

_TIMEOUT_CODES = {159, 160}


def _client_side(sql: str) -> str:
    """`{name:Type}` → `%(name)s` for the driver's client-side substitution (literal % doubled)."""
    return sql_params.PLACEHOLDER.sub(r"%(\1)s", sql.replace("%", "%%"))


def _message(text: str) -> str:
    """ClickHouse's message without the server stack trace that older servers append."""
    return text.split("Stack trace:", 1)[0].strip()


def _normalise(value):
    from datetime import datetime

    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def parse_url(url: str) -> dict:
    parts = urlparse(url)
    return dict(
        host=parts.hostname or "localhost",
        port=parts.port or 9000,
        user=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
        database=(parts.path or "/default").lstrip("/") or "default",
    )


class ServerStore:
    kind = "server"

    def __init__(self, url: str, *, pool_size: int = 4, query_timeout_s: float = 30.0):
        self._conn_args = parse_url(url)
        self.database = self._conn_args["database"]
        self.query_timeout_s = query_timeout_s
        self._clients: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(pool_size):
            self._clients.put(None)  # created lazily, in the worker thread
        self._limiter = anyio.CapacityLimiter(pool_size)
        self.queries_run = 0  # reads issued (a metric; tests count them for batching)
        self._server_params: bool | None = None
        # Kills go through their own client: the pool may be full of the queries to kill.
        self._killer = None
        self._killer_lock = threading.Lock()

    def _new_client(self):
        from clickhouse_driver import Client

        return Client(
            **self._conn_args,
            connect_timeout=5,
            send_receive_timeout=max(30, int(self.query_timeout_s) + 10),
            settings={"use_numpy": False},
        )

    def _supports_server_params(self, client) -> bool:
        if self._server_params is None:
            from clickhouse_driver import defines

            # connect(), not force_connect(): the latter marks the connection as running a
            # query, and the next execute() then fails with "Simultaneous queries".
            if not client.connection.connected:
                client.connection.connect()
            revision = client.connection.server_info.revision
            self._server_params = revision >= defines.DBMS_MIN_PROTOCOL_VERSION_WITH_PARAMETERS
        return self._server_params

    def _execute(self, sql: str, params, settings: dict, *, rows=None, client=None, **kwargs):
        """Run on a pooled client (or the one given); after a network failure reconnect once
        and retry."""
        from clickhouse_driver import errors

        pooled = client is None
        client = client or self._clients.get() or self._new_client()
        try:
            for attempt in (1, 2):
                try:
                    run_settings = {"max_execution_time": self.query_timeout_s, **settings}
                    if rows is not None:
                        return client.execute(sql, rows, settings=run_settings)
                    # server_side_params travels in the per-query settings: execute() rebuilds
                    # the connection's client settings from them, so setting it elsewhere is lost.
                    if params is not None and self._supports_server_params(client):
                        run_settings["server_side_params"] = True
                        query, bind = sql, params
                    elif params is not None:
                        run_settings["server_side_params"] = False
                        query, bind = _client_side(sql), params
                    else:
                        query, bind = sql, None
                    return client.execute(query, bind, settings=run_settings, **kwargs)
                except (errors.NetworkError, EOFError, ConnectionError, OSError) as exc:
                    client.disconnect()
                    if attempt == 2:
                        raise StoreUnavailable(f"ClickHouse server unreachable: {exc}") from None
                except errors.ServerException as exc:
                    cls = QueryTimeout if exc.code in _TIMEOUT_CODES else StoreError
                    raise cls(_message(exc.message), clickhouse_code=exc.code) from None
                except errors.Error as exc:
                    raise StoreError(str(exc)) from None
        finally:
            if pooled:
                self._clients.put(client)

    async def _run(self, fn, *, abandon_on_cancel: bool = False):
        return await anyio.to_thread.run_sync(fn, limiter=self._limiter,
                                              abandon_on_cancel=abandon_on_cancel)  # fmt: skip

    def _kill(self, query_id: str) -> None:
        with self._killer_lock:
            if self._killer is None:
                self._killer = self._new_client()
            self._execute("KILL QUERY WHERE query_id = {query_id:String} ASYNC",
                          {"query_id": query_id}, {}, client=self._killer)  # fmt: skip

    async def query(self, sql: str, params: dict | None = None, *, settings: dict | None = None):
        self.queries_run += 1
        for name in params or {}:
            sql_params.check_name(name)

        query_id = new_query_id()

        def run():
            rows, meta = self._execute(sql, params or {}, settings or {}, with_column_types=True,
                                       query_id=query_id)  # fmt: skip
            return QueryResult(
                [name for name, _ in meta],
                [ch_type for _, ch_type in meta],
                [tuple(_normalise(v) for v in row) for row in rows],
            )

        # Cancelled, the thread is left to finish (the killed query ends it within moments).
        return await killed_on_cancel(
            lambda: self._run(run, abandon_on_cancel=True),
            lambda: anyio.to_thread.run_sync(lambda: self._kill(query_id)),
        )

    async def command(self, sql: str, params: dict | None = None) -> None:
        for name in params or {}:
            sql_params.check_name(name)
        await self._run(lambda: self._execute(sql, params or None, {}))

    async def insert(self, table: str, columns: list[str], rows: list[tuple]) -> int:
        if not rows:
            return 0
        names = ", ".join(check_identifier(c) for c in columns)
        statement = f"INSERT INTO {check_identifier(table)} ({names}) VALUES"
        await self._run(lambda: self._execute(statement, None, {}, rows=rows))
        return len(rows)

    async def close(self) -> None:
        while True:
            try:
                client = self._clients.get_nowait()
            except queue.Empty:
                break
            if client is not None:
                client.disconnect()
        if self._killer is not None:
            self._killer.disconnect()
