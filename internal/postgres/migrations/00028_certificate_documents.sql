-- +goose Up
-- The PDF certificates as first made and signed, by number, language and
-- edition (a registration's version and status), so that the same request
-- gets the same bytes, and a certificate is made once.
CREATE TABLE certificate_documents (
    number  text NOT NULL,
    lang    text NOT NULL,
    edition text NOT NULL,
    body    bytea NOT NULL,
    made_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (number, lang, edition)
);
ALTER TABLE certificate_documents ALTER COLUMN body SET STORAGE EXTERNAL;

-- +goose Down
DROP TABLE certificate_documents;
