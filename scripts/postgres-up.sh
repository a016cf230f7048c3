#!/usr/bin/env bash
# Starts the local PostgreSQL cluster the server's test suite runs against and
# makes sure its test database exists. Idempotent.
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2" "$4}' | grep -q "^$ver main online"; then
  if ! pg_lsclusters -h | grep -q "^$ver main"; then
    $SUDO pg_createcluster "$ver" main >/dev/null
  fi
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start
fi
if [ "$(id -u)" = 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { sudo -u postgres "$@"; }; fi
for _ in $(seq 1 30); do as_pg psql -qAtc 'select 1' >/dev/null 2>&1 && break; sleep 0.5; done
as_pg psql -qAtc "alter user postgres password 'postgres'" >/dev/null
if ! as_pg psql -qAtc "select 1 from pg_database where datname='vivus_consent_test'" | grep -q 1; then
  as_pg createdb vivus_consent_test
fi
