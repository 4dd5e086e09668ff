"""sampling_factor on trends: the engine reads the share of distinct ids that ClickHouse's own
`SAMPLE` reads (the table's sampling key is a hash of the distinct id) and scales counts back.

The events are written straight into the table by ClickHouse (`numbers()`), 150,000 of them
over 7 days from 30,000 distinct ids, so that a 10% sample holds enough ids per day for its
scaled totals to be close to the exact ones."""

from datetime import UTC, datetime

import httpx
import pytest

from resolvers.trends import compute_trends

NOW = datetime(2026, 3, 8, 12, tzinfo=UTC)
DAYS, IDS, EVENTS = 7, 30_000, 150_000


@pytest.fixture(scope="module")
def sampled(spyglass):
    tenant = spyglass.new_project()
    spyglass.query(
        """
        INSERT INTO events (project_id, uuid, event, distinct_id, person_id, timestamp,
                            properties, created_at)
        SELECT {project_id:UInt64}, generateUUIDv4(number), '$pageview',
               concat('id-', toString(number % {ids:UInt64})),
               reinterpretAsUUID(sipHash128(toString(number % {ids:UInt64}))),
               toDateTime64('2026-03-01 00:00:00', 6, 'UTC') + toIntervalSecond(
                   (number * 7919) % ({days:UInt64} * 86400)),
               concat('{"n":', toString(number % 5), '}'), now64(6)
        FROM numbers({events:UInt64})
        """,
        {"project_id": tenant["id"], "ids": IDS, "days": DAYS, "events": EVENTS},
    )
    return tenant


def _trend(**extra) -> dict:
    filters = {"insight": "TRENDS", "events": [{"id": "$pageview", "type": "events", **extra}],
               "date_from": "2026-03-01", "date_to": "2026-03-07", "interval": "day"}  # fmt: skip
    return filters


def _data(spyglass, tenant, filters) -> list[float]:
    """The daily figures of the insight's one series."""
    result = spyglass.run(compute_trends(spyglass.services.store, tenant["project"], filters,
                                         now=NOW, actions={}, cohorts={}))  # fmt: skip
    return result[0]["data"]


def test_sampled_counts_are_what_clickhouse_sample_reads_scaled_back(spyglass, sampled):
    scaled = _data(spyglass, sampled, {**_trend(), "sampling_factor": 0.1})
    sampled_by_clickhouse = spyglass.query(
        "SELECT toDate(timestamp) AS day, count() FROM events SAMPLE 1/10 "
        "WHERE project_id = {p:UInt64} GROUP BY day ORDER BY day",
        {"p": sampled["id"]},
    ).rows
    assert len(sampled_by_clickhouse) == DAYS
    assert [round(v * 0.1, 6) for v in scaled] == [c for _, c in sampled_by_clickhouse]


def test_scaled_daily_totals_stay_within_ten_percent_at_factor_one_tenth(spyglass, sampled):
    exact = _data(spyglass, sampled, _trend())
    scaled = _data(spyglass, sampled, {**_trend(), "sampling_factor": "0.1"})
    assert sum(exact) == EVENTS
    deviations = [abs(s - e) / e for s, e in zip(scaled, exact, strict=True)]
    print("daily deviation at sampling_factor 0.1:", [f"{d:.1%}" for d in deviations])
    assert max(deviations) <= 0.10
    assert 0 < sum(scaled) != sum(exact)  # a sample, not the whole


def test_averages_are_not_scaled_and_uniques_are(spyglass, sampled):
    average = _trend(math="avg", math_property="n")
    exact_avg = _data(spyglass, sampled, average)
    avg = _data(spyglass, sampled, {**average, "sampling_factor": 0.1})
    assert all(1.8 <= a <= 2.2 for a in avg)  # n is 0..4: a mean near 2, never ten times it
    assert all(abs(a - e) < 0.2 for a, e in zip(avg, exact_avg, strict=True))
    exact_dau = _data(spyglass, sampled, _trend(math="dau"))
    dau = _data(spyglass, sampled, {**_trend(math="dau"), "sampling_factor": 0.1})
    for s, e in zip(dau, exact_dau, strict=True):
        assert abs(s - e) / e <= 0.10


@pytest.mark.parametrize(
    ("value", "insight", "message"),
    [
        ("x", "TRENDS", "sampling_factor must be a number"),
        (1.5, "TRENDS", "sampling_factor must be in (0, 1]"),
        (-0.1, "TRENDS", "sampling_factor must be in (0, 1]"),
        (0.1, "STICKINESS", "sampling_factor applies to trends only"),
        (0.1, "LIFECYCLE", "sampling_factor applies to trends only"),
    ],
)
def test_bad_sampling_factor_is_a_400_naming_it(spyglass, tenant, value, insight, message):
    body = {"insight": insight, "events": [{"id": "$pageview", "type": "events"}],
            "sampling_factor": value}  # fmt: skip
    if insight == "LIFECYCLE":
        body["shown_as"] = "Lifecycle"
    r = httpx.post(f"{spyglass.url}/api/projects/{tenant['id']}/insights/trend/", json=body,
                   headers={"Authorization": f"Bearer {tenant['key']}"})  # fmt: skip
    assert r.status_code == 400, r.text
    assert r.json()["attr"] == "sampling_factor"
    assert message in r.json()["detail"]
