"""Property filters → a SQL boolean over one events row, with every value bound.

The one place filter SQL is written, shared by every insight. A property is read as PostHog's
SQL reads it: a value is *set* unless missing or JSON null, and compares as its text (strings
unquoted, numbers and booleans as written); a missing value compares as ''. Each operator is
`cond(is_set, text)`, so person and group filters reuse it on folded values, and the missing
case is the same expression on constants.

Values, patterns and dates are parameters. Event property keys are the one exception: a
JSON subcolumn is named, not computed — `getSubcolumn(properties, {key})` with a bound key
makes ClickHouse read the whole JSON column (6x the bytes of `properties.`key``, measured in
bench/README.md), and an `Identifier` parameter cannot name a JSON path. So keys pass through
`event_property`, which writes every byte outside [A-Za-z0-9_$] as a `\\xHH` escape inside
backquotes: no quote, backslash or backquote of the key ever reaches the SQL text raw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sql
from gateway.errors import ValidationError
from resolvers.properties import Property, PropertyGroup

_GROUP_KEY = re.compile(r"^\$group_([0-4])$")
_NEGATIVE = frozenset({"is_not", "not_in", "not_icontains", "not_regex", "not_between"})
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UTC_TIME = "DateTime64(6, 'UTC')"


def _template(name: str) -> str:
    return sql.load(f"filters/{name}")


@dataclass
class Params:
    """Bound parameters for one query: each value gets a fresh `{pN:Type}` placeholder."""

    values: dict = field(default_factory=dict)

    def bind(self, value, ch_type: str) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"{{{name}:{ch_type}}}"

    def next_alias(self) -> int:
        """A number for query-wide SQL aliases, unique within this query."""
        self.aliases = getattr(self, "aliases", 0) + 1
        return self.aliases

    def name(self, value) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return name


@dataclass(frozen=True)
class Context:
    """What a filter needs to know about the query it lands in."""

    project_param: str = "{project_id:UInt64}"
    events: str = "e"  # alias of the events table
    person: str = "e.person_id"  # SQL for the event's person (merges applied by the caller)
    cohorts: dict | None = None  # id → cohort document, for cohort filters
    actions: dict | None = None  # id → action document, for behavioural cohort criteria
    now: datetime | None = None  # behavioural cohort windows end here


_PLAIN_IDENTIFIER_CHARS = re.compile(r"[A-Za-z0-9_$]")


def event_property(events: str, key: str) -> str:
    """SQL reading event property `key` of the events row aliased `events` (Dynamic, NULL when
    missing). Dots are written as %2E, as the JSON column stores them
    (json_type_escape_dots_in_keys); every other byte that is not plainly safe is hex-escaped."""
    escaped = "".join(
        ch if _PLAIN_IDENTIFIER_CHARS.fullmatch(ch) else "".join(f"\\x{b:02X}" for b in ch.encode())
        for ch in key.replace(".", "%2E")
    )
    return f"{events}.properties.`{escaped}`"


def event_property_text(events: str, key: str) -> str:
    """An event property as PostHog's text: '' when missing, else its string form."""
    value = event_property(events, key)
    return f"if(isNull({value}), '', toString({value}))"


