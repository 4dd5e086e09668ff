"""Insight results, cached: aiocache in memory, or Redis when several gateways share it.

Keys hold the project, the project's data version (bumped when past data is imported, so a
backfill invalidates every entry of that project at once, with no key scans) and the
normalised filter hash: two filters that differ only in key order share an entry, and two
tenants never can. Identical concurrent requests run one computation: waiters in this process
share a future; with Redis, other gateways wait on a lock and wake on a notification when
the result lands, not when a lease runs out.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from aiocache import RedisCache, SimpleMemoryCache
from aiocache.serializers import JsonSerializer

LEASE_S = 60.0  # a computation's lock lease: longer than the query time limit


@dataclass(frozen=True)
class Entry:
    payload: dict
    is_cached: bool


@dataclass
class _Flight:
    """One computation in progress, shared by every identical request that waits for it."""

    task: asyncio.Future
    waiters: int = 0


class ResultCache:
    def __init__(self, cache_url: str = ""):
        self.url = cache_url
        self._inflight: dict[str, _Flight] = {}
        self._redis = None
        if cache_url.startswith("redis://"):
            parts = urlparse(cache_url)
            db = int((parts.path or "/0").lstrip("/") or 0)
            self.cache = RedisCache(endpoint=parts.hostname or "127.0.0.1", port=parts.port or 6379,
                                    db=db, password=parts.password, namespace="spyglass",
                                    serializer=JsonSerializer())  # fmt: skip
            import redis.asyncio

            self._redis = redis.asyncio.from_url(cache_url)
        else:
            self.cache = SimpleMemoryCache(namespace="spyglass", serializer=JsonSerializer())
        self.computations = 0  # how many results were computed (a metric; tests read it)

    async def close(self) -> None:
        await self.cache.close()
        if self._redis is not None:
            await self._redis.aclose()

    async def data_version(self, project_id: int) -> int:
        return int(await self.cache.get(f"dv:{project_id}") or 0)

    async def bump_data_version(self, project_id: int) -> None:
        """Past data changed (bulk import): every cached result of the project is stale."""
        if self._redis is not None:
            await self.cache.increment(f"dv:{project_id}")
        else:
            await self.cache.set(f"dv:{project_id}", await self.data_version(project_id) + 1)

    async def key(self, project_id: int, kind: str, filters_hash: str) -> str:
        return f"r1:{project_id}:{await self.data_version(project_id)}:{kind}:{filters_hash}"

    async def get(self, key: str) -> dict | None:
        return await self.cache.get(key)

    async def result(self, key: str, compute: Callable[[], Awaitable[dict]], *,
                     fresh: Callable[[dict], bool], force: bool,
                     cache_only: bool = False) -> Entry | None:  # fmt: skip
        """The cached payload when fresh (unless `force`), else one shared computation."""
        if not force:
            cached = await self.cache.get(key)
            if cached is not None and (cache_only or fresh(cached)):
                return Entry(cached, True)
            if cache_only:
                return None
        flight = self._inflight.get(key)
        if flight is None:
            flight = _Flight(asyncio.ensure_future(self._compute_once(key, compute)))
            self._inflight[key] = flight
            flight.task.add_done_callback(lambda _: self._land(key, flight))
        flight.waiters += 1
        try:
            return Entry(await asyncio.shield(flight.task), False)
        finally:
            flight.waiters -= 1
            # The last waiter gone (its client disconnected): stop the query, which the Store
            # kills in ClickHouse. While anyone still waits, the computation runs on.
            if flight.waiters == 0 and not flight.task.done():
                flight.task.cancel()

    def _land(self, key: str, flight: _Flight) -> None:
        if self._inflight.get(key) is flight:
            del self._inflight[key]
        if not flight.task.cancelled():
            flight.task.exception()  # retrieved: every waiter got it from the task

    async def _compute_once(self, key: str, compute) -> dict:
        if self._redis is None:
            return await self._compute_and_store(key, compute)
        # Across gateways: one holds the lock and computes; the others wait for its notice.
        token = secrets.token_hex(8)
        lock, channel = f"spyglass:lock:{key}", f"spyglass:done:{key}"
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(channel)
        try:
            while True:
                if await self._redis.set(lock, token, nx=True, px=int(LEASE_S * 1000)):
                    try:
                        payload = await self._compute_and_store(key, compute)
                        await self._redis.publish(channel, "1")
                        return payload
                    finally:
                        await self._redis.eval(
                            "if redis.call('get', KEYS[1]) == ARGV[1] then "
                            "return redis.call('del', KEYS[1]) end return 0",
                            1,
                            lock,
                            token,
                        )
                # Someone else computes: wake on their notice (or when the lock goes away).
                await self._wait(pubsub, lock)
                stored = await self.cache.get(key)
                if stored is not None:  # computed while we waited: fresh even for a refresh
                    return stored
        finally:
            await pubsub.unsubscribe(channel)
            await pubsub.aclose()

    async def _wait(self, pubsub, lock: str) -> None:
        deadline = asyncio.get_running_loop().time() + LEASE_S
        while asyncio.get_running_loop().time() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if message is not None or not await self._redis.exists(lock):
                return

    async def _compute_and_store(self, key: str, compute) -> dict:
        self.computations += 1
        payload = await compute()
        payload = json.loads(json.dumps(payload, default=str))  # what the cache will hand back
        await self.cache.set(key, payload, ttl=7 * 24 * 3600)
        return payload
