-- Maths over units rather than events: event counts per actor (`*_count_per_actor`), or one
-- duration per session (`$session_duration` property math). Units with an empty key (no group,
-- no session) are left out of the math but keep their breakdown value and bucket present.
SELECT breakdown_value, bucket, __AGGREGATE__ AS value
FROM
(
    SELECT breakdown_value, __BUCKET__ AS bucket, __UNIT__ AS unit, __UNIT_VALUE__ AS unit_value
    FROM (__EVENTS__)
    WHERE project_id = {project_id:UInt64} AND __KEEP__
    GROUP BY breakdown_value, bucket, unit
)
GROUP BY breakdown_value, bucket
