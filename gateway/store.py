"""The Store: the one door to ClickHouse.

Three operations — `query` (bound parameters in, columns and rows out), `insert` (many rows),
`command` (DDL and other statements) — with two implementations chosen by CLICKHOUSE_URL:
chDB in-process on disk (store_chdb.py) or a ClickHouse server over the native protocol
(store_server.py). The SQL is the same for both.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import anyio

from gateway.config import Settings

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
QUERY_ID = re.compile(r"^spyglass-[0-9a-f]{32}$")
T = TypeVar("T")
log = logging.getLogger("spyglass.store")


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


class Store(Protocol):
    kind: str  # "chdb" or "server"

    async def query(
        self, sql: str, params: dict | None = None, *, settings: dict | None = None
    ) -> QueryResult: ...

    async def insert(self, table: str, columns: list[str], rows: list[tuple]) -> int: ...

    async def command(self, sql: str, params: dict | None = None) -> None: ...

    async def close(self) -> None: ...


def check_identifier(name: str) -> str:
    """Table and column names are code constants; refuse anything else before it reaches SQL."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"invalid identifier {name!r}")
    return name


def new_query_id() -> str:
    """Every read gets its own id, so it can be found and killed (QUERY_ID's shape: it is the
    one value we splice into SQL text, where a setting cannot be bound)."""
    return f"spyglass-{uuid.uuid4().hex}"


async def killed_on_cancel(run: Callable[[], Awaitable[T]],
                           kill: Callable[[], Awaitable[None]]) -> T:  # fmt: skip
    """Await a query; if the caller is cancelled first (its HTTP client went away, or no one
    waits for the result any more), kill the query before the cancellation goes on: a worker
    thread cannot be interrupted, but ClickHouse can stop the query it runs."""
    try:
        return await run()
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            try:
                await kill()
            except Exception as exc:  # the time limit still bounds the query
                log.warning("could not kill a cancelled query: %s", exc)
        raise


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def open_store(settings: Settings) -> Store:
    if settings.embedded:
        from gateway.store_chdb import ChdbStore

        return ChdbStore(
            settings.chdb_path,
            pool_size=settings.pool_size,
            query_timeout_s=settings.query_timeout_s,
        )
    if settings.clickhouse_url.startswith("clickhouse://"):
        from gateway.store_server import ServerStore

        return ServerStore(
            settings.clickhouse_url,
            pool_size=settings.pool_size,
            query_timeout_s=settings.query_timeout_s,
        )
    raise ValueError(
        f"CLICKHOUSE_URL must start with chdb:// or clickhouse://, got {settings.clickhouse_url!r}"
    )
