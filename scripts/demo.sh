#!/usr/bin/env bash
# make demo: registryd on a demo register of its own (database registry_demo
# on DATABASE_URL's cluster or the private one), filled by registryctl demo
# through the API: banks, enterprises, registrations in every state a user
# meets, searches, an objection. It prints the sign-ins and keeps serving.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p var
if [ -z "${DATABASE_URL:-}" ]; then
	DATABASE_URL=$(scripts/pg.sh start registry_demo)
fi
export DATABASE_URL
if [ ! -s var/demo-admin-token ]; then
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >var/demo-admin-token)
fi
export REGISTRY_ADMIN_TOKEN=$(cat var/demo-admin-token)
[ -s var/demo-log.key ] || bin/registryd keygen -name demo.registry.local/log var/demo-log.key >/dev/null
export REGISTRY_LOG_KEY_FILE=var/demo-log.key
[ -s var/demo-cert-signing.key ] || bin/registryd keygen-cert -name "Demo register (trial)" var/demo-cert-signing.key var/demo-cert-signing.crt >/dev/null
export REGISTRY_CERT_SIGNING_KEY=var/demo-cert-signing.key REGISTRY_CERT_SIGNING_CERT=var/demo-cert-signing.crt
addr="${REGISTRY_ADDR:-127.0.0.1:8080}"
export REGISTRY_ADDR="$addr"
bin/registryd &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do
	curl -sf "http://$addr/readyz" >/dev/null 2>&1 && break
	sleep 0.2
done
bin/registryctl demo -url "http://$addr" -admin-token "$REGISTRY_ADMIN_TOKEN"
echo "web: http://$addr/   (the operator's token: var/demo-admin-token; stop with Ctrl-C)"
wait $pid
