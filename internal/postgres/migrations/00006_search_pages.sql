-- +goose Up
-- Results at scale: an answer holds at most search.max_results registrations
-- and search.max_answer_bytes of JSON. A truncated search keeps the whole
-- ordered list of what it found (number and how it matched, one
-- "number how" a line) and whom it answered (for masking, as the searcher
-- saw it); each further page is made from them as of the search's instant
-- the first time it is read, and kept, so it is the same bytes every time.
ALTER TABLE searches
    ADD COLUMN matches      text,
    ADD COLUMN viewer_uscc  text,
    ADD COLUMN viewer_staff boolean NOT NULL DEFAULT false;

CREATE TABLE search_pages (
    number text NOT NULL REFERENCES searches (number),
    cursor integer NOT NULL,
    body   bytea NOT NULL,
    PRIMARY KEY (number, cursor)
);
CREATE TRIGGER search_pages_append_only BEFORE UPDATE OR DELETE ON search_pages FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER search_pages_no_truncate BEFORE TRUNCATE ON search_pages FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- +goose Down
DROP TABLE search_pages;
ALTER TABLE searches DROP COLUMN matches, DROP COLUMN viewer_uscc, DROP COLUMN viewer_staff;
