-- Per (breakdown value, actor): the actor's relevant events sorted by time (ties by their
-- bits), unpacked into arrays of times `ts`, step bits `m`, exclusion bits `xm`, window ends,
-- step-0 times `starts` and each exclusion's times; plus the order type's own arrays.
SELECT
    pvalue,
    actor,
    arrayMap(x -> x.1, evs) AS ts,
    arrayMap(x -> x.2, evs) AS m,
    arrayMap(x -> x.3, evs) AS xm,
    arrayMap(t -> __END__(t), ts) AS ends,
    arrayFilter((t, mm) -> bitTest(mm, 0), ts, m) AS starts,
    __EXCLUSION_TIMES__ AS excl_times
    __GROUPS__
FROM
(
    SELECT actor, pvalue, __PARTITION_EVENTS__ AS evs
    FROM
    (
        SELECT actor, arraySort(groupArray((ts, steps, excl, bvalue))) AS all_evs
        FROM (__EVENT_ROWS__)
        WHERE __RELEVANT__
        GROUP BY actor
    )
    ARRAY JOIN __PARTITIONS__ AS pvalue
)
