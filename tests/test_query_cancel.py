"""A query nobody waits for any more is killed in ClickHouse, not left to run to its time limit.

Against the real engines: Debian's clickhouse-server 18.16 (KILL QUERY by query id) and chDB
in-process (KILL QUERY across connection handles, finding the query by its log_comment).
The HTTP test hangs up a real socket on a real uvicorn serving the gateway's middleware.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import uuid

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.cache import ResultCache
from gateway.config import from_env
from gateway.disconnect import CancelOnDisconnect
from gateway.errors import QueryTimeout
from gateway.store import open_store
from tests.harness import free_port

pytest_plugins = ["tests.conftest_servers"]

# Minutes of work on any machine: it only ends when it is killed (or at the time limit).
# The marker names the column (18.16 drops a trailing comment from the text it shows).
LONG = "SELECT sum(number % 7) AS {marker} FROM numbers(100000000000)"
# Our own statement never matches itself: it names system.processes, the long one does not.
RUNNING = ("SELECT count() FROM system.processes WHERE position(query, {marker:String}) > 0 "
           "AND position(query, 'system.processes') = 0")  # fmt: skip


def long_query(store):
    marker = f"m{uuid.uuid4().hex}"
    return marker, store.query(LONG.replace("{marker}", marker))


async def running(store, marker: str) -> bool:
    return (await store.query(RUNNING, {"marker": marker})).scalar() > 0


async def wait_for(store, marker: str, *, present: bool, within: float) -> float:
    """Seconds until the query is (or is no longer) in system.processes; fails past `within`."""
    started = time.monotonic()
    while await running(store, marker) != present:
        if time.monotonic() - started > within:
            raise AssertionError(f"query {'never started' if present else 'still running'}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def cancel_and_watch_it_go(store) -> None:
    marker, query = long_query(store)
    task = asyncio.ensure_future(query)
    await wait_for(store, marker, present=True, within=10)
    task.cancel()
    await wait_for(store, marker, present=False, within=5)
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.server
def test_server_store_kills_a_cancelled_query(clickhouse_server):
    async def main():
        store = open_store(from_env({"CLICKHOUSE_URL": clickhouse_server.url()}))
        try:
            await cancel_and_watch_it_go(store)
            # The pool is whole again: the abandoned worker got its client back.
            assert (await store.query("SELECT 1")).scalar() == 1
        finally:
            await store.close()

    asyncio.run(main())


def test_chdb_store_kills_a_cancelled_query(spyglass):
    """chDB can cancel: KILL QUERY from another handle of the same engine stops the query."""

    async def main():
        await cancel_and_watch_it_go(spyglass.services.store)
        assert (await spyglass.services.store.query("SELECT 1")).scalar() == 1

    spyglass.run(main())


def test_a_shared_computation_runs_while_anyone_waits_for_it(spyglass):
    """Single flight: one waiter leaving leaves the query running for the other; the last
    one leaving kills it."""
    store = spyglass.services.store

    async def main():
        cache = ResultCache()
        marker, query = long_query(store)

        async def compute():
            return {"result": (await query).scalar()}

        key = f"cancel-test:{marker}"
        waiters = [cache.result(key, compute, fresh=lambda _: True, force=True) for _ in "ab"]
        first, second = (asyncio.ensure_future(waiter) for waiter in waiters)
        await wait_for(store, marker, present=True, within=10)
        first.cancel()
        await asyncio.sleep(1.0)
        assert await running(store, marker) and not second.done()
        second.cancel()
        await wait_for(store, marker, present=False, within=5)
        for waiter in (first, second):
            with pytest.raises(asyncio.CancelledError):
                await waiter
        assert cache.computations == 1
        await cache.close()

    spyglass.run(main())


class SlowApp:
    """A real uvicorn serving one route that runs a long query, behind CancelOnDisconnect."""

    def __init__(self, url: str):
        self.marker = f"m{uuid.uuid4().hex}"
        self.port = free_port()
        self.store = None

        async def slow(request):
            result = await self.store.query(LONG.replace("{marker}", self.marker))
            return JSONResponse({"sum": result.scalar()})

        @contextlib.asynccontextmanager
        async def lifespan(app):
            self.store = open_store(from_env({"CLICKHOUSE_URL": url}))
            yield
            await self.store.close()

        app = Starlette(routes=[Route("/api/slow", slow)], lifespan=lifespan,
                        middleware=[Middleware(CancelOnDisconnect)])  # fmt: skip
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.mark.server
def test_a_client_hanging_up_kills_its_query_on_the_server(clickhouse_server):
    def processes() -> int:
        rows = clickhouse_server.execute(
            "SELECT count() FROM system.processes WHERE query LIKE %(pattern)s",
            {"pattern": f"%{app.marker}%"},
        )
        return rows[0][0] - 1  # this statement holds the marker too (client-side binding)

    def until(predicate, within: float) -> float:
        started = time.monotonic()
        while not predicate():
            assert time.monotonic() - started < within, "timed out"
            time.sleep(0.05)
        return time.monotonic() - started

    with SlowApp(clickhouse_server.url()) as app:
        client = socket.create_connection(("127.0.0.1", app.port))
        client.sendall(b"GET /api/slow HTTP/1.1\r\nHost: test\r\n\r\n")
        until(lambda: processes() == 1, within=10)
        time.sleep(1.0)
        assert processes() == 1  # it runs while its client waits
        client.close()
        gone_after = until(lambda: processes() == 0, within=5)
    print(f"query gone {gone_after:.2f}s after the client hung up")


def test_chdb_queries_have_a_time_limit(spyglass):
    """Besides cancellation, every read is bounded: each handle carries max_execution_time."""
    store = spyglass.services.store

    async def main():
        limit = (await store.query("SELECT getSetting('max_execution_time')")).scalar()
        assert float(limit) == spyglass.settings.query_timeout_s > 0
        with pytest.raises(QueryTimeout):
            await store.query(LONG.replace("{marker}", "limited"),
                              settings={"max_execution_time": 1})  # fmt: skip

    spyglass.run(main())


def test_an_endpoint_error_leaves_the_middleware_as_itself():
    """The error handlers outside see the endpoint's own exception, not a task-group wrapper."""
    import httpx

    async def broken(request):
        raise KeyError("boom")

    app = Starlette(routes=[Route("/api/broken", broken)],
                    middleware=[Middleware(CancelOnDisconnect)])  # fmt: skip

    async def main():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.get("/api/broken")

    with pytest.raises(KeyError):
        asyncio.run(main())
