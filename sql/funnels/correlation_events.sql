-- Candidates of funnel correlation over events (spec funnels.md §5.3, README: a non-converter's
-- window ends where its attempt's window does): per actor who entered the funnel, whether it
-- converted and the distinct candidates (names derived from each event) of its events in the date
-- range strictly inside its credited attempt — after the first step and before the last one.
-- RIGHT JOIN: every entered actor stays, with or without such events (the totals need them);
-- the actors are the hash table, the events stream past it.
SELECT a.actor AS actor, a.success AS success,
       groupUniqArrayArrayIf(ev.names, ev.ts > a.first_ts AND ev.ts < a.final_ts) AS names
FROM
(
    SELECT
        __ACTOR__ AS actor,
        toUnixTimestamp64Micro(e.timestamp) AS ts,
        __NAMES__ AS names
    FROM events AS e
    LEFT JOIN (__EVENT_OVERRIDES__) AS o ON o.old_person_id = e.person_id
    WHERE e.project_id = {project_id:UInt64}
      AND e.timestamp >= {date_from:DateTime64(6, 'UTC')}
      AND e.timestamp < {date_to:DateTime64(6, 'UTC')}
      AND __HAS_ACTOR__
      AND __EVENTS__
) AS ev
RIGHT JOIN
(
    SELECT
        actor,
        furthest = __N__ AS success,
        first_timestamp AS first_ts,
        if(success, credited_times[-1], __WINDOW_END__) AS final_ts
    FROM (__ACTORS__)
) AS a ON ev.actor = a.actor
GROUP BY a.actor, a.success
