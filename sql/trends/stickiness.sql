-- Stickiness: for each actor the number of distinct buckets with a matching event; then how
-- many actors were active in exactly k buckets.
SELECT active_buckets, count() AS actors
FROM
(
    SELECT actor, uniqExact(__BUCKET__) AS active_buckets
    FROM (__EVENTS__)
    WHERE project_id = {project_id:UInt64} AND actor != ''
    GROUP BY actor
)
GROUP BY active_buckets
