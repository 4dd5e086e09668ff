-- Retention, one row per actor (spec A4): the cohorts the actor belongs to, as
-- (period index, breakdown value), and the periods in which they returned.
-- Period i of the window runs from {starts}[i + 1] (inclusive) to {starts}[i + 2] (exclusive);
-- the starts are computed in the project's timezone by the caller, so DST and calendar months
-- are Python's business and the SQL only compares instants.
SELECT
    actor,
    __COHORTS__ AS cohorts,
    groupUniqArrayIf(period, is_returning AND in_window) AS returns
FROM
(
    SELECT
        __ACTOR__ AS actor,
        e.timestamp AS ts,
        toUInt32(arrayCount(s -> s <= e.timestamp, {starts:Array(DateTime64(6, 'UTC'))}) - 1)
            AS period,
        e.timestamp >= {date_from:DateTime64(6, 'UTC')}
            AND e.timestamp <= {date_to:DateTime64(6, 'UTC')} AS in_window,
        __TARGET__ AS is_target,
        __RETURNING__ AS is_returning,
        __BREAKDOWN__ AS breakdown
    FROM events AS e
    LEFT JOIN (__EVENT_OVERRIDES__) AS o ON o.old_person_id = e.person_id
    __JOINS__
    WHERE e.project_id = {project_id:UInt64}
      AND e.timestamp < {window_end:DateTime64(6, 'UTC')}
      AND __SCOPE__
      AND __FILTERS__
)
GROUP BY actor
