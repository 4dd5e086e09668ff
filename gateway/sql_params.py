"""Bound parameters: how a Python value travels to ClickHouse as `{name:Type}`.

ClickHouse parses a parameter's text as the *escaped* form of its type's literal (the same
text the HTTP interface takes in `param_<name>`): scalars bare, arrays and tuples as quoted
literals, and the whole thing with tab, newline and backslash escaped. chDB passes our text
straight to that parser, so this module is the one place that produces it. The server
transport lets clickhouse-driver do the equivalent (see store_server.py).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Parameters travel as settings named param_<name> on some paths; names that are also
# settings (or that ClickHouse reserves) break there, so we refuse them everywhere.
RESERVED_NAMES = frozenset({"limit", "offset", "max_threads", "format", "settings"})

_TSV_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"}
_TSV_RE = re.compile(r"[\\\t\n\r\0]")
# Inside a quoted literal (array and tuple elements) the quote is escaped too.
_QUOTED_ESCAPES = {**_TSV_ESCAPES, "'": "\\'"}
_QUOTED_RE = re.compile(r"[\\\t\n\r\0']")


def check_name(name: str) -> None:
    if not _NAME.match(name) or name.lower() in RESERVED_NAMES:
        raise ValueError(f"invalid query parameter name {name!r}")


def _escape_tsv(text: str) -> str:
    return _TSV_RE.sub(lambda m: _TSV_ESCAPES[m.group(0)], text)


def _format_datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _scalar_text(value) -> str:
    """A scalar's bare text, as a top-level parameter of a scalar type."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return _format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"cannot bind a {type(value).__name__} as a query parameter")


def _literal(value) -> str:
    """A value as a ClickHouse literal inside a composite (quoted strings)."""
    if value is None:
        return "NULL"
    if isinstance(value, list):
        return "[" + ",".join(_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ",".join(_literal(v) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_literal(k)}:{_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool | int | float):
        return _scalar_text(value)
    return "'" + _QUOTED_RE.sub(lambda m: _QUOTED_ESCAPES[m.group(0)], _scalar_text(value)) + "'"


def encode(value) -> str:
    """The text ClickHouse's parameter parser reads back as `value`."""
    if isinstance(value, list | tuple | dict):
        # Composites are parsed as quoted literals straight away: escaping lives in _literal.
        return _literal(value)
    return _escape_tsv(_scalar_text(value))


def encode_all(params: dict) -> dict[str, str]:
    out = {}
    for name, value in params.items():
        check_name(name)
        out[name] = encode(value)
    return out