def as_text(value) -> str:
    """A filter value as the text it compares against (booleans lower-case, as stored)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 2**53 else repr(value)
    return str(value)


# -- one operator on (is_set, text) ---------------------------------------------------------


def _number(text: str) -> str:
    return f"toFloat64OrNull(replaceAll({text}, ' ', ''))"


# What counts as a date in a property: ISO dates and datetimes, or 10-digit unix seconds.
# ClickHouse's best-effort parser alone would also read "1" or "5.5" as dates.
_DATE_SHAPE = (
    r"'^(\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?"
    r"(Z|[+-]\\d{2}(:?\\d{2})?)?)?|\\d{10})$'"
)


def _strict_date(text: str) -> str:
    return f"if(match({text}, {_DATE_SHAPE}), parseDateTimeBestEffortOrNull({text}, 'UTC'), NULL)"


def _date_of(text: str) -> str:
    """The property as a date: the whole text, else its first 10 characters."""
    return f"coalesce({_strict_date(text)}, {_strict_date(f'substring({text}, 1, 10)')})"


def _filter_date(value: str, attr: str) -> tuple[datetime, bool]:
    text = str(value).strip()
    try:
        if _ISO_DATE.match(text):
            return datetime.fromisoformat(text).replace(tzinfo=UTC), True
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{attr}: {text[:40]!r} is not a date", attr=attr) from None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return parsed.replace(microsecond=0), False


def condition(p: Property, is_set: str, text: str, params: Params, attr: str) -> str:
    """SQL true when property `p` holds for a value that is `is_set` with text `text`."""
    op, value = p.operator, p.value
    if op in ("exact", "in", "is_not", "not_in"):
        values = [as_text(v) for v in (value if isinstance(value, list) else [value])]
        bound = params.bind(values, "Array(String)")
        if op in ("exact", "in"):
            return f"({is_set} AND has({bound}, {text}))"
        return f"(NOT has({bound}, {text}))"
    if op == "is_set":
        return f"({is_set})"
    if op == "is_not_set":
        return f"(NOT {is_set})"
    if op in ("between", "not_between"):
        low, high = params.bind(value[0], "Float64"), params.bind(value[1], "Float64")
        inside = f"({_number(text)} BETWEEN {low} AND {high})"
        return f"ifNull({inside if op == 'between' else 'NOT ' + inside}, 0)"
    if isinstance(value, list):  # other operators over a list: any value (all, for negatives)
        parts = [condition(Property(p.key, v, op, p.type, p.group_type_index), is_set, text,
                           params, attr) for v in value]  # fmt: skip
        if not parts:
            return "0"
        return "(" + (" AND " if op in _NEGATIVE else " OR ").join(parts) + ")"
    if op in ("icontains", "not_icontains"):
        found = f"positionCaseInsensitiveUTF8({text}, {params.bind(as_text(value), 'String')})"
        return f"({found} > 0)" if op == "icontains" else f"({found} = 0)"
    if op in ("regex", "not_regex"):
        found = f"match({text}, {params.bind(as_text(value), 'String')})"
        return f"({found})" if op == "regex" else f"(NOT {found})"
    if op in ("gt", "gte", "lt", "lte", "min", "max"):
        sign = {"gt": ">", "gte": ">=", "min": ">=", "lt": "<", "lte": "<=", "max": "<="}[op]
        return f"ifNull({_number(text)} {sign} {params.bind(float(value), 'Float64')}, 0)"
    if op in ("is_date_before", "is_date_after", "is_date_exact"):
        target, date_only = _filter_date(value, attr)
        parsed = _date_of(text)
        if op == "is_date_before":
            return f"ifNull({parsed} < {params.bind(target, _UTC_TIME)}, 0)"
        if op == "is_date_after":
            if date_only:  # a bare date means after the end of that day
                target += timedelta(days=1) - timedelta(seconds=1)
            return f"ifNull({parsed} > {params.bind(target, _UTC_TIME)}, 0)"
        if date_only:
            return f"ifNull(toDate({parsed}) = {params.bind(target.date(), 'Date')}, 0)"
        return f"ifNull({parsed} = {params.bind(target, _UTC_TIME)}, 0)"
    raise ValidationError(f"{attr}: unknown operator {op}", attr=f"{attr}.operator")


# -- property sources -----------------------------------------------------------------------


_NOT_WORDS = re.compile(r"[\d\[\]{}'\"]")  # digits (dates, numbers), arrays, objects, quotes


def _only_string_text(values: list) -> bool:
    """Whether only a JSON string could have these texts. Ingestion stores a JSON string as
    the String variant unless it reads as a date (digits); a number, a boolean (`true`,
    `false`) or an array prints differently."""
    return all(
        isinstance(v, str) and v.strip() and not _NOT_WORDS.search(v)
        and v.strip().lower() not in ("true", "false", "null")
        for v in values
    )  # fmt: skip


def _event_property(p: Property, params: Params, ctx: Context, attr: str) -> str:
    value = event_property(ctx.events, p.key)
    values = p.value if isinstance(p.value, list) else [p.value]
    if p.operator == "exact" and not _GROUP_KEY.match(p.key) and _only_string_text(values):
        # Compare the String variant alone instead of every value's text: on 10M events an
        # `exact` filter then costs 1.7x the CPU of the unfiltered count instead of 2.3x.
        variant = f"{value}.:String"  # NULL when missing or not a string
        if len(values) == 1:
            return f"ifNull({variant} = {params.bind(values[0], 'String')}, 0)"
        return f"ifNull({variant} IN {params.bind(values, 'Array(String)')}, 0)"
    is_set, text = f"NOT isNull({value})", f"if(isNull({value}), '', toString({value}))"
    group = _GROUP_KEY.match(p.key)
    if group:  # `$group_N` falls back to the event's group column
        column = f"{ctx.events}.group_{group[1]}"
        is_set = f"({is_set} OR {column} != '')"
        text = f"if(isNull({value}), {column}, toString({value}))"
    return condition(p, is_set, text, params, attr)


def _json_text(value: str) -> str:
    """PostHog's text of a JSON value: strings unquoted, everything else as written."""
    return f"if(JSONType({value}) = 'String', JSONExtractString({value}), {value})"


