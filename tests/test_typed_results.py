"""Typed GraphQL results for funnels, funnel correlation, retention and paths: each typed field
says what the JSON `result` beside it says (and only the field that fits the result's shape is
set), with the numbers the events make."""

import pytest

from tests.test_funnel_correlation import journey
from tests.test_funnels_oracle import TWO, ingest
from tests.test_typed_insights import camel, gql

STEP = """actionId name customName order count type averageConversionTime
          medianConversionTime convertedPeopleUrl droppedPeopleUrl breakdownValue"""
FUNNEL = f"""result steps {{ {STEP} }} breakdowns {{ breakdownValue steps {{ {STEP} }} }}
             trends {{ count data days labels reachedFromStepCount reachedToStepCount
                       breakdownValue }}
             timeToConvert {{ bins {{ seconds count }} averageConversionTime }}"""
MAY = {"dateFrom": "2021-05-01", "dateTo": "2021-05-31"}
STEPS = [{"id": "signup", "order": 0}, {"id": "pay", "order": 1}]


@pytest.fixture
def converting(spyglass, tenant):
    """Three converters (two saw `docs`; s1 on Chrome), two failures (both saw `help`)."""
    ingest(spyglass, tenant, [
        *journey("s1", ["docs"], True, {"$browser": "Chrome"}),
        *journey("s2", ["docs", "help"], True),
        *journey("s3", [], True), *journey("f1", ["help"], False),
        *journey("f2", ["help"], False),
    ])  # fmt: skip
    return tenant


def same_as_json(typed: dict, item: dict) -> None:
    """Every typed field the JSON item has holds the item's value; the rest are null."""
    for key, value in typed.items():
        json_key = next((k for k in item if camel(k) == key), None)
        assert value == (item[json_key] if json_key else None), key


def funnel(spyglass, tenant, typed: dict) -> dict:
    query = f"""query ($p: String!, $f: FunnelsFilterInput!) {{
      funnel(projectId: $p, filter: $f) {{ {FUNNEL} }} }}"""
    body = gql(spyglass, tenant, query, {"p": str(tenant["id"]), "f": typed})
    assert "errors" not in body, body
    return body["data"]["funnel"]


def test_funnel_steps(spyglass, converting):
    answer = funnel(spyglass, converting, {"events": STEPS, **MAY})
    assert [s["count"] for s in answer["steps"]] == [5, 3]
    assert [s["actionId"] for s in answer["steps"]] == ["signup", "pay"]
    assert answer["steps"][1]["averageConversionTime"] > 0
    for typed, item in zip(answer["steps"], answer["result"], strict=True):
        same_as_json(typed, item)
    assert answer["breakdowns"] is answer["trends"] is answer["timeToConvert"] is None


def test_funnel_breakdown_steps(spyglass, converting):
    answer = funnel(spyglass, converting, {"events": STEPS, **MAY, "breakdown": "$browser",
                                           "breakdownType": "EVENT"})  # fmt: skip
    by_value = {b["breakdownValue"]: [s["count"] for s in b["steps"]]
                for b in answer["breakdowns"]}  # fmt: skip
    assert by_value == {"Chrome": [1, 1], "": [4, 2]}
    for group, steps in zip(answer["breakdowns"], answer["result"], strict=True):
        for typed, item in zip(group["steps"], steps, strict=True):
            same_as_json(typed, item)
    assert answer["steps"] is answer["trends"] is answer["timeToConvert"] is None


def test_funnel_trends_and_time_to_convert(spyglass, converting):
    trends = funnel(spyglass, converting, {"events": STEPS, **MAY, "funnelVizType": "TRENDS"})
    (row,) = trends["trends"]
    same_as_json(row, trends["result"][0])
    assert sum(row["reachedFromStepCount"]) == 5 and sum(row["reachedToStepCount"]) == 3
    assert trends["steps"] is trends["breakdowns"] is trends["timeToConvert"] is None

    timing = funnel(spyglass, converting, {"events": STEPS, **MAY,
                                           "funnelVizType": "TIME_TO_CONVERT"})  # fmt: skip
    bins = timing["timeToConvert"]["bins"]
    assert [[b["seconds"], b["count"]] for b in bins] == timing["result"]["bins"]
    assert sum(b["count"] for b in bins) == 3  # the three converters
    average = timing["timeToConvert"]["averageConversionTime"]
    assert (
        average == timing["result"]["average_conversion_time"] == (120 + 180 + 60) / 3
    )  # minutes 2, 3 and 1
    assert timing["steps"] is timing["breakdowns"] is timing["trends"] is None


