#!/usr/bin/env bash
# A private PostgreSQL cluster under ./var/pg, made with this machine's
# PostgreSQL binaries, its write-ahead log archived continuously with
# pgBackRest into a repository (./var/backup). Usage:
#   scripts/pg.sh start|stop|url|running|standby|backup|restore
#   start    create (first time) and start the cluster, create the database
#            "registry", and print its URL
#   stop     archive the current write-ahead log segment, then stop the
#            cluster (and its standby)
#   url      print the URL of database ${2:-registry}
#   running  exit 0 when the cluster is running, 1 when not
#   backup   take a backup into the repository: full when there is none or
#            the newest full is older than REGISTRY_BACKUP_FULL_DAYS (7),
#            else incremental; ${2:-auto} may say full, diff or incr
#   restore  restore the repository into a new data directory, to the
#            instant $2 (RFC 3339) or to "latest", keep the old one aside
#            as data.before-restore-<time>, and start the restored cluster
#   standby  make a fresh streaming standby of the cluster under
#            ./var/pg-standby (pg_basebackup -R), start it, and print the
#            URL of database ${2:-registry} on it: a read replica to try
#            database_replica_urls with
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# REGISTRY_PG_DIR and REGISTRY_BACKUP_REPO move the cluster and its
# repository (the restore test runs a cluster of its own in a temporary
# folder); docs/backups.md names every setting.
dir="${REGISTRY_PG_DIR:-$root/var/pg}"
data="$dir/data"
port="${REGISTRY_PG_PORT:-54329}"
repo="${REGISTRY_BACKUP_REPO:-$root/var/backup}"
conf="$dir/pgbackrest.conf"
stanza=registry
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
	if [ ! -s "$data/PG_VERSION" ] && [ -s "$repo/backup/$stanza/backup.info" ] && [ -z "${REGISTRY_PG_NEW:-}" ]; then
		# A missing data directory beside a repository that holds backups is
		# a lost cluster, not a first start: an empty one made here would
		# serve an empty register (and its archive would not match the
		# repository's).
		echo "The data directory $data is missing, and the backup repository $repo holds backups of it." >&2
		echo "Restore it with:  make restore RESTORE_TARGET=latest   (or an RFC 3339 instant; docs/backups.md)" >&2
		echo "To start an empty register instead, move $repo aside, or set REGISTRY_PG_NEW=1." >&2
		exit 1
	fi
	if [ ! -s "$data/PG_VERSION" ]; then
		echo "Creating a private PostgreSQL cluster in $data" >&2
		as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			exit 1
		}
	fi
	settings
	if ! running; then
		as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
			-o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null || {
			tail -n 20 "$dir/server.log" >&2
			exit 1
		}
	elif [ "$(sql postgres "SHOW archive_mode")" != on ]; then
		echo "The cluster was started before write-ahead log archiving was configured: it takes effect at its next start (make db-stop, then make run)." >&2
	fi
	stanza_create
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
	[ -n "${REGISTRY_PG_SHARED_BUFFERS_MB:-}" ] && shared=$REGISTRY_PG_SHARED_BUFFERS_MB
	backrest_conf
	as_owner tee "$data/registry.conf" >/dev/null <<CONF
# Written by scripts/pg.sh at each start; edit the script, not this file.
# Continuous archiving into the pgBackRest repository (docs/backups.md): a
# segment goes there when full, or after at most archive_timeout.
wal_level = replica
archive_mode = on
archive_command = 'pgbackrest --config=$conf --stanza=$stanza archive-push %p'
archive_timeout = 60s
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
		archive_current
		as_owner "$bin/pg_ctl" -D "$data" -m fast stop
	fi
}

running() { as_owner "$(find_bin)/pg_ctl" -D "$data" status >/dev/null 2>&1; }

# sql prints what one statement answers on the running cluster.
sql() { "$(find_bin)/psql" -h 127.0.0.1 -p "$port" -U postgres -d "$1" -Atqc "$2"; }

