-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE organizations (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL,
    uscc       text NOT NULL UNIQUE,
    kind       text NOT NULL,
    status     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    email           text NOT NULL UNIQUE,
    display_name    text NOT NULL,
    roles           text[] NOT NULL,
    password_hash   text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_organization ON users (organization_id);

CREATE TABLE tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id),
    hash         bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz
);
CREATE INDEX tokens_user ON tokens (user_id);

-- The sequencer's single row: every registry write locks it, so numbers,
-- times and log positions follow commit order.
CREATE TABLE register_head (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq      bigint NOT NULL,
    log_size bigint NOT NULL,
    last_at  timestamptz NOT NULL
);
INSERT INTO register_head (seq, log_size, last_at) VALUES (0, 0, '1970-01-01T00:00:00Z');

-- Registry events: immutable; log_index is the event's position in the log.
CREATE TABLE events (
    log_index           bigint PRIMARY KEY,
    number              text NOT NULL UNIQUE,
    registration_number text NOT NULL,
    type                text NOT NULL,
    registered_at       timestamptz NOT NULL,
    organization_id     uuid,
    user_id             uuid,
    record              bytea NOT NULL
);
CREATE INDEX events_registration ON events (registration_number, log_index);
CREATE INDEX events_registered_at ON events (registered_at);

-- The current state of each registration, kept in the same transaction as
-- its events. Expiry follows from expires_at and the clock.
CREATE TABLE registrations (
    number                 text PRIMARY KEY,
    kind                   text NOT NULL,
    registered_at          timestamptz NOT NULL,
    expires_at             timestamptz NOT NULL,
    period_months          integer NOT NULL,
    description            text NOT NULL,
    max_amount             numeric(20, 2),
    currency               text,
    reference              text NOT NULL DEFAULT '',
    controller_id          uuid NOT NULL,
    controller_uscc        text NOT NULL,
    status                 text NOT NULL,
    ended_at               timestamptz,
    modification_code_hash bytea NOT NULL
);
CREATE INDEX registrations_controller ON registrations (controller_id, registered_at);

-- Parties and items carry the instants they were added and removed, so that a
-- search as of any instant sees them as they were.
CREATE TABLE parties (
    id                  bigserial PRIMARY KEY,
    registration_number text NOT NULL REFERENCES registrations (number),
    role                text NOT NULL,
    ord                 integer NOT NULL,
    type                text NOT NULL,
    name                text NOT NULL,
    name_key            text NOT NULL,
    uscc                text,
    country             text,
    registration_no     text,
    lei                 text,
    id_number           text,
    address             text,
    added_at            timestamptz NOT NULL,
    removed_at          timestamptz
);
CREATE INDEX parties_registration ON parties (registration_number);
CREATE INDEX parties_grantor_name ON parties (name_key) WHERE role = 'grantor' AND type = 'organization';
CREATE INDEX parties_grantor_uscc ON parties (uscc) WHERE role = 'grantor';
CREATE INDEX parties_grantor_lei ON parties (lei) WHERE role = 'grantor';
CREATE INDEX parties_grantor_id_number ON parties (id_number) WHERE role = 'grantor';

-- Every grantor organization name ever registered, once per search key, for
-- the advisory similar names: a GiST trigram index walks it nearest first.
CREATE TABLE grantor_names (
    name_key text PRIMARY KEY,
    name     text NOT NULL,
    first_at timestamptz NOT NULL
);
CREATE INDEX grantor_names_trgm ON grantor_names USING gist (name_key gist_trgm_ops);

CREATE TABLE items (
    id                  text PRIMARY KEY,
    registration_number text NOT NULL REFERENCES registrations (number),
    ord                 integer NOT NULL,
    type                text NOT NULL,
    serial_number       text NOT NULL,
    serial_key          text NOT NULL,
    description         text NOT NULL DEFAULT '',
    registered_at       timestamptz NOT NULL,
    removed_at          timestamptz
);
CREATE INDEX items_registration ON items (registration_number);
CREATE INDEX items_serial_key ON items (serial_key);

-- Search certificates: exactly what each search answered.
CREATE TABLE searches (
    number            text PRIMARY KEY,
    searched_at       timestamptz NOT NULL,
    as_of             timestamptz NOT NULL,
    organization_id   uuid,
    user_id           uuid,
    criteria          jsonb NOT NULL,
    include_inactive  boolean NOT NULL,
    register_position bigint NOT NULL,
    result_count      integer NOT NULL,
    body              bytea NOT NULL
);

CREATE TABLE audit_entries (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL,
    actor           text NOT NULL,
    user_id         uuid,
    organization_id uuid,
    action          text NOT NULL,
    target          text NOT NULL DEFAULT '',
    outcome         text NOT NULL,
    source          text NOT NULL DEFAULT '',
    request_id      text NOT NULL DEFAULT '',
    detail          text NOT NULL DEFAULT ''
);
CREATE INDEX audit_entries_at ON audit_entries (at DESC, id DESC);

-- +goose Down
DROP TABLE audit_entries, searches, items, grantor_names, parties, registrations, events, register_head, tokens, users, organizations;
