"""Computing an insight: normalise the filter, find the engine, answer from the cache or run it.

The envelope is PostHog's: `result`, `last_refresh`, `is_cached`, `timezone` (plus the
`filters_hash` the result is cached under). Engines are plain async functions
`(store, project, filters, *, now, actions) -> result`, found by insight kind.
"""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta

from gateway.cache import ResultCache
from gateway.errors import SpyglassError, ValidationError
from resolvers.dates import bucket_start, zone
from resolvers.filters import filters_hash, normalise

# insight kind → (module, function). A kind whose engine is not built answers 501.
ENGINES = {
    "TRENDS": ("resolvers.trends", "compute_trends"),
    "STICKINESS": ("resolvers.trends", "compute_trends"),
    "LIFECYCLE": ("resolvers.trends", "compute_trends"),
    "FUNNELS": ("resolvers.funnels", "compute_funnel"),
    "RETENTION": ("resolvers.retention", "compute_retention"),
    "PATHS": ("resolvers.paths", "compute_paths"),
    # not a saved insight kind: a funnel filter read another way, cached apart from the funnel
    "FUNNEL_CORRELATION": ("resolvers.funnel_correlation", "compute_correlation"),
}
# How long a result stays fresh, by interval (PostHog refreshes hourly insights more often).
FRESH_FOR = {"hour": timedelta(minutes=10), "day": timedelta(minutes=30),
             "week": timedelta(hours=6), "month": timedelta(hours=12)}  # fmt: skip
REFRESH_MODES = {"blocking", "force_blocking", "force_cache", "async", "lazy_async",
                 "force_async"}  # fmt: skip


class EngineUnavailable(SpyglassError):
    status = 501
    type = "server_error"
    code = "not_implemented"


def refresh_mode(value) -> str:
    """PostHog's `refresh`: legacy true / "" / JSON true force a recompute; named modes too."""
    if value is None or value is False:
        return "blocking"
    if value is True or (isinstance(value, str) and value.lower() in ("", "true", "1")):
        return "force_blocking"
    if isinstance(value, str) and value.lower() in ("false", "0"):
        return "blocking"
    if isinstance(value, str) and value in REFRESH_MODES:
        return {"async": "blocking", "lazy_async": "blocking",
                "force_async": "force_blocking"}.get(value, value)  # fmt: skip
    raise ValidationError(f"refresh must be true, false or one of {sorted(REFRESH_MODES)}",
                          attr="refresh")  # fmt: skip


def engine(kind: str):
    module_name, function = ENGINES[kind]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise EngineUnavailable(f"{kind.lower()} insights are not available yet") from None
    return getattr(module, function)


def is_fresh(payload: dict, filters: dict, project: dict, now: datetime) -> bool:
    """Fresh inside its window, unless the range end has moved into a new bucket since."""
    refreshed = datetime.fromisoformat(payload["last_refresh"])
    interval = str(filters.get("interval") or "day").lower()
    if interval not in FRESH_FOR:
        interval = "day"
    if now - refreshed > FRESH_FOR[interval]:
        return False
    if filters.get("date_to"):  # a fixed end: a new bucket of "now" does not matter
        return True
    tz = zone(project.get("timezone") or "UTC")
    week = int(project.get("week_start_day") or 0)
    return bucket_start(now.astimezone(tz), interval, week) == bucket_start(
        refreshed.astimezone(tz), interval, week)  # fmt: skip


async def compute(
    services,
    cache: ResultCache,
    project: dict,
    raw_filters: dict,
    *,
    kind: str | None = None,
    refresh=None,
    actions: dict | None = None,
    cohorts: dict | None = None,
    variant: str | None = None,
) -> dict:
    """`variant` names an engine other than the kind's own (FUNNEL_CORRELATION over a funnel
    filter); the result is cached under it."""
    filters = normalise(raw_filters, kind)
    mode = refresh_mode(refresh)
    key_hash = filters_hash(filters, project["id"])
    now = services.clock.now()
    computes = variant or filters["insight"]
    run = engine(computes)

    async def calculate() -> dict:
        result = await run(services.store, project, filters, now=now, actions=actions or {},
                           cohorts=cohorts or {})  # fmt: skip
        return {"result": result, "last_refresh": now.isoformat()}

    key = await cache.key(project["id"], computes, key_hash)
    entry = await cache.result(
        key, calculate, fresh=lambda payload: is_fresh(payload, filters, project, now),
        force=mode == "force_blocking", cache_only=mode == "force_cache",
    )  # fmt: skip
    payload = entry.payload if entry else {"result": None, "last_refresh": None}
    return {
        "result": payload["result"], "last_refresh": payload["last_refresh"],
        "is_cached": bool(entry and entry.is_cached), "timezone": project.get("timezone", "UTC"),
        "filters_hash": key_hash, "filters": filters,
    }  # fmt: skip
