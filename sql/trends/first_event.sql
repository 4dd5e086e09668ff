-- `date_from=all`: the project's earliest event after 2015-01-01.
SELECT min(timestamp) AS first, count() AS events
FROM events
WHERE project_id = {project_id:UInt64}
    AND timestamp > toDateTime64('2015-01-01 00:00:00', 6, 'UTC')
