"""The result cache: hits, refresh, invalidation by data version, and single-flight — in
memory and on a real redis-server shared by two cache instances (two gateways)."""

import asyncio

import pytest

from gateway.cache import LEASE_S, ResultCache


def run(coro):
    return asyncio.run(coro)


def counting_computation(spyglass, project_id: int, calls: list):
    """A real computation: an events count from ClickHouse, slow enough to overlap."""

    async def compute():
        calls.append(1)
        await asyncio.sleep(0.2)
        count = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
            spyglass.services.store.query(
                "SELECT count() FROM events WHERE project_id = {p:UInt64}", {"p": project_id}),
            spyglass.loop))  # fmt: skip
        return {"result": count.scalar(), "last_refresh": "2026-01-01T00:00:00+00:00"}

    return compute


@pytest.fixture(params=["memory", "redis"])
def caches(request):
    """Two cache instances sharing one backend, as two gateways would."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    first, second = ResultCache(url), ResultCache(url)
    if not url:
        second = first  # a memory cache is per process: one gateway
    return first, second


def test_hit_miss_refresh_and_tenant_separation(spyglass, tenant, caches):
    cache, _ = caches
    calls: list = []
    compute = counting_computation(spyglass, tenant["id"], calls)

    async def scenario():
        key = await cache.key(tenant["id"], "TRENDS", "cache_abc")
        other = await cache.key(tenant["id"] + 10_000, "TRENDS", "cache_abc")
        first = await cache.result(key, compute, fresh=lambda p: True, force=False)
        again = await cache.result(key, compute, fresh=lambda p: True, force=False)
        stale = await cache.result(key, compute, fresh=lambda p: False, force=False)
        forced = await cache.result(key, compute, fresh=lambda p: True, force=True)
        elsewhere = await cache.result(other, compute, fresh=lambda p: True, force=False,
                                       cache_only=True)  # fmt: skip
        await cache.close()
        return first, again, stale, forced, elsewhere

    first, again, stale, forced, elsewhere = run(scenario())
    assert (first.is_cached, again.is_cached, stale.is_cached, forced.is_cached) == (
        False, True, False, False)  # fmt: skip
    assert again.payload == first.payload and len(calls) == 3
    assert elsewhere is None  # another project's key never sees this entry


def test_a_bulk_import_of_past_data_invalidates_the_project(spyglass, tenant, caches):
    cache, _ = caches
    calls: list = []
    compute = counting_computation(spyglass, tenant["id"], calls)

    async def scenario():
        before = await cache.key(tenant["id"], "TRENDS", "cache_x")
        await cache.result(before, compute, fresh=lambda p: True, force=False)
        await cache.bump_data_version(tenant["id"])
        after = await cache.key(tenant["id"], "TRENDS", "cache_x")
        entry = await cache.result(after, compute, fresh=lambda p: True, force=False)
        await cache.close()
        return before, after, entry

    before, after, entry = run(scenario())
    assert before != after and entry.is_cached is False and len(calls) == 2


def test_identical_concurrent_requests_compute_once(spyglass, tenant, caches):
    first, second = caches
    calls: list = []
    compute = counting_computation(spyglass, tenant["id"], calls)

    async def scenario():
        key = await first.key(tenant["id"], "FUNNELS", "cache_same")
        entries = await asyncio.gather(*[
            (first if i % 2 else second).result(key, compute, fresh=lambda p: True, force=False)
            for i in range(10)
        ])  # fmt: skip
        await first.close()
        if second is not first:
            await second.close()
        return entries

    entries = run(scenario())
    assert len(calls) == 1
    assert len({str(e.payload) for e in entries}) == 1


def test_a_waiting_gateway_wakes_when_the_result_lands_not_when_the_lease_ends(redis_url):
    """Gateway two asks while gateway one computes (0.3 s): it gets one's result as soon as
    it is stored, far inside the lock's lease (LEASE_S), and computes nothing itself."""
    calls: list = []

    async def slow():
        calls.append(1)
        await asyncio.sleep(0.3)
        return {"result": 7, "last_refresh": "2026-01-01T00:00:00+00:00"}

    async def scenario():
        one, two = ResultCache(redis_url), ResultCache(redis_url)
        key = await one.key(987_654, "TRENDS", f"cache_wake_{id(calls)}")
        loop = asyncio.get_running_loop()
        first = asyncio.ensure_future(one.result(key, slow, fresh=lambda p: True, force=True))
        await asyncio.sleep(0.05)  # one holds the lock now
        started = loop.time()
        waited = await two.result(key, slow, fresh=lambda p: False, force=True)
        elapsed = loop.time() - started
        await first
        await one.close()
        await two.close()
        return waited, elapsed

    waited, elapsed = run(scenario())
    assert waited.payload["result"] == 7 and len(calls) == 1
    assert elapsed < LEASE_S / 10, elapsed
