"""Ingestion throughput: /batch/ with concurrent senders, and `spyglass import` of JSON lines.

    python bench/ingest.py [--events 400000] [--senders 8] [--batch 100] [--import-rows 1000000]
                           [--flush-rounds 40]

Targets (2 cores, chDB): /batch/ ≥ 30,000 events/s with 100-event batches and 8 senders;
import of a 1M-row JSON-lines file ≥ 300,000 events/s. Prints JSON and a table, including the
server's peak resident memory (VmHWM), its CPU time per event and the load average at the start
of each case (other jobs share the machine), then what one group-commit insert costs by its size
(bench/flush.py). The senders run in this process, on the same 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import Server, report  # noqa: E402

EVENTS = ["$pageview", "signed_up", "feature_used", "purchase", "$autocapture"]


class Usage:
    """Wall time, and the server's CPU time, of what runs inside the `with`. CPU per event is
    the figure least moved by other jobs on the machine (they take cores, not our work)."""

    def __init__(self, server: Server):
        self.server = server

    def __enter__(self) -> Usage:
        self.load = os.getloadavg()[0]
        self.cpu = self.server.cpu_seconds()
        self.began = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.began
        self.cpu = self.server.cpu_seconds() - self.cpu

    def figures(self, events: int) -> dict:
        return {"events": events, "seconds": round(self.seconds, 2),
                "events_per_s": round(events / self.seconds),
                "server_cpu_us_per_event": round(self.cpu / events * 1e6, 1),
                "load_avg_1m": round(self.load, 1)}  # fmt: skip


def fake_event(rng: random.Random, start: datetime, spread_s: int = 90 * 86400) -> dict:
    return {
        "event": rng.choice(EVENTS),
        "distinct_id": f"user-{rng.randrange(50_000)}",
        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "timestamp": (start + timedelta(seconds=rng.randrange(spread_s))).isoformat(),
        "properties": {"$current_url": f"https://app.example.com/p/{rng.randrange(200)}",
                       "$browser": rng.choice(["Chrome", "Firefox", "Safari"]),
                       "$session_id": f"s{rng.randrange(10**6)}", "plan": "free"},
    }  # fmt: skip


async def batch_throughput(
    server: Server,
    token: str,
    events: int,
    senders: int,
    batch_size: int,
    spread_days: int,
    seed: int = 1,
) -> dict:
    """Live traffic has timestamps of the last minutes (spread_days=0); a backfill through
    /batch/ spreads them over months, so each insert touches several partitions."""
    rng = random.Random(seed)  # a run per seed: new uuids, not retries of the last run's
    spread = max(spread_days * 86400, 600)
    start = datetime.now(UTC) - timedelta(seconds=spread)
    bodies = [
        json.dumps({"api_key": token,
                    "batch": [fake_event(rng, start, spread) for _ in range(batch_size)]}).encode()
        for _ in range(events // batch_size)
    ]  # fmt: skip
    queue = list(reversed(bodies))

    async def sender(client: httpx.AsyncClient):
        while queue:
            body = queue.pop()
            r = await client.post(
                server.url + "/batch/", content=body, headers={"Content-Type": "application/json"}
            )
            r.raise_for_status()

    limits = httpx.Limits(max_connections=senders)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        with Usage(server) as usage:
            await asyncio.gather(*(sender(client) for _ in range(senders)))
    when = f"over {spread_days} days" if spread_days else "live (last 10 min)"
    return {"case": f"/batch/ {senders} senders x {batch_size}-event batches, {when}",
            **usage.figures(len(bodies) * batch_size), "target": ">= 30000",
            "server_peak_mib": round(server.peak_mib())}  # fmt: skip


def import_throughput(server: Server, project_id: int, rows: int) -> dict:
    rng = random.Random(100)  # not a seed the /batch/ cases use: no duplicates
    start = datetime.now(UTC) - timedelta(days=90)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        with path.open("w") as f:
            for _ in range(rows):
                f.write(json.dumps(fake_event(rng, start)) + "\n")
        with Usage(server) as usage:
            summary = server.cli("import", str(path), "--project", str(project_id))
    return {"case": f"spyglass import {rows:,}-row JSON lines",
            **usage.figures(summary["stored"]), "target": ">= 300000",
            "server_peak_mib": round(server.peak_mib())}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--import-rows", type=int, default=1_000_000)
    parser.add_argument("--flush-rounds", type=int, default=40, help="0 skips bench/flush.py")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data, Server(Path(data) / "data") as server:
        project = server.cli("projects", "create", "bench")
        rows = [
            asyncio.run(batch_throughput(server, project["api_token"], args.events,
                                         args.senders, args.batch, spread_days, seed))
            for seed, spread_days in enumerate((0, 90), start=1)
        ]  # fmt: skip
        rows.append(import_throughput(server, project["id"], args.import_rows))
    report("ingest", rows)
    if args.flush_rounds:  # after the server has stopped: the machine is ours again
        from bench.flush import flush_costs

        report("ingest-flush", flush_costs([100, 400, 800, 1600, 3200], args.flush_rounds))


if __name__ == "__main__":
    main()