def _folded(
    p: Property, subquery: str, key_column: str, subject: str, params: Params, attr: str
) -> str:
    """A filter on folded values (persons, groups): those whose value satisfies the condition,
    plus — when the condition holds for a missing value — those without one."""
    when_set = condition(p, "1", _json_text("value"), params, attr)
    when_missing = condition(p, "0", "''", params, attr)
    return (
        f"({subject} IN (SELECT {key_column} FROM ({subquery}) WHERE {when_set})"
        f" OR ({when_missing} AND {subject} NOT IN (SELECT {key_column} FROM ({subquery}))))"
    )


def _person_property(p: Property, params: Params, ctx: Context, attr: str) -> str:
    key = params.name(p.key)
    subquery = _template("person_property.sql").replace("__KEY__", key)
    return _folded(p, subquery, "person_id", ctx.person, params, attr)


def _group_property(p: Property, params: Params, ctx: Context, attr: str) -> str:
    key, index = params.name(p.key), params.name(p.group_type_index)
    subquery = _template("group_property.sql").replace("__KEY__", key).replace("__INDEX__", index)
    return _folded(p, subquery, "group_key", f"{ctx.events}.group_{p.group_type_index}",
                   params, attr)  # fmt: skip


def _session_property(p: Property, params: Params, ctx: Context, attr: str) -> str:
    if p.operator not in ("exact", "is_not", "gt", "gte", "lt", "lte", "min", "max", "between",
                          "not_between", "is_set", "is_not_set"):  # fmt: skip
        raise ValidationError(f"{attr}: $session_duration takes numeric operators",
                              attr=f"{attr}.operator")  # fmt: skip
    session = (
        f"if(isNull({ctx.events}.properties.`$session_id`), '', "
        f"toString({ctx.events}.properties.`$session_id`))"
    )
    return _folded(p, _template("session_duration.sql"), "session_id", session, params, attr)


_ELEMENT_POSITIVE = {"exact": "exact", "is_not": "exact", "icontains": "icontains",
                     "not_icontains": "icontains", "regex": "regex", "not_regex": "regex",
                     "is_set": "is_set", "is_not_set": "is_set"}  # fmt: skip


def _element_property(p: Property, params: Params, ctx: Context, attr: str) -> str:
    """Some element of the chain has it (tag_name, text, href) or the selector matches."""
    from resolvers import elements

    if p.key in ("selector", "tag_name"):
        if p.operator not in ("exact", "is_not"):
            raise ValidationError(f"{attr}: element {p.key} takes exact or is_not",
                                  attr=f"{attr}.operator")  # fmt: skip
        wanted = [str(v) for v in (p.value if isinstance(p.value, list) else [p.value]) if v]
        if p.key == "selector":
            found = [elements.selector_sql(v, params, ctx.events, f"{attr}.value")
                     for v in wanted]  # fmt: skip
        else:
            found = [f"has({elements.tags(ctx.events)}, {params.bind(v, 'String')})"
                     for v in wanted]  # fmt: skip
        any_found = "(" + " OR ".join(found) + ")" if found else "0"
        return any_found if p.operator == "exact" else f"(NOT {any_found})"
    positive = _ELEMENT_POSITIVE.get(p.operator)
    if positive is None:
        raise ValidationError(f"{attr}: element {p.key} does not take {p.operator}",
                              attr=f"{attr}.operator")  # fmt: skip
    texts = elements.values(ctx.events, p.key)
    if positive == "is_set":
        found = f"arrayExists(x -> ifNull(x, '') != '', {texts})"
    else:
        checks = [condition(Property(p.key, v, positive, "event"), "1", "x", params, attr)
                  for v in (p.value if isinstance(p.value, list) else [p.value])]  # fmt: skip
        found = f"arrayExists(x -> isNotNull(x) AND ({' OR '.join(checks)}), {texts})"
    return found if positive == p.operator else f"(NOT {found})"


def _cohort_property(p: Property, params: Params, ctx: Context, attr: str) -> str:
    from resolvers.cohorts import Compiler

    now = ctx.now or datetime.now(UTC)
    members = Compiler(params, ctx.cohorts or {}, ctx.actions or {}, now).members(
        p.value, f"{attr}.value"
    )
    inside = f"{ctx.person} IN ({members})"
    return f"({inside})" if p.operator == "in" else f"(NOT {inside})"


_COMPILERS = {
    "event": _event_property,
    "person": _person_property,
    "group": _group_property,
    "session": _session_property,
    "cohort": _cohort_property,
    "element": _element_property,
}


