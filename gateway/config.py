"""Configuration read once from the environment into a frozen dataclass.

Everything else receives a `Settings` object; nothing reads `os.environ` on its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA_DIR = "./.spyglass/data"


@dataclass(frozen=True)
class Settings:
    # `chdb://PATH`, `clickhouse://user:pass@host:port/db`, or empty for chDB at data_dir.
    clickhouse_url: str = ""
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    cluster: str = ""  # CLICKHOUSE_CLUSTER: render ON CLUSTER / Distributed DDL
    cache_url: str = ""  # CACHE_URL: redis://... for a shared cache; memory otherwise
    query_timeout_s: float = 30.0  # max_execution_time for user-facing reads
    pool_size: int = 4  # chDB handles / driver connections
    max_body_bytes: int = 20 * 1024 * 1024  # PostHog's documented capture limit
    max_api_body_bytes: int = 1024 * 1024  # REST and GraphQL request bodies
    rate_limit_per_minute: int = 1200  # per personal API key (keys may carry their own)
    ingest_flush_ms: int = 20  # group-commit window for event writes
    ingest_max_batch: int = 20_000  # events per group-committed insert
    squash_every_s: float = 600.0  # write person merges into events (gateway/squash.py); 0: off
    secret_key: str = field(default="", repr=False)  # HMAC key for API-key hashes
    log_level: str = "info"

    @property
    def embedded(self) -> bool:
        return not self.clickhouse_url or self.clickhouse_url.startswith("chdb://")

    @property
    def chdb_path(self) -> Path:
        if self.clickhouse_url.startswith("chdb://"):
            return Path(self.clickhouse_url.removeprefix("chdb://"))
        return self.data_dir


def from_env(env: dict[str, str] | None = None, **overrides) -> Settings:
    env = dict(os.environ if env is None else env)
    values = dict(
        clickhouse_url=env.get("CLICKHOUSE_URL", ""),
        data_dir=Path(env.get("SPYGLASS_DATA", DEFAULT_DATA_DIR)),
        cluster=env.get("CLICKHOUSE_CLUSTER", ""),
        cache_url=env.get("CACHE_URL", ""),
        query_timeout_s=float(env.get("SPYGLASS_QUERY_TIMEOUT", "30")),
        pool_size=int(env.get("SPYGLASS_POOL_SIZE", "4")),
        secret_key=env.get("SPYGLASS_SECRET_KEY", ""),
        log_level=env.get("SPYGLASS_LOG_LEVEL", "info"),
        rate_limit_per_minute=int(env.get("SPYGLASS_RATE_LIMIT", "1200")),
        squash_every_s=float(env.get("SPYGLASS_SQUASH_EVERY", "600")),
    )
    values.update(overrides)
    return Settings(**values)
