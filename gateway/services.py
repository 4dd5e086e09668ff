"""Everything a running Spyglass holds, built from Settings in one place (no globals).

The HTTP app's lifespan and the in-process CLI both open one of these and close it.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from gateway.cache import ResultCache
from gateway.clock import Clock
from gateway.config import Settings
from gateway.coordination import open_coordination
from gateway.identity import IdentityCache
from gateway.metadata import Metadata
from gateway.migrations import migrate
from gateway.ratelimit import RateLimiter
from gateway.store import Store, open_store
from gateway.tenancy import Tenancy
from gateway.writer import GroupCommitWriter


def load_secret(settings: Settings) -> bytes:
    """SPYGLASS_SECRET_KEY, or (embedded) a random key kept in the data directory."""
    if settings.secret_key:
        return settings.secret_key.encode()
    if not settings.embedded:
        raise RuntimeError("SPYGLASS_SECRET_KEY must be set when using a ClickHouse server")
    path = Path(settings.chdb_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


@dataclass
class Services:
    settings: Settings
    store: Store
    clock: Clock
    metadata: Metadata
    tenancy: Tenancy
    identity: IdentityCache
    writer: GroupCommitWriter
    cache: ResultCache
    rate_limiter: RateLimiter

    @classmethod
    async def open(
        cls, settings: Settings, *, clock: Clock | None = None, store: Store | None = None
    ) -> Services:
        store = store or open_store(settings)
        clock = clock or Clock()
        await migrate(store, settings.cluster)
        metadata = Metadata(store, clock, open_coordination(settings.cache_url))
        tenancy = Tenancy(metadata, clock, load_secret(settings))
        identity = IdentityCache(store)
        writer = GroupCommitWriter(
            store,
            flush_ms=settings.ingest_flush_ms,
            max_events=settings.ingest_max_batch,
            on_failure=lambda batch: identity.forget({row[0] for row in batch.events}),
        )
        writer.start()
        cache = ResultCache(settings.cache_url)
        limiter = RateLimiter(settings.rate_limit_per_minute)
        return cls(settings, store, clock, metadata, tenancy, identity, writer, cache, limiter)

    async def close(self, *, close_store: bool = True) -> None:
        await self.writer.stop()
        await self.cache.close()
        await self.metadata.close()
        if close_store:
            await self.store.close()
