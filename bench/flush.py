"""What one group-commit insert costs, by its size: `write_batch` on a fresh embedded store.

    python bench/flush.py [--sizes 100,400,800,1600,3200] [--rounds 40]

The /batch/ figures depend on how busy the machine is; these depend much less on it. The
process's CPU time (chDB's threads included, its background merges too) per flush and per
event is measured beside the median wall time of a flush. Every distinct id is known before
the timed flushes (live traffic: no person rows to write) except in the `new ids` case, where
30% of the events come from people never seen before (persons and distinct-id rows too).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import report  # noqa: E402
from bench.ingest import fake_event  # noqa: E402
from gateway.events import Batch, normalise, prepare  # noqa: E402
from gateway.identity import ProjectIdentity  # noqa: E402
from gateway.migrations import migrate  # noqa: E402
from gateway.store_chdb import ChdbStore  # noqa: E402
from gateway.writer import write_batch  # noqa: E402

KNOWN_PEOPLE = 50_000  # fake_event's distinct ids: user-0 … user-49999


class Batches:
    """Prepared batches of live traffic for one project, as capture would hand them over."""

    def __init__(self, seed: int = 1):
        self.rng = random.Random(seed)
        self.identity = ProjectIdentity(1)
        self.start = datetime.now(UTC) - timedelta(minutes=10)
        self.next_person = KNOWN_PEOPLE
        self.make(KNOWN_PEOPLE, new_share=0.0, everyone=True)

    def make(self, size: int, new_share: float, everyone: bool = False) -> Batch:
        now = datetime.now(UTC)
        messages = []
        for i in range(size):
            raw = fake_event(self.rng, self.start, 600)
            if everyone:
                raw["distinct_id"] = f"user-{i}"
            elif self.rng.random() < new_share:
                raw["distinct_id"] = f"user-{self.next_person}"
                self.next_person += 1
            messages.append(normalise(raw, now=now, sent_at=None))
        return prepare(self.identity, messages, now)


async def measure(size: int, rounds: int, new_share: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        store = ChdbStore(Path(tmp) / "data")
        try:
            await migrate(store, "")
            batches = Batches()
            for _ in range(5):  # warm: handles, caches, first parts
                await write_batch(store, batches.make(size, new_share))
            timed = [batches.make(size, new_share) for _ in range(rounds)]
            walls = []
            cpu = time.process_time()
            for batch in timed:
                began = time.perf_counter()
                await write_batch(store, batch)
                walls.append(time.perf_counter() - began)
            cpu = time.process_time() - cpu
        finally:
            await store.close()
    case = f"{size}-event flush" + (f", {new_share:.0%} new ids" if new_share else "")
    return {"case": case, "flushes": rounds,
            "median_ms_per_flush": round(statistics.median(walls) * 1000, 1),
            "cpu_ms_per_flush": round(cpu / rounds * 1000, 1),
            "cpu_us_per_event": round(cpu / (rounds * size) * 1e6, 1)}  # fmt: skip


def flush_costs(sizes: list[int], rounds: int) -> list[dict]:
    rows = [asyncio.run(measure(size, rounds, 0.0)) for size in sizes]
    rows.append(asyncio.run(measure(800, rounds, 0.3)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,400,800,1600,3200")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    report("ingest-flush", flush_costs([int(s) for s in args.sizes.split(",")], args.rounds))


if __name__ == "__main__":
    main()
