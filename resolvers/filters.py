"""One filter model for every insight: the three input forms PostHog clients use (GET query
strings with JSON-encoded lists, POST bodies, saved `filters`) → one normalised dict.

Defaults are filled in one place, so equal filters serialise equally and hash equally
(`filters_hash`, cache keys).
"""

from __future__ import annotations

import hashlib
import json

from gateway.errors import ValidationError

KINDS = ("TRENDS", "STICKINESS", "LIFECYCLE", "FUNNELS", "RETENTION", "PATHS")
# Keys whose values arrive JSON-encoded in query strings.
JSON_KEYS = {
    "events", "actions", "properties", "exclusions", "breakdown", "breakdowns",
    "target_entity", "returning_entity", "path_groupings", "exclude_events",
    "include_event_types", "local_path_cleaning_filters", "funnel_filter",
    "funnel_correlation_names", "funnel_correlation_exclude_names",
    "funnel_correlation_exclude_event_names", "funnel_correlation_event_names",
    "funnel_correlation_event_exclude_property_names", "breakdown_values", "hidden_legend_keys",
}  # fmt: skip
BOOLEAN_KEYS = {"compare", "filter_test_accounts", "explicit_date", "breakdown_normalize_url",
                "path_replacements", "breakdown_hide_other_aggregation"}  # fmt: skip
# Display-only or request-plumbing keys that never change a result.
IGNORED = {"refresh", "format", "personal_api_key", "client_query_id", "from_dashboard",
           "aggregation_axis_format", "aggregation_axis_prefix", "aggregation_axis_postfix",
           "show_legend", "decimal_places", "show_values_on_series", "hidden_legend_keys",
           "show_percent_stack_view", "y_axis_scale_type",
           "show_alert_threshold_lines"}  # fmt: skip
DEFAULTS = {
    "TRENDS": {"interval": "day", "display": "ActionsLineGraph", "date_from": "-7d"},
    "STICKINESS": {"interval": "day", "date_from": "-7d", "shown_as": "Stickiness"},
    "LIFECYCLE": {"interval": "day", "date_from": "-7d", "shown_as": "Lifecycle"},
    "FUNNELS": {"funnel_viz_type": "steps", "funnel_order_type": "ordered", "date_from": "-7d",
                "interval": "day"},
    "RETENTION": {"period": "Day", "total_intervals": 11, "retention_type": "retention_recurring"},
    "PATHS": {"step_limit": 5, "date_from": "-7d"},
}  # fmt: skip


def json_value(value, attr: str):
    """A JSON-valued param as sent: query strings carry it JSON-encoded, bodies as is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ValidationError(f"{attr} must be JSON", attr=attr) from None
    return value


def _decode(key: str, value):
    if key == "breakdown" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value  # a bare property name
    if key in JSON_KEYS:
        return json_value(value, key)
    if key in BOOLEAN_KEYS and isinstance(value, str):
        lowered = value.lower()
        if lowered not in ("true", "false", "1", "0", ""):
            raise ValidationError(f"{key} must be true or false", attr=key)
        return lowered in ("true", "1")
    return value


def normalise(raw: dict, kind: str | None = None) -> dict:
    """Any accepted form → the normalised filter (kind in `insight`, defaults filled)."""
    if not isinstance(raw, dict):
        raise ValidationError("filters must be an object", attr="filters")
    values = {k: _decode(k, v) for k, v in raw.items() if k not in IGNORED}
    chosen = str(kind or values.get("insight") or "TRENDS").upper()
    if values.get("shown_as") in ("Stickiness", "Lifecycle") and chosen == "TRENDS":
        chosen = str(values["shown_as"]).upper()
    if chosen not in KINDS:
        raise ValidationError(f"insight must be one of {', '.join(KINDS)}", attr="insight")
    out = {**DEFAULTS[chosen], **{k: v for k, v in values.items() if v is not None}}
    out["insight"] = chosen
    for key in ("events", "actions"):
        if key in out and not isinstance(out[key], list):
            raise ValidationError(f"{key} must be a list", attr=key)
    return out


def filters_hash(filters: dict, project_id: int) -> str:
    """`cache_` + md5 of the normalised filter and the project (PostHog's legacy shape)."""
    text = json.dumps(filters, sort_keys=True, separators=(",", ":"), default=str)
    return "cache_" + hashlib.md5(f"{text}_{project_id}".encode()).hexdigest()
