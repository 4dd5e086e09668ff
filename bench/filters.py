"""Filters at scale: a trends count with (a) an event property filter, (b) a person property
filter, (c) a dynamic behavioural cohort filter, each beside the same query with no filter.

    python bench/filters.py [--events 10000000]

Targets at 10M events: (a) ≤ 2×, (b) ≤ 4×, (c) ≤ 6× the unfiltered query.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import InsightBench, Server, ratio, report, scale_from_args  # noqa: E402
from bench.data import data_dir, ensure  # noqa: E402

PAGEVIEWS = {"events": [{"id": "$pageview", "type": "events"}], "date_from": "-90d"}


def main() -> None:
    events = scale_from_args()
    info = ensure(events)
    with Server(data_dir(events) / "data") as server:
        bench = InsightBench(server, info)
        cohort = bench.client.post(
            f"/api/projects/{info['project_id']}/cohorts/",
            json={
                "name": "bench: bought in the last 30 days",
                "filters": {
                    "properties": {
                        "type": "AND",
                        "values": [
                            {
                                "type": "behavioral",
                                "value": "performed_event",
                                "key": "purchase",
                                "event_type": "events",
                                "time_value": 30,
                                "time_interval": "day",
                            }
                        ],
                    }
                },
            },
        )
        cohort.raise_for_status()
        plain = bench.insight("trend", PAGEVIEWS)
        cases = [
            ("(a) event property $browser = Chrome", "<= 2x",
             [{"key": "$browser", "value": "Chrome", "type": "event"}]),
            ("(b) person property plan = pro", "<= 4x",
             [{"key": "plan", "value": "pro", "type": "person"}]),
            ("(c) behavioural cohort (bought in 30 days)", "<= 6x",
             [{"key": "id", "value": cohort.json()["id"], "type": "cohort"}]),
        ]  # fmt: skip
        rows = []
        for name, target, properties in cases:
            ms = bench.insight("trend", {**PAGEVIEWS, "properties": properties})
            rows.append({"case": name, "median_ms": ms, "unfiltered_ms": plain,
                         "x_unfiltered": ratio(ms, plain), "target": target})  # fmt: skip
        peak = round(server.peak_mib())
        for row in rows:
            row["server_peak_mib"] = peak
    report(f"filters-{events}", rows)


if __name__ == "__main__":
    main()
