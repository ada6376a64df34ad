#!/usr/bin/env bash
# Make sure the local PostgreSQL (127.0.0.1:5432) accepts connections; start it if it is down.
set -u
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ready; then exit 0; fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "ensure-postgres: PostgreSQL is not running and pg_ctlcluster is not installed" >&2
  exit 0  # the storage tests will fail loudly with a connection error
fi
for version in $(ls /etc/postgresql 2>/dev/null); do
  echo "ensure-postgres: starting PostgreSQL $version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
done
for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
echo "ensure-postgres: PostgreSQL did not come up on 127.0.0.1:5432" >&2
exit 0
