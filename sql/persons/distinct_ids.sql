-- Every distinct id with the person it belongs to now (its first person, through overrides).
SELECT d.distinct_id AS distinct_id, d.person_id AS original_person_id,
       if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),
          d.person_id, o.override_person_id) AS person_id
FROM
(
    SELECT DISTINCT distinct_id, person_id
    FROM person_distinct_ids
    WHERE project_id = {project_id:UInt64}
) AS d
LEFT JOIN
(__OVERRIDES__) AS o ON o.old_person_id = d.person_id
