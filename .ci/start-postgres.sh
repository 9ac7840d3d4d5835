#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the tests and print its (superuser) URL on stdout.
# Also creates the SELECT-only role nasbench_reader: postgresql://nasbench_reader@127.0.0.1:$port/nasbench_test is the
# URL for `nasbench-db sql` (which refuses a superuser).
# Installs Debian's postgresql package when missing (root only). Data lives in $NASBENCH_PG_DATA (default
# /tmp/nasbench-pg), trust authentication on loopback: a test server, never a shared one.
set -euo pipefail
port=${NASBENCH_PG_PORT:-54329}
data=${NASBENCH_PG_DATA:-/tmp/nasbench-pg}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ]; then
  apt-get update -qq >&2 && apt-get install -y -qq postgresql >/dev/null
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ ! -s "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres: "$data"
  as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
fi
if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k /tmp -c fsync=off -c max_connections=100" start >/dev/null
fi
"$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'nasbench_test'" \
  | grep -q 1 || "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE nasbench_test"
# A SELECT-only role for `nasbench-db sql` and other readers (docs/postgres.md): it can read every table the
# converters (run as postgres) create, now or later, and nothing else: no writes, no server files, no programs.
"$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d nasbench_test -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nasbench_reader') THEN
    CREATE ROLE nasbench_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
END $$;
GRANT CONNECT ON DATABASE nasbench_test TO nasbench_reader;
GRANT USAGE ON SCHEMA public TO nasbench_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO nasbench_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT SELECT ON TABLES TO nasbench_reader;
SQL
echo "postgresql://postgres@127.0.0.1:$port/nasbench_test"
