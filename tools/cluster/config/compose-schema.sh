#!/bin/sh
# temporal-compose.yml's schema job (temporalio/admin-tools image): creates and migrates Temporal's
# databases with temporal-sql-tool, as `npm run cluster` does (tools/cluster/cluster-schema.ts), and
# creates the ledger's database. Every step leaves a database that has it alone, so the job runs
# on every `docker compose up`.
#
# Connection: SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD (read by temporal-sql-tool).
# Databases: DBNAME, VISIBILITY_DBNAME, LEDGER_DBNAME. Schema files: SCHEMA_DIR (the image's by default).
set -eu

: "${DBNAME:?}" "${VISIBILITY_DBNAME:?}" "${LEDGER_DBNAME:?}"
SCHEMA_DIR="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"

migrate() {
  echo "compose-schema: creating (if new) and migrating database $1"
  temporal-sql-tool --db "$1" create-database
  temporal-sql-tool --db "$1" setup-schema -v 0.0
  temporal-sql-tool --db "$1" update-schema -d "$SCHEMA_DIR/$2/versioned"
}

migrate "$DBNAME" temporal
migrate "$VISIBILITY_DBNAME" visibility
echo "compose-schema: creating (if new) database $LEDGER_DBNAME for the ledger"
temporal-sql-tool --db "$LEDGER_DBNAME" create-database
echo "compose-schema: done"
