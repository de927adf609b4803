-- +goose Up
-- Successions: an organization merged into, or divided into, another, whose
-- effective registrations pass to the successor one assignment at a time,
-- by a job. The registrations to pass are fixed when it is asked for, one
-- row each; a row is marked in the transaction of its registration's
-- assignment, so that a job cut short resumes with the rows still pending
-- and passes none twice.
CREATE TABLE successions (
    id                uuid PRIMARY KEY,
    predecessor_id    uuid NOT NULL REFERENCES organizations (id),
    successor_id      uuid NOT NULL REFERENCES organizations (id),
    basis             text NOT NULL,
    document_number   text NOT NULL,
    -- the upload it rests on, as the assignments record it
    attachment        jsonb,
    -- who asked (user_id, organization_id, bootstrap): each assignment is
    -- that admin's act
    requested_by      jsonb NOT NULL,
    requested_at      timestamptz NOT NULL,
    status            text NOT NULL CHECK (status IN ('running', 'done')),
    finished_at       timestamptz
);
-- One running succession per predecessor.
CREATE UNIQUE INDEX successions_running ON successions (predecessor_id) WHERE status = 'running';

CREATE TABLE succession_items (
    succession_id       uuid NOT NULL REFERENCES successions (id),
    registration_number text NOT NULL,
    -- pending, then passed (with the assignment's event number) or failed
    -- (with why: it had ended, or passed to another, by its turn)
    state               text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'passed', 'failed')),
    event_number        text,
    problem             text,
    PRIMARY KEY (succession_id, registration_number)
);
CREATE INDEX succession_items_pending ON succession_items (succession_id, registration_number) WHERE state = 'pending';

-- +goose Down
DROP TABLE succession_items, successions;