def test_funnel_correlation_takes_a_typed_filter_and_answers_typed_rows(spyglass, converting):
    query = """query ($p: String!, $f: FunnelCorrelationFilterInput!, $j: JSON!) {
      typed: funnelCorrelation(projectId: $p, filter: $f) {
        result filtersHash skewed events { event { event properties elements } successCount
          failureCount oddsRatio correlationType successPeopleUrl failurePeopleUrl } }
      json: funnelCorrelation(projectId: $p, filters: $j) { result filtersHash } }"""
    typed = {"events": STEPS, **MAY, "funnelCorrelationType": "EVENTS"}
    as_json = {**TWO, "funnel_correlation_type": "events"}
    body = gql(spyglass, converting, query,
               {"p": str(converting["id"]), "f": typed, "j": as_json})  # fmt: skip
    assert "errors" not in body, body
    answer, json_answer = body["data"]["typed"], body["data"]["json"]
    assert answer["result"] == json_answer["result"]
    assert answer["filtersHash"] == json_answer["filtersHash"]  # one cache entry
    assert answer["skewed"] is False
    rows = {r["event"]["event"]: r for r in answer["events"]}
    assert (rows["docs"]["successCount"], rows["docs"]["failureCount"]) == (2, 0)
    assert rows["docs"]["oddsRatio"] == 4.5 and rows["docs"]["correlationType"] == "success"
    assert rows["help"]["correlationType"] == "failure"
    for typed_row, item in zip(answer["events"], answer["result"]["events"], strict=True):
        assert typed_row["event"] == item["event"]
        same_as_json({k: v for k, v in typed_row.items() if k != "event"}, item)


def test_retention_rows(spyglass, tenant):
    # a: May 1, 2 and 4; b: May 2 and 3 (recurring retention over four days)
    ingest(spyglass, tenant, [(who, f"2021-05-0{day}T12:00:00+00:00", "$pageview", None)
                              for who, days in (("a", (1, 2, 4)), ("b", (2, 3)))
                              for day in days])  # fmt: skip
    query = """query ($p: String!) { retention(projectId: $p, filter: {
        targetEntity: {id: "$pageview", type: EVENTS}, period: DAY, totalIntervals: 4,
        dateTo: "2021-05-04"}) {
      result rows { label date breakdownValues peopleUrl values { count peopleUrl } } } }"""
    body = gql(spyglass, tenant, query, {"p": str(tenant["id"])})
    assert "errors" not in body, body
    answer = body["data"]["retention"]
    assert [r["label"] for r in answer["rows"]] == ["Day 0", "Day 1", "Day 2", "Day 3"]
    assert [r["date"][:10] for r in answer["rows"]] == [
        "2021-05-01", "2021-05-02", "2021-05-03", "2021-05-04"]  # fmt: skip
    assert [[v["count"] for v in r["values"]] for r in answer["rows"]] == [
        [1, 1, 0, 1], [2, 1, 1], [1, 0], [1]]  # fmt: skip
    for typed, item in zip(answer["rows"], answer["result"], strict=True):
        same_as_json({k: v for k, v in typed.items() if k != "values"}, item)
        for cell, value in zip(typed["values"], item["values"], strict=True):
            same_as_json(cell, value)


def test_paths_edges(spyglass, tenant):
    walks = {"a": ["/home", "/pricing", "/signup"], "b": ["/home", "/pricing"],
             "c": ["/home", "/docs"]}  # fmt: skip
    ingest(spyglass, tenant, [
        (who, f"2021-05-01T12:0{i}:00+00:00", "$pageview", {"$current_url": page})
        for who, pages in walks.items() for i, page in enumerate(pages)])  # fmt: skip
    query = """query ($p: String!) { paths(projectId: $p, filter: {
        includeEventTypes: [PAGEVIEW], dateFrom: "2021-05-01", dateTo: "2021-05-02"}) {
      result edges { source target value averageConversionTime } } }"""
    body = gql(spyglass, tenant, query, {"p": str(tenant["id"])})
    assert "errors" not in body, body
    answer = body["data"]["paths"]
    # each step a minute after the one before: 60,000 ms
    assert sorted((e["source"], e["target"], e["value"], e["averageConversionTime"])
                  for e in answer["edges"]) == [
        ("1_/home", "2_/docs", 1, 60_000), ("1_/home", "2_/pricing", 2, 60_000),
        ("2_/pricing", "3_/signup", 1, 60_000)]  # fmt: skip
    for typed, item in zip(answer["edges"], answer["result"], strict=True):
        same_as_json(typed, item)
