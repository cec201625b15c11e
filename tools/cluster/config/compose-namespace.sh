#!/bin/sh
# temporal-compose.yml's setup job (temporalio/admin-tools image): waits for the frontend, creates
# the namespace and registers waymark's search attributes in it, as `npm run cluster` does
# (tools/cluster/cluster-namespace.ts). Whatever exists already is left alone.
#
# TEMPORAL_ADDRESS (read by the temporal CLI), NAMESPACE, RETENTION (e.g. 72h), and
# WAYMARK_SEARCH_ATTRIBUTES: space-separated Name=Type pairs.
set -eu

: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}" "${RETENTION:?}" "${WAYMARK_SEARCH_ATTRIBUTES:?}"

tries=0
until temporal operator cluster health >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "compose-namespace: the frontend at $TEMPORAL_ADDRESS did not become healthy" >&2
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "compose-namespace: namespace $NAMESPACE exists"
else
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION"
  echo "compose-namespace: created namespace $NAMESPACE"
fi

existing="$(temporal operator search-attribute list --namespace "$NAMESPACE")"
for pair in $WAYMARK_SEARCH_ATTRIBUTES; do
  name="${pair%%=*}"
  type="${pair#*=}"
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "compose-namespace: search attribute $name exists"
  else
    temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type "$type"
    echo "compose-namespace: registered search attribute $name ($type)"
  fi
done
