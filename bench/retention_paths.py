"""Retention and paths at scale, each beside the floor (a GROUP BY person over the same rows)
measured in the same run.

    python bench/retention_paths.py [--events 10000000]

Targets at 10M events: retention over 11 days ≤ 1.5 s; paths over pageviews with step_limit 5
≤ 3 s; server peak memory < 2 GiB.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import InsightBench, Server, ratio, report, scale_from_args  # noqa: E402
from bench.data import data_dir, ensure  # noqa: E402

FLOOR = """SELECT person_id, count() FROM events
WHERE project_id = {project_id:UInt64} AND timestamp >= now() - INTERVAL 90 DAY
GROUP BY person_id FORMAT Null"""
PAGEVIEW = {"id": "$pageview", "type": "events"}


def main() -> None:
    events = scale_from_args()
    info = ensure(events)
    with Server(data_dir(events) / "data") as server:
        bench = InsightBench(server, info)
        floor = bench.floor(FLOOR.replace(" FORMAT Null", ""))
        rows = []

        def case(name: str, path: str, body: dict, target: str) -> None:
            ms = bench.insight(path, body)
            rows.append({"case": name, "median_ms": ms, "floor_ms": floor,
                         "x_floor": ratio(ms, floor),
                         "target": target})  # fmt: skip

        retention = {"target_entity": PAGEVIEW, "returning_entity": PAGEVIEW}
        case(
            "retention, 11 days",
            "retention",
            {**retention, "period": "Day", "total_intervals": 11},
            "<= 1.5 s",
        )
        case(
            "retention, 8 weeks",
            "retention",
            {**retention, "period": "Week", "total_intervals": 8},
            "",
        )
        case("first-time retention, 11 days", "retention",
             {**retention, "period": "Day", "total_intervals": 11,
              "retention_type": "retention_first_time"}, "")  # fmt: skip
        paths = {"include_event_types": ["$pageview"], "date_from": "-90d", "step_limit": 5}
        case("paths, pageviews, step_limit 5", "path", paths, "<= 3 s")
        case("paths with a start point", "path", {**paths, "start_point": "/"}, "")
        case("paths with an end point", "path", {**paths, "end_point": "/pricing"}, "")
        case("paths with cleaning rules", "path",
             {**paths, "path_replacements": True, "local_path_cleaning_filters": [
                 {"regex": "/[0-9]+", "alias": "/<id>"}]}, "")  # fmt: skip
        peak = round(server.peak_mib())
        for row in rows:
            row["server_peak_mib"] = peak
    report(f"retention-paths-{events}", rows)


if __name__ == "__main__":
    main()
