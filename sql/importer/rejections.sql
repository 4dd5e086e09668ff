-- Why rows are rejected, counted by reason (a row reports its first problem).
SELECT
    multiIf(event = '' OR event = '\\N', 'missing event',
            distinct_id = '' OR distinct_id = '\\N', 'missing distinct_id',
            parseDateTime64BestEffortOrNull(timestamp, 6, 'UTC') IS NULL, 'unparseable timestamp',
            properties NOT IN ('', '\\N') AND NOT isValidJSON(properties), 'properties not JSON',
            uuid NOT IN ('', '\\N') AND toUUIDOrNull(uuid) IS NULL, 'uuid not a UUID',
            '') AS reason,
    count() AS rows,
    min(line) AS first_line
FROM {staging}
GROUP BY reason
