-- Cumulative unique actors: each actor counts once, in the bucket of its first event in the
-- range, so the running total is the number of distinct actors seen so far.
SELECT breakdown_value, __BUCKET__ AS bucket, count() AS value
FROM
(
    SELECT breakdown_value, actor, min(ts) AS ts
    FROM (__EVENTS__)
    WHERE project_id = {project_id:UInt64} AND __KEEP__ AND actor != ''
    GROUP BY breakdown_value, actor
)
GROUP BY breakdown_value, bucket
