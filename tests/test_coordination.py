"""Two gateways sharing ClickHouse and a real redis-server: ids are never handed out twice, a
read-modify-write of one entity holds a lock the other gateway respects, and a key revoked
through one gateway soon stops working on the other."""

import asyncio
import uuid

import pytest

from gateway.coordination import LocalCoordination, RedisCoordination, open_coordination
from gateway.errors import AuthenticationError
from gateway.metadata import Metadata
from gateway.tenancy import Tenancy
from resolvers.insights import Insights


def gateways(spyglass, make) -> tuple[Metadata, Metadata]:
    """Two Metadata front ends, as two gateway processes hold, over the one store."""
    return tuple(Metadata(spyglass.services.store, spyglass.clock, make()) for _ in "ab")


def fresh_entity() -> str:
    return f"test_entity_{uuid.uuid4().hex[:12]}"  # its own counter, whatever else ran


def test_ids_are_unique_across_gateways_and_continue_after_the_log(spyglass, redis_url):
    async def main():
        a, b = gateways(spyglass, lambda: RedisCoordination(redis_url))
        entity = fresh_entity()
        await a.write(entity, 1, 41, 1, {}, activity="created")  # written before either started
        ids = await asyncio.gather(*[(a, b)[i % 2].next_id(entity) for i in range(40)])
        assert sorted(ids) == list(range(42, 82))
        # Redis lost its keys (a restart without persistence): re-seeded from the log.
        await a.write(entity, 1, 81, 1, {}, activity="created")
        await a.coordination._redis.delete(f"spyglass:id:{entity}")
        assert await b.next_id(entity) == 82
        await b.continue_ids_after(entity, 1000)
        assert await a.next_id(entity) == 1001
        # The same two front ends counting in-process would collide: why Redis is required.
        local_a, local_b = gateways(spyglass, LocalCoordination)
        assert await local_a.next_id(entity) == await local_b.next_id(entity)
        for metadata in (a, b):
            await metadata.close()

    spyglass.run(main())


def test_a_lock_held_by_one_gateway_makes_the_other_wait(spyglass, redis_url):
    async def main():
        a, b = gateways(spyglass, lambda: RedisCoordination(redis_url))
        events = []

        async def hold():
            async with a.lock("insight", 7):
                events.append("a in")
                await asyncio.sleep(0.3)
                events.append("a out")

        async def take():
            await asyncio.sleep(0.05)
            async with b.lock("insight", 7):
                events.append("b in")

        await asyncio.gather(hold(), take())
        assert events == ["a in", "a out", "b in"]
        async with b.lock("insight", 7):  # released: free again at once
            pass
        for metadata in (a, b):
            await metadata.close()

    spyglass.run(main())


def test_concurrent_patches_through_two_gateways_never_lose_a_field(spyglass, tenant, redis_url):
    project, user = tenant["id"], tenant["user"]["id"]
    patches = [{"name": "N"}, {"description": "D"}, {"tags": ["t"]}, {"favorited": True},
               {"derived_name": "DN"}, {"order": 3}]  # fmt: skip

    async def main():
        a, b = gateways(spyglass, lambda: RedisCoordination(redis_url))
        made = await Insights(a).create(project, user, {"name": "Before"})
        await asyncio.gather(*[Insights((a, b)[i % 2]).update(project, made["id"], user, patch)
                               for i, patch in enumerate(patches)])  # fmt: skip
        final = await Insights(b).get(project, made["id"])
        for metadata in (a, b):
            await metadata.close()
        return final

    final = spyglass.run(main())
    assert (final["name"], final["description"], final["tags"], final["favorited"],
            final["derived_name"], final["order"]) == ("N", "D", ["t"], True, "DN", 3)  # fmt: skip


def test_redis_cache_url_means_redis_coordination(redis_url):
    assert isinstance(open_coordination(""), LocalCoordination)
    assert isinstance(open_coordination(redis_url), RedisCoordination)


def test_a_key_revoked_through_one_gateway_stops_working_on_the_other(spyglass, tenant,
                                                                       redis_url):  # fmt: skip
    """Each gateway keeps the keys it read for a moment; a revocation elsewhere reaches it
    once that moment is over, never later."""

    async def main():
        a, b = gateways(spyglass, lambda: RedisCoordination(redis_url))
        secret = spyglass.services.tenancy.secret
        one, two = (Tenancy(m, spyglass.clock, secret, key_cache_seconds=0.2) for m in (a, b))
        # made by the test server itself, whose in-process id counter must hand out every id
        key, record = await spyglass.services.tenancy.create_key(tenant["user"]["id"], "shared")
        assert (await two.key_record(key))["id"] == record["id"]  # gateway two now holds it
        await one.revoke_key(record["id"])
        with pytest.raises(AuthenticationError):
            await one.key_record(key)
        await asyncio.sleep(0.3)
        with pytest.raises(AuthenticationError):
            await two.key_record(key)
        for metadata in (a, b):
            await metadata.close()

    spyglass.run(main())
