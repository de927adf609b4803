#!/usr/bin/env bash
# make test: find PostgreSQL (TEST_DATABASE_URL; else a server on
# 127.0.0.1:5432; else the private cluster under ./var/pg) and run every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

answers() {
	if command -v pg_isready >/dev/null 2>&1; then
		pg_isready -q -h 127.0.0.1 -p 5432 -t 3
	else
		(exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
	fi
}

if [ -z "${TEST_DATABASE_URL:-}" ]; then
	if [ -z "${REGISTRY_TEST_PRIVATE:-}" ] && answers; then
		TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
		echo "make test: using the PostgreSQL server on 127.0.0.1:5432"
	else
		TEST_DATABASE_URL=$(scripts/pg.sh start registry | sed 's#/registry?#/postgres?#')
		echo "make test: using the private cluster under var/pg"
	fi
fi
export TEST_DATABASE_URL
mkdir -p artifacts
go test -count=1 "$@" ./...
