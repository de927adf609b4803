#!/usr/bin/env bash
# backup-record.sh: records in the database that a backup succeeded, so that
# registryd's /metrics shows its age (registry_backup_last_completed_timestamp_seconds)
# and the alert "RegistryBackupTooOld" watches it.
#
#   DATABASE_URL=postgres://... scripts/backup-record.sh KIND LABEL REPOSITORY [FINISHED_AT]
#
#   KIND         full | diff | incr (pgBackRest's types), base (pg_basebackup), ...:
#                lower-case letters, digits, '-' and '_', at most 32
#   LABEL        the tool's name for the backup (pgBackRest's label, a file name)
#   REPOSITORY   where it is kept (pgBackRest's repo1, a path, a bucket)
#   FINISHED_AT  when it finished, as PostgreSQL reads a timestamptz (RFC 3339
#                works); now when left out
#   DATABASE_URL the register's database, on its primary (a standby refuses
#                the write); the registry's migrations made the table.
#
# Call it only after the backup tool exited 0: a row claims a backup that can
# be restored. It exits non-zero, and prints why, when the row was not
# written; the backup itself stays good, but the alert will fire. Nothing
# but psql is needed (the postgres image has it).
set -euo pipefail

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: DATABASE_URL=... $0 KIND LABEL REPOSITORY [FINISHED_AT]" >&2
	exit 2
fi
if [ -z "${DATABASE_URL:-}" ]; then
	echo "$0: DATABASE_URL is not set" >&2
	exit 2
fi

# The values travel as psql variables, quoted by psql (:'name'), never
# pasted into the SQL.
psql "$DATABASE_URL" --no-psqlrc --quiet -v ON_ERROR_STOP=1 \
	-v kind="$1" -v label="$2" -v repository="$3" -v finished_at="${4:-}" <<'SQL'
INSERT INTO backups (kind, label, repository, finished_at)
VALUES (:'kind', :'label', :'repository', coalesce(nullif(:'finished_at', '')::timestamptz, now()));
SQL
