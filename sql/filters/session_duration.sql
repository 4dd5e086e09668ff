-- Seconds between the first and last event of each session of the project (whole sessions,
-- whatever the insight's date range).
SELECT session_id, toString(dateDiff('second', min(timestamp), max(timestamp))) AS value
FROM
(
    SELECT toString(properties.`$session_id`) AS session_id, timestamp
    FROM events
    WHERE project_id = {project_id:UInt64} AND NOT isNull(properties.`$session_id`)
)
WHERE session_id != ''
GROUP BY session_id
