-- The breakdown values a funnel keeps (spec funnels.md §2.7.1): values of the events matching
-- the target entities (their `steps` bit), by event count descending then value descending.
SELECT bvalue AS value
FROM (__EVENT_ROWS__)
WHERE steps != 0
GROUP BY value
ORDER BY count() DESC, value DESC
LIMIT {breakdown_limit:UInt64}
