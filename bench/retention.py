"""Retention at scale, each case beside the floor (a GROUP BY person over the same rows)
measured in the same run.

    python bench/retention.py [--events 10000000]

Targets at 10M events: retention over 11 days ≤ 1.5 s; server peak memory < 2 GiB.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import run_beside_floor  # noqa: E402

PAGEVIEW = {"id": "$pageview", "type": "events"}
RETENTION = {"target_entity": PAGEVIEW, "returning_entity": PAGEVIEW}

CASES = [
    ("retention, 11 days", "retention",
     {**RETENTION, "period": "Day", "total_intervals": 11}, "<= 1.5 s"),
    ("retention, 8 weeks", "retention",
     {**RETENTION, "period": "Week", "total_intervals": 8}, ""),
    ("first-time retention, 11 days", "retention",
     {**RETENTION, "period": "Day", "total_intervals": 11,
      "retention_type": "retention_first_time"}, ""),
]  # fmt: skip

if __name__ == "__main__":
    run_beside_floor("retention", CASES)
