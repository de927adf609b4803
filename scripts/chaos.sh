#!/usr/bin/env bash
# make chaos: the fault tests, run again and again (CHAOS_RUNS, 5 by default),
# each printing its figures: PostgreSQL crashed under load, requests at their
# deadlines, a pool of two, slow and idle clients, webhook deliveries across
# kill -9. make test runs each once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -z "${TEST_DATABASE_URL:-}" ]; then
	if pg_isready -q -h 127.0.0.1 -p 5432 -t 3 2>/dev/null; then
		TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	else
		TEST_DATABASE_URL=$(scripts/pg.sh start registry | sed 's#/registry?#/postgres?#')
	fi
fi
export TEST_DATABASE_URL
runs=${CHAOS_RUNS:-5}
echo "make chaos: $runs runs of each fault test"
go test -count="$runs" -v -timeout 60m \
	-run 'TestDatabaseCrashLosesNoAcknowledgedFiling|TestRequestsEndAtTheirDeadline|TestPoolOfTwoNeverDeadlocks|TestSlowAndIdleClients|TestDeliveriesSurviveKill|TestClock' \
	./cmd/registryd ./internal/httpapi 2>&1 |
	grep -E '^(=== RUN|--- |ok|FAIL|PASS)|_test\.go:[0-9]+: ' | grep -v '^=== RUN'
