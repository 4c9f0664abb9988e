#!/bin/sh
# The PostgreSQL tong's main process. On first start (an empty $PGDATA) creates the cluster with
# superuser $POSTGRES_USER (default tongs) whose password is $POSTGRES_PASSWORD (a secret: it reaches
# initdb on a pipe, never in an argv or a file), the database $POSTGRES_DB (default tongs), and runs
# $POSTGRES_INIT_SQL (optional) in it. Then execs postgres on 0.0.0.0:5432 with password
# (scram-sha-256) authentication for every network client.
set -eu
: "${POSTGRES_USER:=tongs}" "${POSTGRES_DB:=tongs}"
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
  echo "tongs-postgres: POSTGRES_PASSWORD is not set; give it as a secret (\${secret:…}) in the tong definition" >&2
  exit 1
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\n' "$POSTGRES_PASSWORD" | initdb --username="$POSTGRES_USER" --pwfile=/dev/stdin --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C -D "$PGDATA" >/dev/null
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "host all all ::/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
  # A socket-only server for the first setup: no client on the network before it is done.
  postgres -D "$PGDATA" -c listen_addresses= -c unix_socket_directories=/run/postgresql >/dev/null 2>&1 &
  pid=$!
  until pg_isready -q -h /run/postgresql; do sleep 0.2; done
  [ "$POSTGRES_DB" = postgres ] || psql -q -h /run/postgresql -U "$POSTGRES_USER" -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
  if [ -n "${POSTGRES_INIT_SQL:-}" ]; then
    printf '%s\n' "$POSTGRES_INIT_SQL" | psql -q -v ON_ERROR_STOP=1 -h /run/postgresql -U "$POSTGRES_USER" -d "$POSTGRES_DB" >/dev/null
  fi
  kill -INT "$pid"
  wait "$pid" || true
  echo "tongs-postgres: created the cluster (user $POSTGRES_USER, database $POSTGRES_DB)" >&2
fi
unset POSTGRES_PASSWORD
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/run/postgresql
