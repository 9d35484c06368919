#!/usr/bin/env bash
# Starts (or reuses) a throwaway PostgreSQL for the tests and prints its connection URL on stdout.
#
#   url=$(.ci/postgres.sh) && export TOLLSTREAM_TEST_POSTGRES_URL="$url"
#
# It listens on 127.0.0.1 only, on a fixed port (TOLLSTREAM_TEST_POSTGRES_PORT, default 54329), keeps its data
# in TOLLSTREAM_TEST_POSTGRES_DIR (default /tmp/tollstream-postgres-<port>), and holds the database
# tollstream_test. PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user of
# Debian's package. Idempotent: a server already answering on the port is reused. Needs Debian's `postgresql`
# (or any PostgreSQL whose initdb/pg_ctl are on PATH). Stop it with: pg_ctl -D <dir> stop
set -euo pipefail

port="${TOLLSTREAM_TEST_POSTGRES_PORT:-54329}"
dir="${TOLLSTREAM_TEST_POSTGRES_DIR:-/tmp/tollstream-postgres-${port}}"
user=tollstream
password=tollstream
database=tollstream_test
url="postgres://${user}:${password}@127.0.0.1:${port}/${database}"

say() { echo "postgres.sh: $*" >&2; }

bindir=""
if command -v pg_ctl >/dev/null 2>&1; then
  # Follow symlinks (e.g. /usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin/pg_ctl) to find its siblings.
  bindir="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
else
  # Debian keeps the server binaries out of PATH; take the newest installed major version.
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/pg_ctl" ]; then bindir="$candidate"; break; fi
  done
fi
if [ -z "$bindir" ]; then
  say "no PostgreSQL server found; install it (Debian: apt-get install postgresql) or set TOLLSTREAM_TEST_POSTGRES_URL"
  exit 1
fi

# Run a server binary as the data directory's owner: ourselves, or `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Several test processes may call this at once: one sets the server up, the others wait for it. The server
# itself must not inherit the lock's descriptor (9>&- below), or it would hold the lock for its whole life.
mkdir -p "$(dirname "$dir")"
exec 9>"${dir}.lock"
flock 9

if ! "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  if [ ! -f "$dir/PG_VERSION" ]; then
    say "creating a throwaway cluster in $dir"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    pwfile="$(mktemp)"
    echo "$password" >"$pwfile"
    chmod 644 "$pwfile"
    as_owner "$bindir/initdb" -D "$dir" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 || { cat "$dir.initdb.log" >&2; rm -f "$pwfile"; exit 1; }
    rm -f "$pwfile"
  fi
  say "starting PostgreSQL on 127.0.0.1:$port"
  as_owner "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c max_connections=200 -c shared_buffers=64MB" \
    start 9>&- >&2 || { cat "$dir/server.log" >&2; exit 1; }
fi

if ! as_owner "$bindir/psql" -h "$dir" -p "$port" -U "$user" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
  as_owner "$bindir/createdb" -h "$dir" -p "$port" -U "$user" "$database"
fi

echo "$url"
