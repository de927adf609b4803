#!/usr/bin/env bash
# make run: build registryd and registryctl (saying how far it has got),
# check the PDF certificates' fonts, and start registryd on DATABASE_URL, or
# on a private cluster under ./var/pg when DATABASE_URL is unset; print its
# URL, its admin token and, while it is unused, the first admin's sign-in.
# REGISTRY_RUN_NO_BUILD=1 starts the binaries already in bin/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p var

# build compiles the commands into bin/. A first build downloads modules and
# compiles a few hundred packages, which takes minutes on a small machine:
# it reports as it goes rather than saying nothing.
build() {
	echo "make run: building bin/registryd and bin/registryctl (the first build downloads modules and compiles for a few minutes; later ones take seconds)"
	local status=0
	go build -v -o bin/ ./cmd/... 2>&1 | tee var/build.log | awk -v tty="$([ -t 1 ] && echo 1 || echo 0)" '
		/^go: downloading / { d++ }
		!/^go: downloading / { c++ }
		(d + c) % (tty ? 5 : 50) == 0 {
			line = sprintf("make run:   %d modules downloaded, %d packages compiled", d, c)
			if (tty) printf "\r%s", line; else print line
			fflush()
		}
		END { if (tty && d + c >= 5) printf "\n" }' || status=$?
	if [ "$status" != 0 ]; then
		echo "make run: the build failed; what go build said (all of it in var/build.log):" >&2
		grep -v '^[A-Za-z0-9._/-]*$' var/build.log | grep -v '^go: downloading ' | tail -n 40 >&2
		exit 1
	fi
	echo "make run: built"
}
if [ -z "${REGISTRY_RUN_NO_BUILD:-}" ]; then
	build
fi

# The PDF certificates draw Latin letters and digits with DejaVu, CJK with
# Droid Sans Fallback and the rarer ideographs (CJK Extension B and beyond)
# with HanaMin. Without them a certificate's PDF answers 503; the rest of the
# registry works.
missing=()
for f in dejavu/DejaVuSans.ttf:fonts-dejavu-core droid/DroidSansFallbackFull.ttf:fonts-droid-fallback hanazono/HanaMinB.ttf:fonts-hanazono; do
	[ -f "/usr/share/fonts/truetype/${f%%:*}" ] || missing+=("${f#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "make run: WARNING: the fonts of the PDF certificates are missing (${missing[*]}): the certificates' PDFs will answer 503 until they are installed with" >&2
	echo "make run:     apt-get install -y ${missing[*]}" >&2
fi

if [ -z "${DATABASE_URL:-}" ]; then
	echo "make run: starting the private PostgreSQL cluster under var/pg"
	DATABASE_URL=$(scripts/pg.sh start registry)
	export DATABASE_URL
fi
if [ -z "${REGISTRY_ADMIN_TOKEN:-}" ]; then
	if [ ! -s var/admin-token ]; then
		(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >var/admin-token)
	fi
	REGISTRY_ADMIN_TOKEN=$(cat var/admin-token)
	export REGISTRY_ADMIN_TOKEN
fi
if [ -z "${REGISTRY_LOG_KEY:-}" ] && [ -z "${REGISTRY_LOG_KEY_FILE:-}" ] && [ ! -s var/log.key ]; then
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
# whose one-time password must be replaced at the first sign-in; it is kept
# in var/first-admin only while it is unused (bootstrap says whether the
# admin still holds it), and a register that has them is left alone.
first_email=""
if [ -s var/first-admin ]; then
	first_email=$(sed -n 's/^first admin: *//p' var/first-admin | head -n 1)
fi
echo "make run: applying migrations"
boot=$(umask 077 && bin/registryd bootstrap ${first_email:+-email "$first_email"})
if grep -q "one-time password:" <<<"$boot"; then
	echo "$boot"
	(umask 077 && echo "$boot" >var/first-admin)
elif ! grep -q "has not yet replaced its one-time password" <<<"$boot"; then
	rm -f var/first-admin
fi
addr="${REGISTRY_ADDR:-127.0.0.1:8080}"
echo "web:          http://$addr/"
echo "registry:     http://$addr/api/v1  (health: http://$addr/healthz)"
echo "admin token:  $REGISTRY_ADMIN_TOKEN  (kept in var/admin-token)"
echo "database:     $DATABASE_URL"
echo "log key:      var/log.key (its verifier key: GET /api/v1/log/key)"
if [ -s var/first-admin ]; then
	echo "first admin:  sign in at http://$addr/signin with the email and one-time password in var/first-admin, and choose your own password"
fi
exec bin/registryd
