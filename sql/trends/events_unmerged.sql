-- events.sql for maths, filters and breakdowns that never read the merged person: the same
-- columns, without the join with person_overrides (`person` is the event's own person id and
-- is not read). resolvers/trends.py picks this template only when nothing it splices in reads
-- the merged person.
SELECT
    e.project_id AS project_id,
    e.timestamp AS ts,
    e.person_id AS person,
    __COLUMNS__
FROM events AS e
__JOINS__
WHERE e.project_id = {project_id:UInt64}
    AND e.timestamp >= __FROM__
    AND e.timestamp < __TO__
    AND __WHERE__
