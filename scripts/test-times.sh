#!/usr/bin/env bash
# test-times.sh [N]: reads `go test -json` from stdin and prints how long
# each package took, then the N slowest top-level tests (15 unless told),
# e.g. go test -json -count=1 ./internal/httpapi | scripts/test-times.sh
# (a test's time counts its waits for the tests it runs beside, when
# tests run in parallel).
set -euo pipefail
n=${1:-15}
jq -rs --argjson n "$n" '
	map(select(.Action == "pass" or .Action == "fail" or .Action == "skip") | select(.Elapsed != null)) as $ends |
	"packages:",
	($ends | map(select(.Test == null)) | sort_by(-.Elapsed)[] | "\(.Elapsed)s\t\(.Action)\t\(.Package)"),
	"slowest tests:",
	($ends | map(select(.Test != null and (.Test | contains("/") | not))) | sort_by(-.Elapsed) | .[:$n][] |
		"\(.Elapsed)s\t\(.Action)\t\(.Package | split("/") | last)\t\(.Test)")
'
