"""Paths at scale, each case beside the floor (a GROUP BY person over the same rows) measured
in the same run.

    python bench/paths.py [--events 10000000]

Targets at 10M events: paths over pageviews with step_limit 5 ≤ 3 s; server peak memory
< 2 GiB. Funnel paths (B7) run the 14-day $pageview → signed_up funnel first: after step 1
(nearly every visitor's paths from their first pageview: the heaviest funnel path) and before
the dropoff at step 2 (visitors who never signed up, up to the window's end).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import run_beside_floor  # noqa: E402

PATHS = {"include_event_types": ["$pageview"], "date_from": "-90d", "step_limit": 5}
FUNNEL = {"events": [{"id": "$pageview", "type": "events", "order": 0},
                     {"id": "signed_up", "type": "events", "order": 1}],
          "date_from": "-90d", "funnel_window_interval": 14,
          "funnel_window_interval_unit": "day"}  # fmt: skip

CASES = [
    ("paths, pageviews, step_limit 5", "path", PATHS, "<= 3 s"),
    ("paths with a start point", "path", {**PATHS, "start_point": "/"}, ""),
    ("paths with an end point", "path", {**PATHS, "end_point": "/pricing"}, ""),
    ("paths with cleaning rules", "path",
     {**PATHS, "path_replacements": True,
      "local_path_cleaning_filters": [{"regex": "/[0-9]+", "alias": "/<id>"}]}, ""),
    ("funnel paths after step 1", "path",
     {**PATHS, "funnel_paths": "funnel_path_after_step", "funnel_step": 1,
      "funnel_filter": FUNNEL}, ""),
    ("funnel paths before the dropoff at step 2", "path",
     {**PATHS, "funnel_paths": "funnel_path_before_step", "funnel_step": -2,
      "funnel_filter": FUNNEL}, ""),
]  # fmt: skip

if __name__ == "__main__":
    run_beside_floor("paths", CASES)
