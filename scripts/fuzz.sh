#!/usr/bin/env bash
# make fuzz: every fuzz target for FUZZTIME (30s by default) each. A failing
# input is written under the package's testdata/fuzz/ and then runs in make
# test as a seed: fix the bug, keep the input.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
time=${FUZZTIME:-30s}
status=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "make fuzz: $target ($pkg) for $time"
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg" 2>&1 | tail -3; then
			status=1
		fi
	done
done
exit $status
