-- One page of a set of persons (the members subquery selects person_id), with their
-- distinct ids and the size of the whole set.
SELECT m.person_id AS person_id, groupArray(d.distinct_id) AS distinct_ids,
       (SELECT count() FROM (__MEMBERS__)) AS total
FROM (__MEMBERS__) AS m
LEFT JOIN
(
    SELECT d.distinct_id AS distinct_id,
           if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),
              d.person_id, o.override_person_id) AS person_id
    FROM (SELECT DISTINCT distinct_id, person_id FROM person_distinct_ids
          WHERE project_id = {project_id:UInt64}) AS d
    LEFT JOIN
    (__OVERRIDES__) AS o ON o.old_person_id = d.person_id
) AS d ON d.person_id = m.person_id
GROUP BY m.person_id
ORDER BY m.person_id
LIMIT {page_size:UInt64} OFFSET {page_start:UInt64}
