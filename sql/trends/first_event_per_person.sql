-- Each person's first event ever (merges applied). The minimum is taken per person id first, so
-- one row per id — not every event of the project — goes through the person_overrides join.
SELECT if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),
          f.person_id, o.override_person_id) AS person,
       min(f.ts) AS ts
FROM
(
    SELECT person_id, min(timestamp) AS ts
    FROM events
    WHERE project_id = {project_id:UInt64}
    GROUP BY person_id
) AS f
LEFT JOIN (__EVENT_OVERRIDES__) AS o ON o.old_person_id = f.person_id
GROUP BY person
