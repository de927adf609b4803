#!/usr/bin/env bash
# make demo: registryd on a demo register of its own (database registry_demo
# on DATABASE_URL's cluster or the private one), filled by registryctl demo
# through the API: banks, enterprises, registrations in every state a user
# meets, searches, an objection. It prints the sign-ins and keeps serving.
#
# make sandbox (scripts/demo.sh sandbox): the same on a sandbox, a test
# register for integrators (REGISTRY_SANDBOX=true): database
# registry_sandbox, address 127.0.0.1:8081, keys var/sandbox-*. Every page,
# certificate and PDF says it proves nothing, and its checkpoints' origin
# ends in /sandbox. Its certificates, kept in its own database, are never
# served by the real register, nor the real register's by it. A search
# answers at most 5 registrations (REGISTRY_SEARCH_MAX_RESULTS, unless set),
# so that the demo's borrower with a dozen registrations shows a search's
# paging.
#
# On exit (Ctrl-C included) it stops registryd, and the private cluster if
# it was this script that started it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
name=${1:-demo}
case "$name" in
demo)
	port=8080
	label="Demo register (trial)"
	;;
sandbox)
	port=8081
	label="Sandbox register (test, proves nothing)"
	export REGISTRY_SANDBOX=true
	export REGISTRY_SEARCH_MAX_RESULTS="${REGISTRY_SEARCH_MAX_RESULTS:-5}"
	;;
*)
	echo "usage: $0 [demo|sandbox]" >&2
	exit 2
	;;
esac
mkdir -p var
pid=
started_cluster=
cleanup() {
	trap - EXIT INT TERM
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ -n "$started_cluster" ]; then
		echo "stopping the private PostgreSQL cluster this script started" >&2
		scripts/pg.sh stop >/dev/null || true
	fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
if [ -z "${DATABASE_URL:-}" ]; then
	scripts/pg.sh running 2>/dev/null || started_cluster=1
	DATABASE_URL=$(scripts/pg.sh start "registry_$name")
fi
export DATABASE_URL
if [ ! -s "var/$name-admin-token" ]; then
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"var/$name-admin-token")
fi
export REGISTRY_ADMIN_TOKEN=$(cat "var/$name-admin-token")
[ -s "var/$name-log.key" ] || bin/registryd keygen -name "$name.registry.local/log" "var/$name-log.key" >/dev/null
export REGISTRY_LOG_KEY_FILE="var/$name-log.key"
[ -s "var/$name-cert-signing.key" ] || bin/registryd keygen-cert -name "$label" "var/$name-cert-signing.key" "var/$name-cert-signing.crt" >/dev/null
export REGISTRY_CERT_SIGNING_KEY="var/$name-cert-signing.key" REGISTRY_CERT_SIGNING_CERT="var/$name-cert-signing.crt"
addr="${REGISTRY_ADDR:-127.0.0.1:$port}"
export REGISTRY_ADDR="$addr"
bin/registryd &
pid=$!
for _ in $(seq 100); do
	curl -sf "http://$addr/readyz" >/dev/null 2>&1 && break
	sleep 0.2
done
bin/registryctl demo -url "http://$addr" -admin-token "$REGISTRY_ADMIN_TOKEN"
if [ "$name" = sandbox ]; then
	echo "sandbox: a test register; its pages, certificates and PDFs say they prove nothing; log origin: $(curl -sf "http://$addr/api/v1/log/checkpoint" | head -1)"
fi
echo "web: http://$addr/   (the operator's token: var/$name-admin-token; stop with Ctrl-C)"
wait $pid
