"""Id counters and per-entity locks for the metadata log: in-process for one gateway, in Redis
for several (DESIGN.md: with more than one gateway, Redis is required, as for the cache).

Two gateways each counting from their own copy of max(id) would hand out the same id twice,
and two read-modify-writes of one insight under two in-process locks would lose a field. With
Redis, every gateway takes ids from one INCR and holds one lock key per entity.

A counter is seeded from the log (`seed` gives the highest id written), so ids continue after
a restart — and after Redis loses its keys: a missing counter is re-seeded, never restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable

from gateway.errors import StoreUnavailable

Seed = Callable[[], Awaitable[int]]
LEASE_MS = 30_000  # a lock outlives any read-modify-write; a crashed holder frees it by then
WAIT_S = 30.0  # how long a writer waits for another gateway's lock before giving up (503)

# -1 when the counter is missing (never seeded, or Redis lost it): the caller seeds it.
_NEXT = """
if redis.call('exists', KEYS[1]) == 0 then return -1 end
return redis.call('incr', KEYS[1])
"""
# Raise the counter to at least ARGV[1]; never lower it (another gateway may be ahead).
_AT_LEAST = """
local current = tonumber(redis.call('get', KEYS[1]) or '-1')
if current < tonumber(ARGV[1]) then redis.call('set', KEYS[1], ARGV[1]) end
return 1
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class LocalCoordination:
    """One gateway: counters and locks in this process."""

    def __init__(self):
        self._last: dict[str, int] = {}
        self._id_lock = asyncio.Lock()
        self._locks: defaultdict[tuple, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def next_id(self, entity: str, seed: Seed) -> int:
        async with self._id_lock:
            if entity not in self._last:
                self._last[entity] = await seed()
            self._last[entity] += 1
            return self._last[entity]

    async def continue_after(self, entity: str, last_id: int, seed: Seed) -> None:
        async with self._id_lock:
            if entity not in self._last:
                self._last[entity] = await seed()
            self._last[entity] = max(self._last[entity], last_id)

    def lock(self, entity: str, entity_id: int) -> contextlib.AbstractAsyncContextManager:
        return self._locks[(entity, entity_id)]

    async def close(self) -> None:
        pass


class RedisCoordination:
    """Several gateways: counters and locks in Redis."""

    def __init__(self, url: str):
        import redis.asyncio

        self._redis = redis.asyncio.from_url(url)
        # Contenders in this process queue here first, so only one of them polls Redis.
        self._local = LocalCoordination()

    @staticmethod
    def _counter(entity: str) -> str:
        return f"spyglass:id:{entity}"

    async def next_id(self, entity: str, seed: Seed) -> int:
        key = self._counter(entity)
        value = int(await self._redis.eval(_NEXT, 1, key))
        if value == -1:
            await self._redis.eval(_AT_LEAST, 1, key, await seed())
            value = int(await self._redis.eval(_NEXT, 1, key))
        return value

    async def continue_after(self, entity: str, last_id: int, seed: Seed) -> None:
        await self._redis.eval(_AT_LEAST, 1, self._counter(entity), max(await seed(), last_id))

    @contextlib.asynccontextmanager
    async def lock(self, entity: str, entity_id: int) -> AsyncIterator[None]:
        key, token = f"spyglass:mlock:{entity}:{entity_id}", secrets.token_hex(8)
        async with self._local.lock(entity, entity_id):
            loop = asyncio.get_running_loop()
            deadline, pause = loop.time() + WAIT_S, 0.005
            while not await self._redis.set(key, token, nx=True, px=LEASE_MS):
                if loop.time() > deadline:
                    raise StoreUnavailable(f"{entity} {entity_id} is being changed elsewhere; "
                                           "try again")  # fmt: skip
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.05)
            try:
                yield
            finally:  # only our own lock: after a lease ran out it may be someone else's
                await self._redis.eval(_RELEASE, 1, key, token)

    async def close(self) -> None:
        await self._redis.aclose()


def open_coordination(cache_url: str) -> LocalCoordination | RedisCoordination:
    return RedisCoordination(cache_url) if cache_url.startswith("redis://") else LocalCoordination()
