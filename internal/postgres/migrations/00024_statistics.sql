-- +goose Up
-- Public statistics, kept with the events that make them (one upsert a
-- batch), so that serving them costs the same at any size: by month (in
-- China Standard Time), kind of registration ('' for searches) and
-- province (the first two digits of the region code in the first
-- grantor's USCC or identity number, or the searcher's USCC; '' when there
-- is none).
CREATE TABLE statistics (
    month         date NOT NULL,
    kind          text NOT NULL,
    province      text NOT NULL,
    registrations bigint NOT NULL DEFAULT 0,
    amendments    bigint NOT NULL DEFAULT 0,
    cancellations bigint NOT NULL DEFAULT 0,
    searches      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (month, kind, province)
);
-- What the register already holds, counted once from its events.
INSERT INTO statistics (month, kind, province, registrations, amendments, cancellations)
SELECT date_trunc('month', e.registered_at AT TIME ZONE 'Asia/Shanghai')::date, r.kind,
       COALESCE(substr(COALESCE(g.uscc, g.id_number), CASE WHEN g.uscc IS NOT NULL THEN 3 ELSE 1 END, 2), ''),
       count(*) FILTER (WHERE e.type = 'initial'), count(*) FILTER (WHERE e.type = 'amendment'), count(*) FILTER (WHERE e.type = 'cancellation')
FROM events e JOIN registrations r ON r.number = e.registration_number
LEFT JOIN LATERAL (SELECT uscc, id_number FROM parties p WHERE p.registration_number = r.number AND p.role = 'grantor' ORDER BY p.ord, p.id LIMIT 1) g ON true
WHERE e.type IN ('initial', 'amendment', 'cancellation')
GROUP BY 1, 2, 3;
INSERT INTO statistics (month, kind, province, searches)
SELECT date_trunc('month', s.searched_at AT TIME ZONE 'Asia/Shanghai')::date, '', COALESCE(substr(o.uscc, 3, 2), ''), count(*)
FROM searches s LEFT JOIN organizations o ON o.id = s.organization_id
GROUP BY 1, 2, 3
ON CONFLICT (month, kind, province) DO UPDATE SET searches = EXCLUDED.searches;

-- +goose Down
DROP TABLE statistics;
