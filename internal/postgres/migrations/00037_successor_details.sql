-- +goose Up
-- A succession names the successor among each registration's secured
-- parties as the 2021 Measures ask of a party added by amendment: with its
-- domicile and legal representative, when the admin gives them.
ALTER TABLE successions
    ADD COLUMN successor_address              text NOT NULL DEFAULT '',
    ADD COLUMN successor_legal_representative text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE successions DROP COLUMN successor_address, DROP COLUMN successor_legal_representative;
