-- +goose Up
-- Event records and stored answers are JSON of a few kilobytes, compressed
-- when stored out of line; lz4 does that several times faster than pglz, at
-- about the same size. Values already stored keep their compression.
ALTER TABLE events ALTER COLUMN record SET COMPRESSION lz4;
ALTER TABLE searches ALTER COLUMN body SET COMPRESSION lz4;
ALTER TABLE search_pages ALTER COLUMN body SET COMPRESSION lz4;

-- +goose Down
ALTER TABLE events ALTER COLUMN record SET COMPRESSION pglz;
ALTER TABLE searches ALTER COLUMN body SET COMPRESSION pglz;
ALTER TABLE search_pages ALTER COLUMN body SET COMPRESSION pglz;
