-- The breakdown values a funnel keeps (spec funnels.md §2.7.1): values of the events matching
-- the target entities, by event count descending then value descending.
SELECT value
FROM
(
    SELECT __BREAKDOWN__ AS value
    FROM events AS e
    LEFT JOIN (__EVENT_OVERRIDES__) AS o ON o.old_person_id = e.person_id
    __JOINS__
    WHERE e.project_id = {project_id:UInt64}
      AND e.timestamp >= {date_from:DateTime64(6, 'UTC')}
      AND e.timestamp <= {date_to:DateTime64(6, 'UTC')}
      AND __TARGETS__
      AND __FILTERS__
)
GROUP BY value
ORDER BY count() DESC, value DESC
LIMIT {breakdown_limit:UInt64}