# archive_current closes the segment being written (pg_switch_wal) and waits,
# at most REGISTRY_PG_STOP_ARCHIVE_WAIT seconds (60), until the archiver has
# put it in the repository: what was committed before the stop is then in
# the repository, and a restore reaches it even if this disk is lost.
archive_current() {
	running || return 0
	[ "$(sql postgres "SELECT current_setting('archive_mode') = 'on' AND NOT pg_is_in_recovery()")" = t ] || return 0
	local seg waited=0 limit="${REGISTRY_PG_STOP_ARCHIVE_WAIT:-60}"
	seg=$(sql postgres "SELECT pg_walfile_name(pg_switch_wal())")
	while [ -e "$data/pg_wal/archive_status/$seg.ready" ]; do
		if [ "$waited" -ge $((limit * 10)) ]; then
			echo "The write-ahead log segment $seg is not yet in the backup repository after ${limit} s (the archiver's last failure: $(sql postgres "SELECT coalesce(last_failed_wal, 'none') || ' at ' || coalesce(last_failed_time::text, '-') FROM pg_stat_archiver")); stopping anyway: it stays in $data/pg_wal and is archived at the next start." >&2
			return 0
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
}

# backrest_conf writes pgBackRest's configuration for this cluster
# ($dir/pgbackrest.conf), read by archive_command, make backup and make
# restore. Repository 1 is a folder (REGISTRY_BACKUP_REPO, var/backup);
# every REGISTRY_BACKUP_REPO2_<OPTION> in the environment becomes
# repo2-<option> (REGISTRY_BACKUP_REPO2_S3_BUCKET=b: repo2-s3-bucket=b), a
# second repository, such as object storage, that archiving and backups
# fill as well. Retention (docs/backups.md): REGISTRY_BACKUP_FULLS full
# backups are kept (26: half a year of weekly fulls), with the write-ahead
# log for point-in-time restore since the oldest of the newest
# REGISTRY_BACKUP_PITR_FULLS (5: four to five weeks).
backrest_conf() {
	mkdir -p "$repo" "$dir/pgbackrest"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$dir/pgbackrest"
		[ "$(stat -c %U "$repo")" = postgres ] || chown postgres: "$repo"
	fi
	local fulls="${REGISTRY_BACKUP_FULLS:-26}" pitr="${REGISTRY_BACKUP_PITR_FULLS:-5}" repo2 var opt
	repo2=$(env | sed -n 's/^REGISTRY_BACKUP_REPO2_\([A-Z0-9_]*\)=\(.*\)$/\1=\2/p' | sort | while IFS='=' read -r var opt; do
		printf 'repo2-%s=%s\n' "$(tr 'A-Z_' 'a-z-' <<<"$var")" "$opt"
	done)
	if [ -n "$repo2" ]; then
		grep -q '^repo2-retention-full=' <<<"$repo2" || repo2+=$'\n'"repo2-retention-full=$fulls"
		grep -q '^repo2-retention-archive=' <<<"$repo2" || repo2+=$'\n'"repo2-retention-archive-type=full"$'\n'"repo2-retention-archive=$pitr"
	fi
	(umask 077 && as_owner tee "$conf" >/dev/null <<CONF
# Written by scripts/pg.sh; set its environment variables (docs/backups.md),
# not this file.
[global]
repo1-path=$repo
repo1-retention-full-type=count
repo1-retention-full=$fulls
repo1-retention-archive-type=full
repo1-retention-archive=$pitr
$repo2
compress-type=lz4
process-max=${REGISTRY_BACKUP_PROCESSES:-2}
start-fast=y
archive-timeout=120
log-path=$dir/pgbackrest
lock-path=$dir/pgbackrest
log-level-console=warn
log-level-file=info

[$stanza]
pg1-path=$data
pg1-port=$port
pg1-socket-path=$dir
pg1-user=postgres
CONF
	)
}

backrest() { as_owner pgbackrest --config="$conf" --stanza="$stanza" "$@"; }

