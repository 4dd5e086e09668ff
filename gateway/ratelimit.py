"""Requests per minute per API key: a token bucket each, refilled continuously.

In-process, so with several gateways each enforces its share (a Redis bucket would make it
global; not built yet). Over the limit: 429 with Retry-After, naming the limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway.errors import SpyglassError

DEFAULT_PER_MINUTE = 1200


class RateLimited(SpyglassError):
    status = 429
    type = "throttled_error"
    code = "throttled"

    def __init__(self, detail: str, retry_after: float):
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass
class RateLimiter:
    default_per_minute: int = DEFAULT_PER_MINUTE
    _buckets: dict = field(default_factory=dict)  # key id → (tokens, last refill time)

    def check(self, key_id: int, per_minute: int | None = None) -> None:
        limit = per_minute or self.default_per_minute
        now = time.monotonic()
        tokens, last = self._buckets.get(key_id, (float(limit), now))
        tokens = min(float(limit), tokens + (now - last) * limit / 60.0)
        if tokens < 1.0:
            wait = (1.0 - tokens) * 60.0 / limit
            self._buckets[key_id] = (tokens, now)
            raise RateLimited(f"Request was throttled: limit is {limit} requests per minute "
                              f"for this key. Retry in {wait:.1f}s.", retry_after=wait)  # fmt: skip
        self._buckets[key_id] = (tokens - 1.0, now)
