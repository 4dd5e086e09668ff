"""The funnel engine's two ways to an actor's attempts agree (resolvers/funnels.py).

Ordered and unordered funnels without a breakdown read per-step columns
(sql/funnels/per_actor_steps.sql); with a breakdown they read the actor's per-event arrays
(per_actor_events.sql). A breakdown on a property no event has puts every actor in one series,
so both must count the same people at every step — here with the cases the oracle suites
keep away from: steps one event can satisfy together ("All events" beside named events,
repeated steps), heavy timestamp ties, and an exclusion.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from resolvers.funnels import compute_funnel

NOW = datetime(2024, 6, 1, tzinfo=UTC)
STEP_LISTS = [
    ["a", None, "b"],
    ["a", "a", "b"],
    [None, "a", "a"],
    ["b", "a", None, "b"],
    ["a", "b"],
]


def _log(seed: int) -> list[dict]:
    rng = random.Random(seed)
    start = NOW - timedelta(days=6)
    out = []
    for _ in range(400):
        minute = rng.randrange(0, 6 * 24 * 60, 30)  # coarse times: many ties
        out.append({"event": rng.choice("aabcx"), "distinct_id": f"p{rng.randrange(40)}",
                    "timestamp": (start + timedelta(minutes=minute)).isoformat()})  # fmt: skip
    return out


@pytest.fixture(scope="module")
def tenant(spyglass):
    tenant = spyglass.new_project()
    spyglass.capture(tenant, _log(7))
    return tenant


def _counts(result, broken_down: bool) -> list[int]:
    series = result if broken_down else [result]
    return [sum(steps[k]["count"] for steps in series) for k in range(len(series[0]))]


@pytest.mark.parametrize("order", ["ordered", "unordered"])
@pytest.mark.parametrize("steps", STEP_LISTS, ids=lambda s: "-".join(str(x) for x in s))
@pytest.mark.parametrize("excluded", [False, True])
def test_per_step_columns_count_as_per_event_arrays(spyglass, tenant, order, steps, excluded):
    events = [{"id": e, "type": "events", "order": i} for i, e in enumerate(steps)]
    filters = {"insight": "FUNNELS", "funnel_order_type": order, "date_from": "-7d",
               "funnel_window_interval": 1, "funnel_window_interval_unit": "day",
               "events": events}  # fmt: skip
    if excluded:
        filters["exclusions"] = [{"id": "x", "type": "events", "funnel_from_step": 0,
                                  "funnel_to_step": len(steps) - 1}]  # fmt: skip
    project = {"id": tenant["id"], "timezone": "UTC"}

    def run(f):
        return spyglass.run(compute_funnel(spyglass.services.store, project, f, now=NOW,
                                           actions={}))  # fmt: skip

    plain = _counts(run(filters), False)
    broken = _counts(run({**filters, "breakdown": "nobody_has_this",
                          "breakdown_type": "event"}), True)  # fmt: skip
    assert plain == broken
    assert plain[0] > 0
