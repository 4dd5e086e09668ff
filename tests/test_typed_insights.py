"""Typed GraphQL filters and results for trends, stickiness and lifecycle: a typed filter computes
exactly what the same filter sent as PostHog's JSON computes (same numbers, same cache entry), the
typed series say what the JSON result says, and bad input is a clear error naming the field."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gateway.insight_inputs import (
    BreakdownInput,
    EntityInput,
    Interval,
    Math,
    TrendsFilterInput,
    posthog_filters,
)

SERIES = """label count data days labels aggregatedValue breakdownValue compare compareLabel
            action filter personsUrls persons"""
# GraphQL's braces would all need doubling in an f-string.
TYPED_AND_JSON = """query ($p: String!, $f: TrendsFilterInput!, $j: JSON!) {
  typed: trends(projectId: $p, filter: $f, refresh: true) {
    result filtersHash isCached series { SERIES } }
  json: trends(projectId: $p, filters: $j, refresh: true) { result filtersHash }
}""".replace("SERIES", SERIES)


@pytest.fixture
def with_events(spyglass, tenant):
    """Four people over four days: two browsers, an `amount` to sum, pages for paths, a `$signup`
    for formulas and funnels."""
    now = datetime.now(UTC)
    batch = [{"event": "$pageview" if i % 3 else "$signup", "distinct_id": f"u{i % 4}",
              "timestamp": (now - timedelta(days=i % 4, minutes=i)).isoformat(),
              "properties": {"$browser": "Chrome" if i % 2 else "Safari", "amount": i,
                             "$current_url": f"https://x.io/{i % 5}"}}
             for i in range(24)]  # fmt: skip
    r = httpx.post(f"{spyglass.url}/batch/", json={"api_key": tenant["token"], "batch": batch})
    assert r.status_code == 200
    return tenant


def gql(spyglass, tenant, query: str, variables: dict | None = None) -> dict:
    r = httpx.post(f"{spyglass.url}/graphql", json={"query": query, "variables": variables or {}},
                   headers={"Authorization": f"Bearer {tenant['key']}"}, timeout=60)  # fmt: skip
    return r.json()


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


# (typed filter as GraphQL variables, the same filter as PostHog's JSON)
CASES = [
    ({"events": [{"id": "$pageview"}], "dateFrom": "-7d"},
     {"events": [{"id": "$pageview"}], "date_from": "-7d"}),
    ({"events": [{"id": "$pageview", "math": "DAU"}], "dateFrom": "-7d", "interval": "DAY",
      "breakdown": "$browser", "breakdownType": "EVENT"},
     {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-7d", "interval": "day",
      "breakdown": "$browser", "breakdown_type": "event"}),
    ({"events": [{"id": "$pageview", "math": "SUM", "mathProperty": "amount", "order": 0},
                 {"id": "$signup", "order": 1, "customName": "Signups"}],
      "dateFrom": "-7d", "formula": "A / B", "compare": True},
     {"events": [{"id": "$pageview", "math": "sum", "math_property": "amount", "order": 0},
                 {"id": "$signup", "order": 1, "custom_name": "Signups"}],
      "date_from": "-7d", "formula": "A / B", "compare": True}),
    ({"events": [{"id": None, "math": "DAU"}], "dateFrom": "-7d", "display": "ActionsPie",
      "breakdowns": [{"property": "$browser", "type": "EVENT"}]},
     {"events": [{"id": None, "math": "dau"}], "date_from": "-7d", "display": "ActionsPie",
      "breakdowns": [{"property": "$browser", "type": "event"}]}),
    ({"events": [{"id": "$pageview", "properties": [{"key": "$browser", "value": "Chrome"}]}],
      "dateFrom": "-7d", "display": "ActionsLineGraphCumulative", "smoothingIntervals": 2},
     {"events": [{"id": "$pageview", "properties": [{"key": "$browser", "value": "Chrome"}]}],
      "date_from": "-7d", "display": "ActionsLineGraphCumulative", "smoothing_intervals": 2}),
]  # fmt: skip


@pytest.mark.parametrize("typed, as_json", CASES)
def test_a_typed_filter_computes_what_its_json_computes(spyglass, with_events, typed, as_json):
    body = gql(spyglass, with_events, TYPED_AND_JSON,
               {"p": str(with_events["id"]), "f": typed, "j": as_json})  # fmt: skip
    assert "errors" not in body, body
    typed_result, json_result = body["data"]["typed"], body["data"]["json"]
    assert typed_result["result"] == json_result["result"] and typed_result["result"]
    # Same normalised filter: the two share one cache entry.
    assert typed_result["filtersHash"] == json_result["filtersHash"]
    assert len(typed_result["series"]) == len(json_result["result"])
    for series, item in zip(typed_result["series"], json_result["result"], strict=True):
        for key, value in item.items():
            if camel(key) in series:
                assert series[camel(key)] == value, key
        assert {k for k, v in series.items() if v is not None} <= {camel(k) for k in item}


def test_the_numbers_are_the_events(spyglass, with_events):
    """Not only equal to the JSON path: the right numbers (16 pageviews, 8 signups)."""
    query = """query ($p: String!) { trends(projectId: $p, filter: {
        events: [{id: "$pageview"}, {id: "$signup", math: TOTAL}], dateFrom: "-7d",
        display: BoldNumber}) { series { label aggregatedValue } } }"""
    body = gql(spyglass, with_events, query, {"p": "@current"})  # as README's example
    assert body["data"]["trends"]["series"] == [
        {"label": "$pageview", "aggregatedValue": 16},
        {"label": "$signup", "aggregatedValue": 8},
    ]


def test_stickiness_and_lifecycle_are_typed_too(spyglass, with_events):
    query = """query ($p: String!, $j: JSON!) {
      sticky: stickiness(projectId: $p, filter: {events: [{id: "$pageview"}], dateFrom: "-7d"}) {
        result series { label count data days labels action personsUrls } }
      stickyJson: stickiness(projectId: $p, filters: $j) { result }
      life: lifecycle(projectId: $p, filter: {events: [{id: "$pageview"}], dateFrom: "-7d"}) {
        result series { label status count data days labels action personsUrls } }
    }"""
    variables = {"p": str(with_events["id"]),
                 "j": {"events": [{"id": "$pageview"}], "date_from": "-7d"}}  # fmt: skip
    body = gql(spyglass, with_events, query, variables)
    assert "errors" not in body, body
    data = body["data"]
    assert data["sticky"]["result"] == data["stickyJson"]["result"]
    (sticky,) = data["sticky"]["series"]
    assert sticky["count"] == 4 and sticky["days"][:2] == [1, 2]  # four people, each counted once
    assert [s["status"] for s in data["life"]["series"]] == [
        "new", "returning", "resurrecting", "dormant"]  # fmt: skip
    for series, item in zip(data["life"]["series"], data["life"]["result"], strict=True):
        assert series["data"] == item["data"] and series["label"] == item["label"]
        assert series["personsUrls"] == item["persons_urls"]


def errors_of(spyglass, tenant, query: str, variables: dict | None = None) -> list[dict]:
    body = gql(spyglass, tenant, query, {"p": str(tenant["id"]), **(variables or {})})
    assert body.get("data") in (None, {}) or all(v is None for v in body["data"].values()), body
    return body["errors"]


def test_exactly_one_of_filter_and_filters(spyglass, tenant):
    both = """query ($p: String!) { trends(projectId: $p, filters: {events: []},
              filter: {dateFrom: "-7d"}) { isCached } }"""
    neither = "query ($p: String!) { lifecycle(projectId: $p) { isCached } }"
    for query in (both, neither):
        (error,) = errors_of(spyglass, tenant, query)
        assert error["extensions"] == {"code": "invalid_input", "attr": "filter"}
        assert "exactly one of `filter`" in error["message"]


def test_a_bad_enum_names_its_field(spyglass, tenant):
    inline = """query ($p: String!) { trends(projectId: $p,
                filter: {events: [{id: "$pageview"}], interval: FORTNIGHT}) { isCached } }"""
    (error,) = errors_of(spyglass, tenant, inline)
    assert error["message"].startswith("filter.interval: Value 'FORTNIGHT' does not exist in "
                                        "'Interval' enum")  # fmt: skip
    assert error["extensions"] == {"code": "graphql_validation", "attr": "filter.interval"}
    nested = inline.replace('id: "$pageview"}', 'id: "$pageview"}, {id: "x", math: WEEKLY}')
    nested = nested.replace("FORTNIGHT", "WEEK")
    (error,) = errors_of(spyglass, tenant, nested)
    assert error["extensions"]["attr"] == "filter.events[1].math" and "'Math'" in error["message"]
    # Sent as variables (what clients do), the path to the field is named too.
    variables = """query ($p: String!, $f: TrendsFilterInput!) {
                   trends(projectId: $p, filter: $f) { isCached } }"""
    bad = {"f": {"events": [{"id": "$pageview", "math": "weekly"}]}}
    (error,) = errors_of(spyglass, tenant, variables, bad)
    assert ".events[0].math:" in error["message"] and "'Math'" in error["message"]


def test_the_engine_still_checks_a_typed_filter(spyglass, tenant):
    """The enums make a wrong name impossible; what only the engine knows stays its to say."""
    query = """query ($p: String!) { trends(projectId: $p,
               filter: {events: [{id: "$pageview", math: SUM}]}) { isCached } }"""
    (error,) = errors_of(spyglass, tenant, query)
    assert error["extensions"] == {"code": "invalid_input", "attr": "math_property"}


def test_posthog_filters_keeps_only_what_was_given():
    typed = TrendsFilterInput(
        events=[EntityInput(id=None, math=Math.DAU, math_property="amount")],
        interval=Interval.WEEK,
        breakdowns=[BreakdownInput(property="$browser", normalize_url=True)],
    )
    assert posthog_filters(typed) == {
        "events": [{"id": None, "math": "dau", "math_property": "amount"}],
        "interval": "week",
        "breakdowns": [{"property": "$browser", "normalize_url": True}],
    }


# (field, its input type, typed filter as variables, the same filter as PostHog's JSON)
OTHER_KINDS = [
    ("funnel", "FunnelsFilterInput",
     {"events": [{"id": "$pageview", "order": 0}, {"id": "$signup", "order": 1}],
      "dateFrom": "-7d", "funnelWindowInterval": 2, "funnelWindowIntervalUnit": "DAY",
      "funnelOrderType": "UNORDERED", "breakdown": "$browser", "breakdownType": "EVENT",
      "breakdownAttributionType": "FIRST_TOUCH"},
     {"events": [{"id": "$pageview", "order": 0}, {"id": "$signup", "order": 1}],
      "date_from": "-7d", "funnel_window_interval": 2, "funnel_window_interval_unit": "day",
      "funnel_order_type": "unordered", "breakdown": "$browser", "breakdown_type": "event",
      "breakdown_attribution_type": "first_touch"}),
    ("funnel", "FunnelsFilterInput",
     {"events": [{"id": "$signup", "order": 0}, {"id": "$signup", "order": 1}],
      "dateFrom": "-7d", "funnelVizType": "TIME_TO_CONVERT", "binCount": 3,
      "exclusions": [{"id": "$pageview", "funnelFromStep": 0, "funnelToStep": 1}]},
     {"events": [{"id": "$signup", "order": 0}, {"id": "$signup", "order": 1}],
      "date_from": "-7d", "funnel_viz_type": "time_to_convert", "bin_count": 3,
      "exclusions": [{"id": "$pageview", "funnel_from_step": 0, "funnel_to_step": 1}]}),
    ("retention", "RetentionFilterInput",
     {"targetEntity": {"id": "$signup", "type": "EVENTS"},
      "returningEntity": {"id": "$pageview", "type": "EVENTS"}, "period": "DAY",
      "totalIntervals": 4, "retentionType": "RETENTION_FIRST_TIME"},
     {"target_entity": {"id": "$signup", "type": "events"},
      "returning_entity": {"id": "$pageview", "type": "events"}, "period": "Day",
      "total_intervals": 4, "retention_type": "retention_first_time"}),
    ("paths", "PathsFilterInput",
     {"includeEventTypes": ["PAGEVIEW"], "dateFrom": "-7d", "stepLimit": 3,
      "excludeEvents": ["https://x.io/0"]},
     {"include_event_types": ["$pageview"], "date_from": "-7d", "step_limit": 3,
      "exclude_events": ["https://x.io/0"]}),
]  # fmt: skip


@pytest.mark.parametrize("field, input_type, typed, as_json", OTHER_KINDS)
def test_funnel_retention_and_paths_take_typed_filters(spyglass, with_events, field, input_type,
                                                       typed, as_json):  # fmt: skip
    query = f"""query ($p: String!, $f: {input_type}!, $j: JSON!) {{
      typed: {field}(projectId: $p, filter: $f, refresh: true) {{ result filtersHash }}
      json: {field}(projectId: $p, filters: $j, refresh: true) {{ result filtersHash }} }}"""
    body = gql(spyglass, with_events, query,
               {"p": str(with_events["id"]), "f": typed, "j": as_json})  # fmt: skip
    assert "errors" not in body, body
    typed_result, json_result = body["data"]["typed"], body["data"]["json"]
    assert typed_result == json_result and typed_result["result"]
