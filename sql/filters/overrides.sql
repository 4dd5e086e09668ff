-- Each merged person id → the person it belongs to now.
SELECT old_person_id, argMax(override_person_id, version) AS override_person_id
FROM person_overrides
WHERE project_id = {project_id:UInt64}
GROUP BY old_person_id
