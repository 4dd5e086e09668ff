"""Loading the demo product's events through the same pipeline HTTP capture uses."""

from __future__ import annotations

import asyncio
import sys
import time
from itertools import islice

from gateway.events import normalise, prepare
from gateway.services import Services
from gateway.writer import write_batch

CHUNK = 50_000


def progress_bar(done: int, total: int, started: float, stream=sys.stderr) -> None:
    if not stream.isatty():
        return
    width = 30
    filled = int(width * min(done, total) / max(total, 1))
    rate = done / max(time.perf_counter() - started, 1e-9)
    stream.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} ({rate:,.0f} events/s)"
    )
    stream.flush()


async def load_demo(
    services: Services, project_id: int, *, n_events: int, seed: int, company_domain: str
) -> dict:
    from gateway.demo import generate_messages

    now = services.clock.now()
    state = await services.identity.project(project_id)
    stream = generate_messages(seed=seed, n_events=n_events, now=now, company_domain=company_domain)
    started, stored, seen = time.perf_counter(), 0, 0
    # The insert of one chunk (in chDB's threads) overlaps preparing the next (in Python).
    writing: asyncio.Task | None = None
    while chunk := list(islice(stream, CHUNK)):
        messages = [normalise(raw, now=now, sent_at=None) for raw in chunk]
        batch = prepare(state, messages, now)
        if writing is not None:
            stored += await writing
        writing = asyncio.create_task(write_batch(services.store, batch))
        seen += len(chunk)
        progress_bar(seen, n_events, started)
    if writing is not None:
        stored += await writing
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    seconds = time.perf_counter() - started
    return {
        "events": stored,
        "seconds": round(seconds, 2),
        "events_per_second": round(stored / max(seconds, 1e-9)),
    }
