-- Candidates of funnel correlation over the actor's properties (spec funnels.md §5.3): per
-- actor who entered the funnel, whether it converted and its `key::value` candidates
-- (over `props`, the actor's current (key, JSON value) pairs).
SELECT a.actor AS actor, a.success AS success, __NAMES__ AS names
FROM
(
    SELECT actor, furthest = __N__ AS success
    FROM (__ACTORS__)
) AS a
LEFT JOIN
(
    SELECT __OWNER__ AS actor, groupArray((key, value)) AS props
    FROM (__PROPERTIES__)
    GROUP BY actor
) AS p ON p.actor = a.actor
