-- The members of one static cohort's current list, as they are now.
SELECT DISTINCT if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),
                   s.person_id, o.override_person_id) AS person_id
FROM static_cohort_people AS s
LEFT JOIN
(__OVERRIDES__) AS o ON o.old_person_id = s.person_id
WHERE s.project_id = {project_id:UInt64} AND s.cohort_id = {__COHORT__:UInt64}
  AND s.version = {__VERSION__:UInt64}
