#!/usr/bin/env bash
# make run: start registryd on DATABASE_URL, or on a private cluster under
# ./var/pg when DATABASE_URL is unset, and print its URL and admin token.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ -z "${DATABASE_URL:-}" ]; then
	DATABASE_URL=$(scripts/pg.sh start registry)
	export DATABASE_URL
fi
if [ -z "${REGISTRY_ADMIN_TOKEN:-}" ]; then
	mkdir -p var
	if [ ! -s var/admin-token ]; then
		(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >var/admin-token)
	fi
	REGISTRY_ADMIN_TOKEN=$(cat var/admin-token)
	export REGISTRY_ADMIN_TOKEN
fi
if [ -z "${REGISTRY_LOG_KEY:-}" ] && [ -z "${REGISTRY_LOG_KEY_FILE:-}" ] && [ ! -s var/log.key ]; then
	mkdir -p var
	bin/registryd keygen var/log.key
fi
# The PDF certificates are signed; a trial gets a self-signed pair made here.
if [ -z "${REGISTRY_CERT_SIGNING_KEY:-}" ]; then
	if [ ! -s var/cert-signing.key ]; then
		mkdir -p var
		bin/registryd keygen-cert var/cert-signing.key var/cert-signing.crt >/dev/null
	fi
	export REGISTRY_CERT_SIGNING_KEY=var/cert-signing.key REGISTRY_CERT_SIGNING_CERT=var/cert-signing.crt
fi
# An empty register gets the registry's own organization and a first admin
# whose one-time password must be changed at the first sign-in (kept in
# var/first-admin until then); a register that has them is left alone.
mkdir -p var
(umask 077 && bin/registryd bootstrap | tee var/bootstrap.out)
if grep -q "one-time password" var/bootstrap.out; then
	(umask 077 && cp var/bootstrap.out var/first-admin)
fi
rm -f var/bootstrap.out
addr="${REGISTRY_ADDR:-127.0.0.1:8080}"
echo "web:          http://$addr/"
echo "registry:     http://$addr/api/v1  (health: http://$addr/healthz)"
echo "admin token:  $REGISTRY_ADMIN_TOKEN  (kept in var/admin-token)"
echo "database:     $DATABASE_URL"
echo "log key:      var/log.key (its verifier key: GET /api/v1/log/key)"
if [ -s var/first-admin ]; then
	echo "first admin:  sign in at http://$addr/signin with what var/first-admin holds, and choose your own password"
fi
exec bin/registryd
