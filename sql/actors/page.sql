-- One page of a set of actors. The members subquery yields `actor` (a person uuid as text, or a group
-- key) and the extra columns the caller names; an actor may appear on several rows (one per
-- event, say) and is counted once. `total` is the size of the whole set, for paging.
SELECT actor, __EXTRAS__ count() OVER () AS total
FROM (__MEMBERS__)
WHERE actor != ''
GROUP BY actor
ORDER BY __ORDER__
LIMIT {page_size:UInt64} OFFSET {page_start:UInt64}