# need_backrest installs Debian's pgbackrest where it is missing (as root, or
# with sudo), as make test does for its packages: without it the archive
# command fails and the write-ahead log piles up in pg_wal.
need_backrest() {
	command -v pgbackrest >/dev/null 2>&1 && return 0
	echo "pgBackRest (the backups' and WAL archive's tool) is missing: installing Debian's pgbackrest" >&2
	local sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	if ! { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbackrest >/dev/null; } ||
		! command -v pgbackrest >/dev/null 2>&1; then
		echo "pgBackRest could not be installed here; install it with:  apt-get install -y pgbackrest" >&2
		exit 1
	fi
}

# stanza_create makes the cluster's place in the repositories (once; doing
# it again checks that they match the cluster).
stanza_create() {
	need_backrest
	local out
	if ! out=$(backrest stanza-create 2>&1); then
		echo "pgBackRest could not prepare the backup repository $repo:" >&2
		echo "$out" >&2
		exit 1
	fi
}

backup() {
	need_backrest
	start registry >/dev/null
	local type="${1:-auto}" n repos=1
	grep -q '^repo2-' "$conf" && repos=2
	for n in $(seq 1 "$repos"); do
		local t="$type"
		if [ "$t" = auto ]; then
			t=incr
			# The newest full backup's age, from the repository's own list.
			local last
			last=$(backrest info --repo="$n" --output=json | grep -o '"stop":[0-9]*},"type":"full"' | grep -o '[0-9][0-9]*' | tail -n 1 || true)
			if [ -z "$last" ] || [ $(($(date +%s) - last)) -gt $((${REGISTRY_BACKUP_FULL_DAYS:-7} * 86400)) ]; then
				t=full
			fi
		fi
		echo "make backup: a $t backup into repository $n" >&2
		local started=$SECONDS
		backrest backup --repo="$n" --type="$t"
		echo "make backup: done in $((SECONDS - started)) s" >&2
		# Recorded in the register's database, so that registryd's
		# /metrics shows the backup's age and the alert watches it.
		local label
		label=$(backrest info --repo="$n" --output=json | grep -o '"label":"[^"]*"' | tail -n 1 | cut -d'"' -f4 || true)
		if ! DATABASE_URL=$(url registry) "$root/scripts/backup-record.sh" "$t" "${label:-unknown}" "repo$n" >/dev/null; then
			echo "make backup: the backup is good, but it could not be recorded for /metrics (has registryd applied its migrations?)" >&2
		fi
	done
	backrest info >&2
}

