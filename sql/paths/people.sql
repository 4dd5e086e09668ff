-- The persons behind a path node or edge (spec B8), by person id, one page.
SELECT toString(person) AS actor, count() OVER () AS total
FROM (__SESSIONS__)
WHERE __SELECTED__
GROUP BY person
ORDER BY actor
LIMIT {page_size:UInt64} OFFSET {page_start:UInt64}
