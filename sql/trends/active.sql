-- Weekly / monthly active actors: bucket i counts the distinct actors with an event in
-- (window_starts[i], window_ends[i]] (the bucket's day and the 6 or 29 before it, at full
-- precision). `bucket` is the 1-based position of the bucket.
SELECT breakdown_value, bucket, uniqExact(actor) AS value
FROM
(
    SELECT breakdown_value, actor,
           arrayJoin(arrayFilter(i -> __STARTS__[i] < ts AND ts <= __ENDS__[i],
                                 range(1, length(__STARTS__) + 1))) AS bucket
    FROM (__EVENTS__)
    WHERE project_id = {project_id:UInt64} AND __KEEP__ AND actor != ''
)
GROUP BY breakdown_value, bucket
