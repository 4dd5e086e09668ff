"""One injectable clock for "now": relative dates, cache staleness, created_at, ingestion.

Tests set it; a server started with --dev-clock also honours an X-Spyglass-Now header
(per request, through `Clock.override`).
"""

from __future__ import annotations

import contextvars
from datetime import UTC, datetime

_request_now: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "spyglass_request_now", default=None
)


class Clock:
    def __init__(self, fixed: datetime | None = None):
        self._fixed = fixed

    def now(self) -> datetime:
        override = _request_now.get()
        if override is not None:
            return override
        return self._fixed if self._fixed is not None else datetime.now(UTC)

    def set(self, fixed: datetime | None) -> None:
        self._fixed = fixed

    @staticmethod
    def override(value: datetime | None) -> contextvars.Token:
        return _request_now.set(value)

    @staticmethod
    def reset(token: contextvars.Token) -> None:
        _request_now.reset(token)
