"""Paths at scale, each case beside the floor (a GROUP BY person over the same rows) measured
in the same run.

    python bench/paths.py [--events 10000000]

Targets at 10M events: paths over pageviews with step_limit 5 ≤ 3 s; server peak memory
< 2 GiB. Funnel paths join the cases when the engine serves them (issue 7).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import run_beside_floor  # noqa: E402

PATHS = {"include_event_types": ["$pageview"], "date_from": "-90d", "step_limit": 5}

CASES = [
    ("paths, pageviews, step_limit 5", "path", PATHS, "<= 3 s"),
    ("paths with a start point", "path", {**PATHS, "start_point": "/"}, ""),
    ("paths with an end point", "path", {**PATHS, "end_point": "/pricing"}, ""),
    ("paths with cleaning rules", "path",
     {**PATHS, "path_replacements": True,
      "local_path_cleaning_filters": [{"regex": "/[0-9]+", "alias": "/<id>"}]}, ""),
]  # fmt: skip

if __name__ == "__main__":
    run_beside_floor("paths", CASES)
