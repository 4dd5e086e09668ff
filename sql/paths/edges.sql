-- Path edges (spec B6): transitions between consecutive nodes of every session path,
-- counted (person-sessions, not persons) with their mean conversion time in milliseconds;
-- ordered by weight, then names, and cut to the edge limit.
SELECT source, target, count() AS value, avg(ms) AS average_conversion_time
FROM
(
    SELECT
        arrayJoin(arrayMap(i -> (concat(toString(i - 1), '_', items[i - 1]),
                                 concat(toString(i), '_', items[i]),
                                 (times[i] - times[i - 1]) / 1000),
                           range(2, length(items) + 1))) AS step,
        step.1 AS source,
        step.2 AS target,
        step.3 AS ms
    FROM (__SESSIONS__)
)
GROUP BY source, target
HAVING __HAVING__
ORDER BY value DESC, source, target
__LIMIT__
