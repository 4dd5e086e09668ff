"""How to store event properties: measured, not guessed.

    python bench/properties.py [--rows 10000000]

Builds the same synthetic events (90 days, ~500k people, 12 properties of mixed types) three
ways in chDB — a JSON string (read with JSONExtract*), a Map(String, String), and ClickHouse's
JSON type — and times the two shapes every insight runs: a breakdown by a property (top 10
values by count) and a filter on a property (count by day where it equals a value). Median of 5
after a warm-up; also the on-disk size of each table. The winner is the events table's format.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import report  # noqa: E402

# Synthetic properties built in SQL from the row number: deterministic, realistic cardinalities.
PROPERTIES_JSON = """
toJSONString(map(
    '$browser', ['Chrome','Firefox','Safari','Edge','Opera'][1 + number % 5],
    '$os', ['Mac OS X','Windows','Linux','iOS','Android'][1 + intHash32(number) % 5],
    '$current_url', concat('https://app.example.com/p/', toString(intHash32(number) % 2000)),
    '$pathname', concat('/p/', toString(intHash32(number) % 2000)),
    '$geoip_country_code', ['US','GB','DE','FR','IN','BR','JP','CA'][1 + intHash64(number) % 8],
    '$session_id', toString(intHash64(number) % 3000000),
    'utm_source', ['google','twitter','newsletter',''][1 + number % 4],
    'plan', ['free','pro','enterprise'][1 + intHash32(number + 7) % 3],
    'revenue', toString(intHash32(number) % 500),
    'feature', concat('feature_', toString(intHash32(number + 3) % 40)),
    '$lib', 'web',
    '$device_type', ['Desktop','Mobile','Tablet'][1 + intHash32(number + 11) % 3]))
"""

TABLES = {
    "json_string": "properties String CODEC(ZSTD(3))",
    "map": "properties Map(String, String) CODEC(ZSTD(3))",
    "json_type": "properties JSON",
}
FILL = {
    "json_string": "{props}",
    "map": "CAST(JSONExtractKeysAndValues({props}, 'String'), 'Map(String, String)')",
    "json_type": "{props}::JSON",
}
BREAKDOWN = {
    "json_string": "JSONExtractString(properties, '$browser')",
    "map": "properties['$browser']",
    "json_type": "toString(properties.`$browser`)",
}
FILTER = {
    "json_string": "JSONExtractString(properties, '$geoip_country_code') = 'DE'",
    "map": "properties['$geoip_country_code'] = 'DE'",
    "json_type": "toString(properties.`$geoip_country_code`) = 'DE'",
}


def timed(conn, sql: str, runs: int = 5) -> float:
    conn.query(sql, "Null")  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.query(sql, "Null")
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 1)


def main() -> None:
    import chdb

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        conn = chdb.connect(f"file:{tmp}")
        conn.query("SET allow_experimental_json_type = 1")
        for name, column in TABLES.items():
            conn.query(f"""CREATE TABLE ev_{name} (project_id UInt64, event LowCardinality(String),
                timestamp DateTime64(6, 'UTC'), distinct_id String, {column})
                ENGINE = MergeTree ORDER BY (project_id, toDate(timestamp), event)""")
            started = time.perf_counter()
            conn.query(f"""INSERT INTO ev_{name}
                SELECT 1, ['$pageview','signed_up','feature_used','purchase'][1 + number % 4],
                       toDateTime64('2026-01-01 00:00:00', 6, 'UTC')
                         + toIntervalSecond(intHash32(number) % (90 * 86400)),
                       toString(intHash64(number) % 500000),
                       {FILL[name].format(props=PROPERTIES_JSON)}
                FROM numbers({args.rows})""")
            load_s = time.perf_counter() - started
            conn.query(f"OPTIMIZE TABLE ev_{name} FINAL")
            size = (
                conn.query(
                    f"SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND "
                    f"table = 'ev_{name}'",
                    "CSV",
                )
                .bytes()
                .decode()
                .strip()
            )
            breakdown = timed(
                conn,
                f"""SELECT {BREAKDOWN[name]} AS v, count() AS c
                FROM ev_{name} WHERE project_id = 1 GROUP BY v ORDER BY c DESC LIMIT 10""",
            )
            filtered = timed(
                conn,
                f"""SELECT toDate(timestamp) AS d, count() FROM ev_{name}
                WHERE project_id = 1 AND {FILTER[name]} GROUP BY d ORDER BY d""",
            )
            floor = timed(
                conn,
                f"""SELECT toDate(timestamp) AS d, count() FROM ev_{name}
                WHERE project_id = 1 GROUP BY d ORDER BY d""",
            )
            rows.append({"storage": name, "rows": args.rows, "load_s": round(load_s, 1),
                         "disk_mib": round(int(size) / 2**20), "breakdown_ms": breakdown,
                         "filter_ms": filtered, "count_by_day_floor_ms": floor})  # fmt: skip
            conn.query(f"DROP TABLE ev_{name}")
        conn.close()
    report("properties", rows)


if __name__ == "__main__":
    main()
