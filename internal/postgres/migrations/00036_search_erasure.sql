-- +goose Up
-- Retention reaches stored searches: a search certificate, and each kept
-- page of a long answer, holds the registrations it found as they stood,
-- with their individuals' names, identity numbers and addresses. When a
-- registration's personal data is erased, so is its copy in every stored
-- search that returned it, and the search's criteria when they were that
-- individual's identity number. A search's identity number goes too once
-- the search is older than the register keeps personal data.
--
-- individuals lists the registrations in the answer (or page) that name an
-- individual: the erasure finds the searches to rewrite through it, and
-- most answers, naming organizations only, leave it NULL and out of the
-- index. issued_digest is the SHA-256 of the body as first answered, the
-- digest its certificate was issued with, kept when the body is rewritten;
-- erased_at is when it last was.
ALTER TABLE searches
    ADD COLUMN individuals   text[],
    ADD COLUMN issued_digest text,
    ADD COLUMN erased_at     timestamptz;
ALTER TABLE search_pages
    ADD COLUMN individuals text[],
    ADD COLUMN erased_at   timestamptz;
CREATE INDEX searches_individuals ON searches USING gin (individuals) WHERE individuals IS NOT NULL;
-- Searches made by an identity number keep it as long as the register
-- keeps personal data (retention.years_after_end after the search); this
-- finds those due, and forgets each once its number is erased.
CREATE INDEX searches_id_number_due ON searches (searched_at) WHERE (criteria->>'id_number') IS NOT NULL;
CREATE INDEX search_pages_individuals ON search_pages USING gin (individuals) WHERE individuals IS NOT NULL;

-- The searches stored before this migration are indexed from their bodies
-- (each answer's results, each registration's grantors and secured
-- parties): a pass over every stored search, once.
-- +goose StatementBegin
CREATE FUNCTION answer_individuals(body bytea) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT array_agg(DISTINCT r->'registration'->>'number')
    FROM jsonb_array_elements(convert_from(body, 'UTF8')::jsonb->'results') AS r
    WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(r->'registration'->'grantors', '[]') || COALESCE(r->'registration'->'secured_parties', '[]')) AS p
        WHERE p->>'type' = 'individual')
$$;
-- +goose StatementEnd
ALTER TABLE searches DISABLE TRIGGER searches_append_only;
UPDATE searches SET individuals = answer_individuals(body) WHERE answer_individuals(body) IS NOT NULL;
ALTER TABLE searches ENABLE TRIGGER searches_append_only;
ALTER TABLE search_pages DISABLE TRIGGER search_pages_append_only;
UPDATE search_pages SET individuals = answer_individuals(body) WHERE answer_individuals(body) IS NOT NULL;
ALTER TABLE search_pages ENABLE TRIGGER search_pages_append_only;
DROP FUNCTION answer_individuals(bytea);

-- Stored searches stay append-only but for the erasure: it may rewrite a
-- body (and a search's criteria), setting erased_at no earlier than
-- before, and a search's issued_digest must be the digest of the body as
-- first answered. Nothing else changes; nothing is deleted.
-- +goose StatementBegin
CREATE FUNCTION searches_erasure_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.erased_at IS NOT NULL AND (OLD.erased_at IS NULL OR NEW.erased_at >= OLD.erased_at)
        AND NEW.number = OLD.number AND NEW.searched_at = OLD.searched_at AND NEW.as_of = OLD.as_of
        AND NEW.organization_id IS NOT DISTINCT FROM OLD.organization_id
        AND NEW.user_id IS NOT DISTINCT FROM OLD.user_id
        AND NEW.include_inactive = OLD.include_inactive AND NEW.register_position = OLD.register_position
        AND NEW.result_count = OLD.result_count
        AND NEW.matches IS NOT DISTINCT FROM OLD.matches
        AND NEW.viewer_uscc IS NOT DISTINCT FROM OLD.viewer_uscc AND NEW.viewer_staff = OLD.viewer_staff
        AND NEW.individuals IS NOT DISTINCT FROM OLD.individuals
        AND NEW.issued_digest IS NOT NULL
        AND NEW.issued_digest = COALESCE(OLD.issued_digest, 'sha256:' || encode(sha256(OLD.body), 'hex')) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only (but for an erasure of personal data, which keeps the issued digest): % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE FUNCTION search_pages_erasure_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.erased_at IS NOT NULL AND (OLD.erased_at IS NULL OR NEW.erased_at >= OLD.erased_at)
        AND NEW.number = OLD.number AND NEW.cursor = OLD.cursor
        AND NEW.individuals IS NOT DISTINCT FROM OLD.individuals THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only (but for an erasure of personal data): % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
DROP TRIGGER searches_append_only ON searches;
CREATE TRIGGER searches_append_only BEFORE UPDATE OR DELETE ON searches FOR EACH ROW EXECUTE FUNCTION searches_erasure_only();
DROP TRIGGER search_pages_append_only ON search_pages;
CREATE TRIGGER search_pages_append_only BEFORE UPDATE OR DELETE ON search_pages FOR EACH ROW EXECUTE FUNCTION search_pages_erasure_only();

-- +goose Down
-- The rewritten bodies stay rewritten; the digest their certificates were
-- issued with goes with its column, so an erased search's certificate no
-- longer verifies once this is undone.
DROP TRIGGER search_pages_append_only ON search_pages;
CREATE TRIGGER search_pages_append_only BEFORE UPDATE OR DELETE ON search_pages FOR EACH ROW EXECUTE FUNCTION refuse_change();
DROP TRIGGER searches_append_only ON searches;
CREATE TRIGGER searches_append_only BEFORE UPDATE OR DELETE ON searches FOR EACH ROW EXECUTE FUNCTION refuse_change();
DROP FUNCTION search_pages_erasure_only();
DROP FUNCTION searches_erasure_only();
DROP INDEX searches_id_number_due;
DROP INDEX search_pages_individuals;
DROP INDEX searches_individuals;
ALTER TABLE search_pages DROP COLUMN individuals, DROP COLUMN erased_at;
ALTER TABLE searches DROP COLUMN individuals, DROP COLUMN issued_digest, DROP COLUMN erased_at;
