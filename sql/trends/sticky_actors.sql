-- Stickiness per actor: the number of distinct buckets in which the actor has a matching event.
SELECT actor, uniqExact(__BUCKET__) AS active_buckets
FROM (__EVENTS__)
WHERE project_id = {project_id:UInt64} AND actor != ''
GROUP BY actor
