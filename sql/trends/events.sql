-- The events of one series inside one time window, a row each, with the columns every trends
-- query reads: the person (merges applied through person_overrides), the actor the math counts
-- (a person or a group key), the raw breakdown value, a numeric property and the session id.
-- The columns, joins, conditions and window bounds spliced in are built by resolvers/trends.py from
-- resolvers/where.py and closed enums; every user value in them is a bound parameter.
SELECT
    e.project_id AS project_id,
    e.timestamp AS ts,
    if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),
       e.person_id, o.override_person_id) AS person,
    __COLUMNS__
FROM events AS e
LEFT JOIN (__EVENT_OVERRIDES__) AS o ON o.old_person_id = e.person_id
__JOINS__
WHERE e.project_id = {project_id:UInt64}
    AND e.timestamp >= __FROM__
    AND e.timestamp < __TO__
    AND __WHERE__
