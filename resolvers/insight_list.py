"""Which saved insights a list shows, and in what order: PostHog's list filters.

Parsing is strict (an unknown kind, ordering or date is a 400 naming its parameter) because a
typo silently ignored would return the wrong insights. Filtering works on the folded documents
of one project, so a list can never reach another tenant's insights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gateway.errors import ValidationError
from resolvers.dates import parse_date, zone

KINDS = ("TRENDS", "FUNNELS", "RETENTION", "PATHS", "STICKINESS", "LIFECYCLE")
# What `order` may name (optionally with a leading "-" for descending). `last_viewed_at` is the
# latest view by anyone in the project; `my_last_viewed_at` the caller's own latest view.
ORDER_FIELDS = ("order", "id", "name", "created_at", "updated_at", "last_modified_at",
                "last_viewed_at", "my_last_viewed_at")  # fmt: skip


@dataclass(frozen=True)
class ListQuery:
    created_by: int | None = None
    short_id: str | None = None
    saved: bool | None = None
    favorited: bool | None = None
    search: str | None = None
    insight: str | None = None
    user: bool = False
    dashboards: tuple[int, ...] = ()
    modified_after: datetime | None = None
    modified_before: datetime | None = None
    my_last_viewed: bool = False
    order: str | None = None

    @property
    def needs_views(self) -> bool:
        return self.my_last_viewed or (self.order or "").endswith("viewed_at")


@dataclass(frozen=True)
class Views:
    """When each insight was last viewed: by anyone, and by the caller."""

    anyone: dict[int, datetime]
    mine: dict[int, datetime]


def parse_list_query(*, created_by: int | None = None, short_id: str | None = None,
                     saved: bool | None = None, favorited: bool | None = None,
                     search: str | None = None, insight: str | None = None,
                     user: bool | None = None, dashboards: list[int] | None = None,
                     date_from: str | None = None, date_to: str | None = None,
                     my_last_viewed: bool | None = None, order: str | None = None,
                     now: datetime, timezone: str) -> ListQuery:  # fmt: skip
    kind = insight.upper() if insight else None
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"insight must be one of {', '.join(KINDS)}", attr="insight")
    if order and order.removeprefix("-") not in ORDER_FIELDS:
        raise ValidationError(f"order must be one of {', '.join(ORDER_FIELDS)} (optionally "
                              "prefixed with - for descending)", attr="order")  # fmt: skip
    tz = zone(timezone)

    def moment(value: str | None, field: str) -> datetime | None:
        # PostHog reads these with its relative-date parser: `-7d`, `-1m`, or an ISO date.
        return parse_date(value, now=now, tz=tz, field=field).moment if value else None

    return ListQuery(
        created_by=created_by, short_id=short_id or None, saved=saved, favorited=favorited,
        search=search or None, insight=kind, user=bool(user), dashboards=tuple(dashboards or ()),
        modified_after=moment(date_from, "date_from"), modified_before=moment(date_to, "date_to"),
        my_last_viewed=bool(my_last_viewed),
        # The requester's recent views come most recent first unless asked otherwise.
        order=order or ("-my_last_viewed_at" if my_last_viewed else None),
    )  # fmt: skip


def matches(document: dict, query: ListQuery, user_id: int, views: Views) -> bool:
    """Does one live insight pass every filter of the query?"""
    if query.created_by is not None and document["created_by"] != query.created_by:
        return False
    if query.short_id and document["short_id"] != query.short_id:
        return False
    # PostHog: saved=true is "saved or on a dashboard"; saved=false is just "not saved".
    if query.saved is True and not (document["saved"] or document["dashboards"]):
        return False
    if query.saved is False and document["saved"]:
        return False
    if query.favorited is not None and document["favorited"] != query.favorited:
        return False
    if query.user and document["created_by"] != user_id:
        return False
    if query.insight and (document["filters"].get("insight") or "TRENDS").upper() != query.insight:
        return False
    if query.dashboards and not set(query.dashboards) <= set(document["dashboards"]):
        return False
    modified = datetime.fromisoformat(document["last_modified_at"])
    if query.modified_after is not None and not modified > query.modified_after:
        return False
    if query.modified_before is not None and not modified < query.modified_before:
        return False
    if query.my_last_viewed and document["id"] not in views.mine:
        return False
    if query.search:
        haystack = " ".join(
            [
                document.get("name") or "",
                document.get("derived_name") or "",
                document.get("description") or "",
                *document.get("tags", []),
            ]
        )
        if query.search.lower() not in haystack.lower():  # fmt: skip
            return False
    return True


def _sort_value(field: str, views: Views) -> Callable[[dict], object]:
    if field == "last_viewed_at":
        return lambda d: views.anyone.get(d["id"])
    if field == "my_last_viewed_at":
        return lambda d: views.mine.get(d["id"])
    if field == "name":
        return lambda d: (d.get("name") or "").lower() or None
    if field in ("created_at", "updated_at", "last_modified_at"):
        return lambda d: datetime.fromisoformat(d[field])
    return lambda d: d.get(field)


def select(documents: list[dict], query: ListQuery, user_id: int, views: Views) -> list[dict]:
    """The matching insights in the asked order; ties (and the default) newest first."""
    chosen = sorted((d for d in documents if matches(d, query, user_id, views)),
                    key=lambda d: -d["id"])  # fmt: skip
    field = (query.order or "order").removeprefix("-")
    descending = (query.order or "").startswith("-")
    value = _sort_value(field, views)
    # Missing values (never viewed, no `order`) go last in either direction, as users expect.
    present = [d for d in chosen if value(d) is not None]
    missing = [d for d in chosen if value(d) is None]
    present.sort(key=value, reverse=descending)  # a stable sort keeps the newest-first ties
    return present + missing
