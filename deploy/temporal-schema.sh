#!/bin/sh
# Creates Temporal's two PostgreSQL databases and brings their schemas to the
# version the server image expects; safe to rerun (existing databases are
# kept, applied schema versions are skipped). Runs in the admin-tools image,
# whose schema files live under /etc/temporal/schema. The password comes in
# SQL_PASSWORD, never on the command line.
set -eu
schema=/etc/temporal/schema/postgresql/v12
sql() {
  temporal-sql-tool --plugin postgres12 --endpoint "$POSTGRES_SEEDS" --port "$DB_PORT" --user "$POSTGRES_USER" "$@"
}
for db in temporal:temporal temporal_visibility:visibility; do
  name=${db%%:*}
  dir=${db#*:}
  sql --database "$name" create-database >/dev/null 2>&1 || true
  sql --database "$name" setup-schema --version 0.0
  sql --database "$name" update-schema --schema-dir "$schema/$dir/versioned"
done
