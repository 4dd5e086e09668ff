-- Paths, one row per (person, session) (spec B3-B5): the person's kept events in time order
-- (ties by item), split where the gap to the previous event is at least {gap} microseconds,
-- runs of one item collapsed into their last event, then cut by the start/end points and the
-- step limit. `times` are microseconds since the epoch, `items` the final path items.
-- Funnel paths (B7) join the funnel's people (funnel_people.sql) and keep each person's events
-- in their time range; __GAPS__ then measures how far each event lies past the funnel window
-- opened at the previous one, so a new session starts at or after that window's end.
SELECT person, __CUT_TIMES__ AS times, __CUT_ITEMS__ AS items
FROM
(
    SELECT
        person,
        arrayMap(x -> x.1, session) AS t,
        arrayMap(x -> x.2, session) AS it,
        __START_AT__ AS s,
        __END_AT__ AS f
    FROM
    (
        SELECT
            person,
            -- two plain arrays zipped: cheaper to collect than one array of tuples
            arraySort(arrayZip(groupArray(ts), groupArray(item))) AS evs,
            arrayMap(x -> x.1, evs) AS evs_times,
            arrayMap(x -> x.2, evs) AS evs_items,
            arrayMap((d, i) -> i = 1 OR d >= {gap:Int64}, __GAPS__, arrayEnumerate(evs)) AS opens,
            arrayCumSum(opens) AS sid,
            -- a run of one item keeps its last event (each compared with the next: the arrays
            -- shifted by one, not indexed inside a lambda, which copies them per element)
            arrayMap((a, b, x, y) -> a != b OR x != y, sid, arrayPushBack(arrayPopFront(sid), 0),
                     evs_items, arrayPushBack(arrayPopFront(evs_items), '')) AS keep,
            arrayFilter((x, k) -> k, evs, keep) AS kept,
            arrayFilter((x, k) -> k, sid, keep) AS kept_sid,
            arrayMap((x, p) -> x != p, kept_sid, arrayPushFront(arrayPopBack(kept_sid), 0))
                AS kept_opens,
            arraySplit((x, o) -> o, kept, kept_opens) AS sessions
        FROM
        (
            SELECT __PERSON__ AS person, toUnixTimestamp64Micro(e.timestamp) AS ts,
                   __ITEM__ AS item
            FROM events AS e
            LEFT JOIN (__EVENT_OVERRIDES__) AS o ON o.old_person_id = e.person_id
            WHERE e.project_id = {project_id:UInt64}
              AND __DATES__
              AND __SELECTED__
              AND __FILTERS__
        ) AS path_events
        __FUNNEL_JOIN__
        WHERE NOT has({excluded:Array(String)}, item) AND __FUNNEL_RANGE__
        GROUP BY person
    )
    ARRAY JOIN sessions AS session
)
WHERE __KEEP__
