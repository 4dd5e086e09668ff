-- Every person of the project, as they are now (merged ids mapped to the survivor).
SELECT DISTINCT if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),
                   d.person_id, o.override_person_id) AS person_id
FROM person_distinct_ids AS d
LEFT JOIN
(__OVERRIDES__) AS o ON o.old_person_id = d.person_id
WHERE d.project_id = {project_id:UInt64}
