-- Per person (as they are now): counts of their events matching one entity, in the windows a
-- behavioural cohort criterion needs. __COUNTS__ is a list of countIf/min columns made by
-- resolvers/cohorts.py from fixed templates; times and the entity's values are parameters.
SELECT person_id, __COUNTS__
FROM
(
    SELECT if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),
              e.person_id, o.override_person_id) AS person_id,
           e.timestamp AS timestamp
    FROM events AS e
    LEFT JOIN
    (__EVENT_OVERRIDES__) AS o ON o.old_person_id = e.person_id
    WHERE e.project_id = {project_id:UInt64} AND __ENTITY__
)
GROUP BY person_id
HAVING __HAVING__
