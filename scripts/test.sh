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

# The PDF certificates embed TrueType fonts (Latin, CJK, CJK beyond the
# Basic Multilingual Plane), and their tests read them back with poppler's
# pdftotext, pdftoppm and pdfsig.
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || [ ! -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] ||
	[ ! -f /usr/share/fonts/truetype/hanazono/HanaMinB.ttf ] || ! command -v pdfsig >/dev/null 2>&1; then
	echo "make test: installing fonts-dejavu-core, fonts-droid-fallback, fonts-hanazono and poppler-utils for the PDF certificates"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core fonts-droid-fallback fonts-hanazono poppler-utils >/dev/null
fi

# The restore test backs up and restores a private cluster with pgBackRest.
if ! command -v pgbackrest >/dev/null 2>&1; then
	echo "make test: installing pgbackrest for the restore test"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbackrest >/dev/null
fi

# The browser tests drive Debian's chromium-headless-shell (Chromium's
# headless shell: the same Blink at a third of the full browser's CPU);
# install it where it is missing, with CJK fonts, so that screenshots of
# Chinese pages are readable. The full chromium serves where the shell's
# package is not to be had (CHROMIUM names another binary).
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium-headless-shell >/dev/null 2>&1; then
	echo "make test: installing Debian's chromium-headless-shell for the browser tests"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell fonts-noto-cjk >/dev/null ||
		command -v chromium >/dev/null 2>&1 ||
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
elif command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh 2>/dev/null)" ] && [ "$(id -u)" = 0 ]; then
	echo "make test: installing CJK fonts for readable screenshots"
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null) ||
		echo "make test: no CJK fonts; screenshots of Chinese pages will show boxes"
fi

# registryd and registryctl, built once for the tests of every package that
# starts them (REGISTRY_TEST_BIN), while the TypeScript check below runs on
# the other CPU.
# Linked without DWARF (-ldflags=-w; TEST_LDFLAGS= keeps it): nothing the
# tests run reads it (a panic's stack comes from the symbol table), and
# writing it took a quarter of each link, of which there are two dozen.
ldflags=${TEST_LDFLAGS--w}
bin=$(mktemp -d "${TMPDIR:-/tmp}/registry-test-bin-XXXXXX")
trap 'rm -rf "$bin"' EXIT
go build -ldflags="$ldflags" -o "$bin/" ./cmd/registryd ./cmd/registryctl &
building=$!

# The OpenAPI document through tools a bank would use, pinned in
# clients/typescript-check/package-lock.json: openapi-typescript generates
# the types, tsc compiles a typed client's day against them (no casts) into
# dist/, and Redocly's recommended rules lint the document at zero errors.
# This comes before the Go tests: TestATypeScriptDay (client/) runs the
# compiled day with node against a registry on loopback.
if command -v npm >/dev/null; then
	# node_modules is installed again whenever the lock file changes.
	(cd clients/typescript-check && lock=$(sha256sum package-lock.json | cut -d' ' -f1) &&
		{ [ "$(cat node_modules/.lock-sha256 2>/dev/null)" = "$lock" ] || { npm ci --no-audit --no-fund && echo "$lock" >node_modules/.lock-sha256; }; } &&
		npm run --silent check)
else
	echo "npm is missing: the TypeScript example and the Redocly check of the OpenAPI document cannot run (apt-get install -y nodejs npm)" >&2
	exit 1
fi

if ! wait "$building"; then
	echo "make test: go build of cmd/registryd and cmd/registryctl failed" >&2
	exit 1
fi
export REGISTRY_TEST_BIN=$bin

# The suite is bound by the CPU (two cores here, shared by the tests,
# PostgreSQL and Chromium), so two settings trade what is plentiful for it:
# - GOGC=400: the tests' processes, registryd's started by them and the
#   compiler collect garbage a quarter as often, for more memory (a test
#   binary peaks at a few hundred MiB);
# - PGOPTIONS -c jit=off, read by every PostgreSQL client: the tests' few
#   big queries (counting 10,000 registrations' events) are compiled by
#   LLVM at a cost that only pays back on the register's real sizes.
export GOGC="${GOGC:-400}"
export PGOPTIONS="${PGOPTIONS:--c jit=off}"
# Browser tests save a screenshot of each step and language where
# REGISTRY_SCREENSHOTS says (make screenshots: artifacts/screenshots), and
# otherwise only a failure's. Full-page PNGs of every step took a third of
# the browser's CPU and of the web tests' time.
if [ -n "${REGISTRY_SCREENSHOTS:-}" ]; then
	case $REGISTRY_SCREENSHOTS in /*) ;; *) REGISTRY_SCREENSHOTS=$root/$REGISTRY_SCREENSHOTS ;; esac
	mkdir -p "$REGISTRY_SCREENSHOTS"
	export REGISTRY_SCREENSHOTS
fi
# Tests run in parallel, each on a database of its own, and mostly wait
# for PostgreSQL, the disk or a process: four at a time in each package
# (TEST_PARALLEL), whatever the CPUs. More would not fit the server: at
# eight, cmd/registryd's tests alone held over 70 of its 100 connections.
parallel=${TEST_PARALLEL:-4}
# -vet=off: make lint runs go vet over the same packages (CI runs make lint
# before make test), with every check that go test's subset has; go test
# would vet each test package again (unless the build cache holds its last
# result) before running it. TEST_VET= (empty) puts go test's own checks
# back; TEST_VET=<checks> is go test's -vet list.
vet=${TEST_VET-off}
# go test runs three packages at a time (TEST_PACKAGES), in the order
# given. Three, on two CPUs: the browser's tests take turns at one browser
# and registryd's wait on processes and clusters, so that two left a tenth
# of the CPU idle; three left 4% and took 0.87 of two's time; four took
# 123 s against three's 118 and 122 (more at once, more CPU for the same
# work). The web pages' package goes first: it is the longest, and started
# last it ran alone at the end. registryd's and the API's come next, then
# the load generator's (17 s): after the small packages it ran alone at
# the end with the CPUs half idle.
module=$(go list -m)
first=("$module/internal/web" "$module/cmd/registryd" "$module/internal/httpapi" "$module/cmd/registry-bench")
mapfile -t rest < <(go list ./... | grep -vxF "$(printf '%s\n' "${first[@]}")")
# The deployment files, read by the parsers of the tools that run them (a
# module of its own, so that the registry's build does not carry them),
# checked beside the registry's tests: linking their parsers alone took
# seconds at the end. Their output follows the registry's.
checks=$bin/deployments-check.out
(cd deployments/check && go test -count=1 -vet="$vet" -ldflags="$ldflags" -parallel "$parallel" "$@" ./...) >"$checks" 2>&1 &
checking=$!
status=0
go test -count=1 -vet="$vet" -ldflags="$ldflags" -p "${TEST_PACKAGES:-3}" -parallel "$parallel" "$@" "${first[@]}" "${rest[@]}" || status=$?
wait "$checking" || status=$((status ? status : 1))
cat "$checks"
exit "$status"
