#!/usr/bin/env bash
# A private PostgreSQL cluster under ./var/pg, made with this machine's
# PostgreSQL binaries. Usage: scripts/pg.sh start|stop|url|standby
#   start    create (first time) and start the cluster, create the database
#            "registry", and print its URL
#   stop     stop the cluster (and its standby)
#   url      print the URL of database ${2:-registry}
#   standby  make a fresh streaming standby of the cluster under
#            ./var/pg-standby (pg_basebackup -R), start it, and print the
#            URL of database ${2:-registry} on it: a read replica to try
#            database_replica_urls with
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/var/pg"
data="$dir/data"
port="${REGISTRY_PG_PORT:-54329}"
sdir="$root/var/pg-standby"
sdata="$sdir/data"
sport="${REGISTRY_PG_STANDBY_PORT:-54330}"

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
	settings
	if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
			-o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null || {
			tail -n 20 "$dir/server.log" >&2
			exit 1
		}
	fi
	local psql="$bin/psql"
	local db="${1:-registry}"
	if ! "$psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
		"$psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE $db" >/dev/null
	fi
	url "${1:-registry}"
}

# settings writes the register's own server settings into the cluster
# (registry.conf, included by postgresql.conf), sized to this machine: a
# quarter of its memory for shared buffers (at most 4 GB), room for the
# write-ahead log so that a large load does not checkpoint every minute, and
# lz4 for what it compresses. fsync and synchronous_commit stay on.
settings() {
	local mem_kb shared major lz4=""
	major=$("$(find_bin)/postgres" -V | grep -o '[0-9][0-9]*' | head -n 1)
	if [ "${major:-0}" -ge 15 ]; then
		lz4=$'wal_compression = lz4\ndefault_toast_compression = lz4'
	fi
	mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null || echo 1048576)
	shared=$((mem_kb / 4 / 1024))
	[ "$shared" -gt 4096 ] && shared=4096
	[ "$shared" -lt 128 ] && shared=128
	as_owner tee "$data/registry.conf" >/dev/null <<CONF
# Written by scripts/pg.sh at each start; edit the script, not this file.
shared_buffers = ${shared}MB
effective_cache_size = $((mem_kb / 2 / 1024))MB
max_wal_size = 8GB
min_wal_size = 1GB
checkpoint_timeout = 15min
checkpoint_completion_target = 0.9
max_connections = 200
$lz4
CONF
	if ! grep -q "^include_if_exists = 'registry.conf'" "$data/postgresql.conf"; then
		echo "include_if_exists = 'registry.conf'" | as_owner tee -a "$data/postgresql.conf" >/dev/null
	fi
}

stop() {
	local bin
	bin=$(find_bin)
	if [ -s "$sdata/PG_VERSION" ]; then
		as_owner "$bin/pg_ctl" -D "$sdata" -m fast stop >/dev/null 2>&1 || true
	fi
	if [ -s "$data/PG_VERSION" ]; then
		as_owner "$bin/pg_ctl" -D "$data" -m fast stop
	fi
}

# standby copies the running cluster afresh (a standby made earlier may have
# fallen behind what the primary's write-ahead log still holds).
standby() {
	local bin
	bin=$(find_bin)
	start "${1:-registry}" >/dev/null
	if [ -s "$sdata/PG_VERSION" ]; then
		as_owner "$bin/pg_ctl" -D "$sdata" -m fast stop >/dev/null 2>&1 || true
	fi
	rm -rf "$sdir"
	mkdir -p "$sdir"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$sdir"
	fi
	echo "Copying the cluster into a standby in $sdata" >&2
	as_owner "$bin/pg_basebackup" -D "$sdata" -R -X stream -c fast -h 127.0.0.1 -p "$port" -U postgres >&2
	as_owner "$bin/pg_ctl" -D "$sdata" -l "$sdir/server.log" -w -t 300 \
		-o "-p $sport -k $sdir -c listen_addresses=127.0.0.1 -c hot_standby=on -c hot_standby_feedback=on" start >/dev/null || {
		tail -n 20 "$sdir/server.log" >&2
		exit 1
	}
	echo "postgres://postgres@127.0.0.1:$sport/${1:-registry}?sslmode=disable"
}

case "${1:-}" in
start) start "${2:-registry}" ;;
stop) stop ;;
url) url "${2:-registry}" ;;
standby) standby "${2:-registry}" ;;
*)
	echo "usage: $0 start|stop|url|standby [database]" >&2
	exit 2
	;;
esac
