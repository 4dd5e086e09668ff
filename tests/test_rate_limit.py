"""Per-key rate limits: over the limit is a 429 naming it, with Retry-After."""

import httpx


def test_a_key_over_its_limit_gets_429_and_others_do_not(spyglass, tenant):
    async def limited_key():
        key, _ = await spyglass.services.tenancy.create_key(tenant["user"]["id"], "slow",
                                                            rate_limit_per_minute=5)  # fmt: skip
        return key

    slow = spyglass.run(limited_key())
    url = f"{spyglass.url}/api/projects/{tenant['id']}/insights/"
    statuses = [httpx.get(url, headers={"Authorization": f"Bearer {slow}"}).status_code
                for _ in range(7)]  # fmt: skip
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    r = httpx.get(url, headers={"Authorization": f"Bearer {slow}"})
    assert r.json()["code"] == "throttled" and "5 requests per minute" in r.json()["detail"]
    assert int(r.headers["Retry-After"]) >= 1
    assert httpx.get(url, headers={"Authorization": f"Bearer {tenant['key']}"}).status_code == 200
