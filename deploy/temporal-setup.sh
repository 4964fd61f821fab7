#!/bin/sh
# Creates the runbooks namespace and registers the incident search attributes; safe to rerun.
# Every call presents the client certificate when SETUP_TLS_CA is set (docker-compose.yml sets it).
set -eu
ns=runbooks
t() {
  if [ -n "${SETUP_TLS_CA:-}" ]; then
    temporal "$@" --tls-ca-path "$SETUP_TLS_CA" --tls-cert-path "$SETUP_TLS_CERT" --tls-key-path "$SETUP_TLS_KEY" --tls-server-name "$SETUP_TLS_SERVER_NAME"
  else
    temporal "$@"
  fi
}
t operator namespace describe --namespace "$ns" >/dev/null 2>&1 || t operator namespace create --namespace "$ns" --retention 30d
for attr in service target faultKind severity runbook incidentStatus drill; do
  t operator search-attribute create --namespace "$ns" --name "$attr" --type Keyword >/dev/null 2>&1 || true
done
t operator search-attribute list --namespace "$ns"
