#!/usr/bin/env bash
# A private PostgreSQL cluster under ./var/pg, made with this machine's
# PostgreSQL binaries. Usage: scripts/pg.sh start|stop|url
#   start  create (first time) and start the cluster, create the database
#          "registry", and print its URL
#   stop   stop the cluster
#   url    print the URL of database ${2:-registry}
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/var/pg"
data="$dir/data"
port="${REGISTRY_PG_PORT:-54329}"

find_bin() {
	# pg_ctl may be a symbolic link into the versioned folder that holds
	# the rest (initdb, psql).
	if command -v pg_ctl >/dev/null 2>&1; then
		local d
		d=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
		if [ -x "$d/initdb" ] && [ -x "$d/psql" ]; then
			echo "$d"
			return
		fi
	fi
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then
		echo "$d"
		return
	fi
	echo "PostgreSQL's server programs (initdb, pg_ctl) are not installed." >&2
	echo "Install them with:  apt-get install -y postgresql" >&2
	exit 1
}

# As root, PostgreSQL must run as another user: the postgres account.
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

url() { echo "postgres://postgres@127.0.0.1:$port/${1:-registry}?sslmode=disable"; }

start() {
	local bin
	bin=$(find_bin)
	mkdir -p "$dir"
	if [ "$(id -u)" = 0 ]; then
		if ! id postgres >/dev/null 2>&1; then
			echo "Running as root needs the 'postgres' account to own the cluster; it comes with: apt-get install -y postgresql" >&2
			exit 1
		fi
		chown postgres: "$dir"
		if ! runuser -u postgres -- test -w "$dir"; then
			echo "The postgres account cannot reach $dir (a parent folder is closed to it); clone the project where it can, or set DATABASE_URL." >&2
			exit 1
		fi
	fi
	if [ ! -s "$data/PG_VERSION" ]; then
		echo "Creating a private PostgreSQL cluster in $data" >&2
		as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			exit 1
		}
	fi
	if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
			-o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null || {
			tail -n 20 "$dir/server.log" >&2
			exit 1
		}
	fi
	local psql="$bin/psql"
	if ! "$psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = 'registry'" | grep -q 1; then
		"$psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE registry" >/dev/null
	fi
	url "${1:-registry}"
}

stop() {
	local bin
	bin=$(find_bin)
	if [ -s "$data/PG_VERSION" ]; then
		as_owner "$bin/pg_ctl" -D "$data" -m fast stop
	fi
}

case "${1:-}" in
start) start "${2:-registry}" ;;
stop) stop ;;
url) url "${2:-registry}" ;;
*)
	echo "usage: $0 start|stop|url [database]" >&2
	exit 2
	;;
esac
