"""Trends, stickiness and lifecycle at scale, each beside the floor (a bare count() by day over
the same rows) measured in the same run.

    python bench/trends.py [--events 10000000]      (make bench; CI smoke-runs 100,000)

Targets at 10M events (2 cores, chDB): total daily ≤ 150 ms and ≤ 1.5× floor; dau ≤ 400 ms;
weekly_active ≤ 1.5 s; breakdown by an event property top 10 ≤ 400 ms; by a person property
≤ 1 s; formula over 2 series ≤ 1.2× the two series alone; stickiness ≤ 1 s; lifecycle ≤ 2 s;
server peak memory < 2 GiB.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import InsightBench, Server, ratio, report, scale_from_args  # noqa: E402
from bench.data import data_dir, ensure  # noqa: E402

FLOOR = """SELECT toStartOfDay(timestamp) AS day, count() FROM events
WHERE project_id = {project_id:UInt64} AND timestamp >= now() - INTERVAL 90 DAY
GROUP BY day ORDER BY day"""
PAGEVIEW = {"id": "$pageview", "type": "events", "order": 0}
RANGE = {"date_from": "-90d", "interval": "day"}


def main() -> None:
    events = scale_from_args()
    info = ensure(events)
    with tempfile.TemporaryDirectory(), Server(data_dir(events) / "data") as server:
        bench = InsightBench(server, info)
        floor = bench.floor(FLOOR)
        rows = []

        def case(name: str, body: dict, target: str, path: str = "trend") -> float:
            ms = bench.insight(path, {**RANGE, **body})
            rows.append({"case": name, "median_ms": ms, "floor_ms": floor,
                         "x_floor": ratio(ms, floor),
                         "target": target})  # fmt: skip
            return ms

        case("total count, daily", {"events": [PAGEVIEW]}, "<= 150 ms, <= 1.5x floor")
        case("dau", {"events": [{**PAGEVIEW, "math": "dau"}]}, "<= 400 ms")
        case("weekly_active", {"events": [{**PAGEVIEW, "math": "weekly_active"}]}, "<= 1.5 s")
        case("breakdown by $browser, top 10", {"events": [PAGEVIEW], "breakdown": "$browser",
             "breakdown_limit": 10}, "<= 400 ms")  # fmt: skip
        case("breakdown by person plan", {"events": [PAGEVIEW], "breakdown": "plan",
             "breakdown_type": "person"}, "<= 1 s")  # fmt: skip
        two = [PAGEVIEW, {"id": "signed_up", "type": "events", "order": 1}]
        alone = case("two series alone", {"events": two}, "baseline for formula")
        formula = case(
            "formula A/B over 2 series",
            {"events": two, "formula": "A / B"},
            "<= 1.2x two series alone",
        )
        rows[-1]["x_two_series"] = ratio(formula, alone)
        case("stickiness", {"events": [PAGEVIEW], "insight": "STICKINESS",
             "shown_as": "Stickiness"}, "<= 1 s")  # fmt: skip
        case("lifecycle", {"events": [PAGEVIEW], "insight": "LIFECYCLE",
             "shown_as": "Lifecycle"}, "<= 2 s")  # fmt: skip
        peak = round(server.peak_mib())
        for row in rows:
            row["server_peak_mib"] = peak
    report(f"trends-{events}", rows)


if __name__ == "__main__":
    main()
