-- The funnel's rows: each event of the date range with its actor, time (microseconds), and
-- bitmasks of the steps and exclusions it matches.
SELECT
    __ACTOR__ AS actor,
    toUnixTimestamp64Micro(e.timestamp) AS ts,
    __STEPS__ AS steps,
    __EXCLUSIONS__ AS excl,
    __BREAKDOWN__ AS bvalue
FROM events AS e
LEFT JOIN (__EVENT_OVERRIDES__) AS o ON o.old_person_id = e.person_id
__JOINS__
WHERE e.project_id = {project_id:UInt64}
  AND e.timestamp >= {date_from:DateTime64(6, 'UTC')}
  AND e.timestamp <= {date_to:DateTime64(6, 'UTC')}
  AND __HAS_ACTOR__
  AND __FILTERS__