def compile_filter(
    group: PropertyGroup, params: Params, ctx: Context = Context(), attr: str = "properties"
) -> str:
    """The SQL boolean for a property tree ('1' for an empty one)."""
    parts = []
    for index, node in enumerate(group.values):
        node_attr = f"{attr}[{index}]"
        if isinstance(node, PropertyGroup):
            if node.is_empty():
                continue
            parts.append(compile_filter(node, params, ctx, node_attr))
            continue
        compiler = _COMPILERS.get(node.type)
        if compiler is None:
            raise ValidationError(f"{node_attr}: {node.type} filters are not supported yet",
                                  attr=f"{node_attr}.type", code="unsupported")  # fmt: skip
        parts.append(compiler(node, params, ctx, node_attr))
    if not parts:
        return "1"
    return "(" + (" OR " if group.type == "OR" else " AND ").join(parts) + ")"


# -- entities (events and actions) -----------------------------------------------------------


def _url_condition(step: dict, params: Params, ctx: Context, attr: str) -> str:
    """An action step's `url` against `$current_url`: contains (case-sensitive), exact, regex."""
    current = f"{ctx.events}.properties.`$current_url`"
    text = f"if(isNull({current}), '', toString({current}))"
    url = params.bind(str(step["url"]), "String")
    matching = step.get("url_matching") or "contains"
    if matching == "contains":
        return f"(position({text}, {url}) > 0)"
    if matching == "exact":
        return f"({text} = {url})"
    if matching == "regex":
        return f"match({text}, {url})"
    raise ValidationError(f"{attr}.url_matching must be contains, exact or regex",
                          attr=f"{attr}.url_matching")  # fmt: skip


_STEP_MATCHING = {None: "exact", "": "exact", "exact": "exact", "contains": "icontains",
                  "regex": "regex"}  # fmt: skip


def _step_elements(step: dict, params: Params, ctx: Context, attr: str) -> list[str]:
    parts = []
    if step.get("selector"):
        parts.append(
            _element_property(
                Property("selector", step["selector"], "exact", "element"),
                params,
                ctx,
                f"{attr}.selector",
            )
        )
    if step.get("tag_name") is not None:
        parts.append(
            _element_property(
                Property("tag_name", step["tag_name"], "exact", "element"),
                params,
                ctx,
                f"{attr}.tag_name",
            )
        )
    for key in ("href", "text"):
        if step.get(key) is not None:
            matching = step.get(f"{key}_matching")
            if matching not in _STEP_MATCHING:
                raise ValidationError(f"{attr}.{key}_matching must be exact, contains or regex",
                                      attr=f"{attr}.{key}_matching")  # fmt: skip
            prop = Property(key, step[key], _STEP_MATCHING[matching], "element")
            parts.append(_element_property(prop, params, ctx, f"{attr}.{key}"))
    return parts


def _step_condition(step: dict, params: Params, ctx: Context, attr: str) -> str:
    from resolvers.properties import parse_properties

    parts = []
    if step.get("event"):
        parts.append(f"{ctx.events}.event = {params.bind(str(step['event']), 'String')}")
    if step.get("event") == "$autocapture":  # element conditions apply to clicks only
        parts.extend(_step_elements(step, params, ctx, attr))
    if step.get("url"):
        parts.append(_url_condition(step, params, ctx, attr))
    parts.append(compile_filter(parse_properties(step.get("properties"), f"{attr}.properties"),
                                params, ctx, f"{attr}.properties"))  # fmt: skip
    return "(" + " AND ".join(parts) + ")"


def compile_entity(
    entity: dict,
    params: Params,
    ctx: Context = Context(),
    *,
    actions: dict[int, dict] | None = None,
    attr: str = "events[0]",
) -> str:
    """An `events`/`actions` entity → SQL: its event name (None = every event) or its action's
    steps ORed, and its own property filters. `actions` maps id → {"steps": [...]}."""
    from resolvers.properties import parse_properties

    kind = entity.get("type") or "events"
    if kind == "events":
        name = entity.get("id")
        match = "1" if name is None else (
            f"{ctx.events}.event = {params.bind(str(name), 'String')}")  # fmt: skip
    elif kind == "actions":
        try:
            action = (actions or {})[int(entity.get("id"))]
        except (KeyError, TypeError, ValueError):
            raise ValidationError(f"{attr}: unknown action id {entity.get('id')!r}",
                                  attr=f"{attr}.id") from None  # fmt: skip
        steps = [_step_condition(s, params, ctx, f"{attr}.steps[{i}]")
                 for i, s in enumerate(action.get("steps") or [])]  # fmt: skip
        match = "(" + " OR ".join(steps) + ")" if steps else "0"
    else:
        raise ValidationError(f"{attr}.type must be events or actions", attr=f"{attr}.type")
    own = compile_filter(parse_properties(entity.get("properties"), f"{attr}.properties"),
                         params, ctx, f"{attr}.properties")  # fmt: skip
    return f"({match} AND {own})"
