-- Weekly / monthly active actors, fast form of active.sql. Every rolling window's bounds are
-- segment starts (local midnights, or local hour starts for hourly charts), so an event only
-- needs its segment: the s with s < t <= the next segment start (hence the 1-microsecond step
-- back). Per actor, the distinct segments fan out to the buckets whose windows cover them
-- (the cover array, indexed through a hash look-up of the segment's position); after
-- arrayDistinct an actor appears once per bucket, so a bucket's value is a plain count() —
-- no distinct-count hash set per bucket, which is what made active.sql slow.
SELECT breakdown_value, bucket, count() AS value
FROM
(
    SELECT breakdown_value,
           arrayJoin(arrayDistinct(arrayFlatten(arrayMap(
               s -> __COVER__[transform(s, __SEGMENTS__, __POSITIONS__, toUInt32(0)) + 1],
               groupUniqArray(segment))))) AS bucket
    FROM
    (
        SELECT breakdown_value, __UNIT__ AS unit,
               toUnixTimestamp(__SEGMENT__(toTimeZone(ts - toIntervalMicrosecond(1), {tz:String})))
                   AS segment
        FROM (__EVENTS__)
        WHERE project_id = {project_id:UInt64} AND __KEEP__ AND __HAS_ACTOR__
    )
    GROUP BY breakdown_value, unit
)
GROUP BY breakdown_value, bucket
