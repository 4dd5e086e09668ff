"""Funnels at scale, each beside two objective baselines on the same rows in the same run: the
floor (GROUP BY person with count()) and ClickHouse's built-in windowFunnel (which covers only
the simplest ordered semantics).

    python bench/funnels.py [--events 10000000]

Targets at 10M events: 3-step ordered 14-day funnel ≤ 1.5 s and ≤ 2× windowFunnel;
correlation of events ≤ 3 s and of person properties ≤ 4 s (the same 3-step funnel); server
peak memory < 2 GiB.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import InsightBench, Server, ratio, report, scale_from_args  # noqa: E402
from bench.data import data_dir, ensure  # noqa: E402

WHERE = "project_id = {project_id:UInt64} AND timestamp >= now() - INTERVAL 90 DAY"
FLOOR = f"SELECT person_id, count() FROM events WHERE {WHERE} GROUP BY person_id"
WINDOW_FUNNEL = f"""SELECT level, count() FROM (
  SELECT person_id, windowFunnel(1209600)(toDateTime(timestamp), event = '$pageview',
                                          event = 'signed_up', event = 'purchase') AS level
  FROM events WHERE {WHERE} GROUP BY person_id) GROUP BY level"""


def steps(*names: str) -> list[dict]:
    return [{"id": n, "type": "events", "order": i} for i, n in enumerate(names)]


def main() -> None:
    events = scale_from_args()
    info = ensure(events)
    with Server(data_dir(events) / "data") as server:
        bench = InsightBench(server, info)
        floor, window_funnel = bench.floor(FLOOR), bench.floor(WINDOW_FUNNEL)
        base = {"date_from": "-90d", "funnel_window_interval": 14,
                "funnel_window_interval_unit": "day"}  # fmt: skip
        three = steps("$pageview", "signed_up", "purchase")
        five = steps("$pageview", "signed_up", "feature_used", "insight_created", "purchase")
        cases = [
            ("3-step ordered, 14 days", {"events": three}, "<= 1.5 s, <= 2x windowFunnel"),
            ("5-step ordered", {"events": five}, ""),
            ("3-step strict", {"events": three, "funnel_order_type": "strict"}, ""),
            ("3-step unordered", {"events": three, "funnel_order_type": "unordered"}, ""),
            ("3-step, breakdown by $browser", {"events": three, "breakdown": "$browser",
                                               "breakdown_type": "event"}, ""),
            ("trends viz, 90 days", {"events": three, "funnel_viz_type": "trends"}, ""),
            ("time to convert", {"events": three, "funnel_viz_type": "time_to_convert"}, ""),
            ("correlation of events", {"events": three}, "<= 3 s", "funnel/correlation"),
            ("correlation of properties", {"events": three,
                                           "funnel_correlation_type": "properties",
                                           "funnel_correlation_names": ["plan", "signup_source"]},
             "<= 4 s", "funnel/correlation"),
        ]  # fmt: skip
        rows = []
        for name, body, target, *path in cases:
            ms = bench.insight(path[0] if path else "funnel", {**base, **body})
            rows.append({"case": name, "median_ms": ms, "floor_ms": floor,
                         "window_funnel_ms": window_funnel,
                         "x_window_funnel": ratio(ms, window_funnel),
                         "target": target})  # fmt: skip
        peak = round(server.peak_mib())
        for row in rows:
            row["server_peak_mib"] = peak
    report(f"funnels-{events}", rows)


if __name__ == "__main__":
    main()
