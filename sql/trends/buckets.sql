-- The series' math per breakdown value and bucket (bucket 0: the whole window, for aggregated
-- displays and breakdown ranking). Buckets are the start of the interval in the project
-- timezone, as a unix time; the caller zero-fills the buckets without events.
SELECT breakdown_value, __BUCKET__ AS bucket, __AGGREGATE__ AS value
FROM (__EVENTS__)
WHERE project_id = {project_id:UInt64} AND __KEEP__
GROUP BY breakdown_value, bucket
