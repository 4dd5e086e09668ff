-- Each merged person id → the person it belongs to now, for events: the overrides not yet
-- squashed into events.person_id. Squashing rewrote every event of an id whose overrides are
-- all at or below the project's mark to the person that id belonged to then; a later merge of
-- that person (or of the id again) is a newer override, above the mark, and still applies.
SELECT old_person_id, argMax(override_person_id, version) AS override_person_id
FROM person_overrides
WHERE project_id = {project_id:UInt64}
    AND version > (SELECT max(version) FROM person_overrides_squashed
                   WHERE project_id = {project_id:UInt64})
GROUP BY old_person_id
