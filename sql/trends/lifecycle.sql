-- Lifecycle: per bucket and status the number of persons (statuses from lifecycle_statuses.sql).
SELECT status, position, count() AS persons
FROM (__STATUSES__)
GROUP BY status, position