# restore restores the newest fitting backup, and the write-ahead log after
# it, into a new data directory; the old one is kept aside.
restore() {
	need_backrest
	local target="${1:-}" bin
	bin=$(find_bin)
	if [ -z "$target" ]; then
		echo "usage: make restore RESTORE_TARGET=<RFC 3339 instant, e.g. 2025-03-01T09:30:00+08:00 | latest>" >&2
		exit 2
	fi
	local args=()
	if [ "$target" = latest ]; then
		args=(--type=default)
	elif [[ "$target" =~ ^([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt\ ]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{1,6})?([Zz]|[+-][0-9]{2}:[0-9]{2})$ ]] && date -d "$target" >/dev/null 2>&1; then
		local when="${BASH_REMATCH[1]} ${BASH_REMATCH[2]}${BASH_REMATCH[3]}" zone="${BASH_REMATCH[4]}"
		case "$zone" in Z | z) zone=+00 ;; esac
		args=(--type=time "--target=$when$zone" --target-action=promote)
	else
		echo "RESTORE_TARGET=$target is neither an RFC 3339 instant with its offset (2025-03-01T09:30:00+08:00, 2025-03-01T01:30:00Z) nor latest." >&2
		exit 2
	fi
	if running; then
		if [ -z "${RESTORE_STOP:-}" ]; then
			echo "The cluster in $data is running: stop it first (make db-stop; stop registryd too), or set RESTORE_STOP=1 to have it stopped here." >&2
			exit 1
		fi
		stop
	fi
	backrest_conf
	if ! backrest info --output=json | grep -q '"label"'; then
		echo "The backup repository $repo holds no backup of this cluster (make backup takes one)." >&2
		exit 1
	fi
	local stamp aside="" sysid=""
	stamp=$(date -u +%Y%m%dT%H%M%SZ)
	if [ -e "$data" ]; then
		aside="$dir/data.before-restore-$stamp"
		if [ -s "$data/global/pg_control" ]; then
			sysid=$("$bin/pg_controldata" -D "$data" 2>/dev/null | sed -n 's/^Database system identifier: *//p')
		fi
		mv "$data" "$aside"
		echo "make restore: the old data directory is kept as $aside" >&2
	fi
	mkdir -m 0700 "$data"
	[ "$(id -u)" = 0 ] && chown postgres: "$data"
	echo "make restore: restoring ($target) into $data" >&2
	local started=$SECONDS
	if ! backrest restore "${args[@]}"; then
		rm -rf "$data"
		[ -n "$aside" ] && mv "$aside" "$data"
		echo "make restore: the restore failed (pgBackRest's log: $dir/pgbackrest)${aside:+; the old data directory is back in place}." >&2
		exit 1
	fi
	# What the old cluster wrote but had not archived (it crashed, or was
	# stopped at once) is still in its pg_wal: recovery reads a segment there
	# when the repository has none, so a restore loses nothing this disk kept.
	# Only what was written after the newest archived segment: the others
	# are in the repository, and the segments PostgreSQL recycled ahead
	# (renamed, written long before) are older than it.
	if [ -n "$sysid" ] && [ -d "$aside/pg_wal" ]; then
		local restored f copied=0 done_last newer=()
		restored=$(backrest info --output=json | grep -o '"system-id":[0-9]*' | head -n 1 | grep -o '[0-9]*$' || true)
		done_last=$(ls "$aside/pg_wal/archive_status" 2>/dev/null | grep -E '^[0-9A-F]{24}\.done$' | sort | tail -n 1 || true)
		if [ -n "$done_last" ] && [ -f "$aside/pg_wal/${done_last%.done}" ]; then
			newer=(-newer "$aside/pg_wal/${done_last%.done}")
		fi
		if [ "$restored" = "$sysid" ]; then
			for f in $(find "$aside/pg_wal" -maxdepth 1 -type f "${newer[@]}" | sort); do
				case "$(basename "$f")" in
				[0-9A-F]*[0-9A-F] | *.history)
					if [ ! -e "$aside/pg_wal/archive_status/$(basename "$f").done" ] && [ ! -e "$data/pg_wal/$(basename "$f")" ]; then
						as_owner cp -p "$f" "$data/pg_wal/"
						copied=$((copied + 1))
					fi
					;;
				esac
			done
			echo "make restore: $copied write-ahead log files copied from the old data directory's pg_wal" >&2
		fi
	fi
	settings
	as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t "${REGISTRY_RESTORE_WAIT:-600}" \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null || {
		tail -n 20 "$dir/server.log" >&2
		echo "make restore: the restored cluster did not start (above, the end of $dir/server.log). A target before the first backup's end, or after the last archived write, cannot be reached." >&2
		exit 1
	}
	local waited=0
	while [ "$(sql postgres "SELECT pg_is_in_recovery()" 2>/dev/null || echo t)" != f ]; do
		if ! running; then
			tail -n 20 "$dir/server.log" >&2
			echo "make restore: recovery stopped (above, the end of $dir/server.log). A target before the first backup's end, or after the last archived write, cannot be reached." >&2
			exit 1
		fi
		if [ "$waited" -ge $((${REGISTRY_RESTORE_WAIT:-600} * 10)) ]; then
			echo "make restore: recovery has not finished after ${REGISTRY_RESTORE_WAIT:-600} s; it goes on in the background (see $dir/server.log)." >&2
			exit 1
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	echo "make restore: restored to $target in $((SECONDS - started)) s; the cluster runs, and make run serves it." >&2
	echo "make restore: now check it against the last published checkpoint (docs/backups.md, \"After a restore\"), and take a full backup: make backup BACKUP_TYPE=full" >&2
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
running) running ;;
standby) standby "${2:-registry}" ;;
backup) backup "${2:-auto}" ;;
restore) restore "${2:-}" ;;
*)
	echo "usage: $0 start|stop|url|standby [database] | running | backup [auto|full|diff|incr] | restore <RFC 3339 instant|latest>" >&2
	exit 2
	;;
esac
