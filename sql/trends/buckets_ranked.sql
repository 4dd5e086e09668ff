-- Event counts per breakdown value and bucket, with the values ranked in the same pass: for
-- `total`, counts add up, so a value's whole-range count is the sum of its buckets and
-- "Other" is the sum of the values it folds — one scan instead of a ranking query plus a
-- bucket query. Values rank by count, then by value, both descending (spec/trends.md §4.4.1);
-- ranks (__LOW__, __HIGH__] are kept, the rest fold into __OTHER__, which the caller drops
-- unless an "Other" series is wanted. `values_seen` is how many distinct values there were.
SELECT folded AS breakdown_value, bucket, sum(value) AS value, min(rank) AS rank,
       any(values_seen) AS values_seen
FROM
(
    SELECT if(rank > __LOW__ AND rank <= __HIGH__, breakdown_value, __OTHER__) AS folded,
           bucket, value, rank, max(rank) OVER () AS values_seen
    FROM
    (
        SELECT breakdown_value, bucket, value,
               dense_rank() OVER (ORDER BY total DESC, breakdown_value DESC) AS rank
        FROM
        (
            SELECT breakdown_value, bucket, value,
                   sum(value) OVER (PARTITION BY breakdown_value) AS total
            FROM
            (
                SELECT breakdown_value, __BUCKET__ AS bucket, count() AS value
                FROM (__EVENTS__)
                WHERE project_id = {project_id:UInt64}
                GROUP BY breakdown_value, bucket
            )
        )
    )
)
GROUP BY folded, bucket
