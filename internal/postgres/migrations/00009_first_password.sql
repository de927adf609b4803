-- +goose Up
-- A password the registry made (the first admin's, from registryd bootstrap)
-- works once: it must be changed at the first sign-in.
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE users DROP COLUMN must_change_password;
