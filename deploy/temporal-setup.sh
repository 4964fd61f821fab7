#!/bin/sh
# Registers the incident search attributes on the runbooks namespace; safe to rerun.
set -eu
ns=runbooks
temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1 || temporal operator namespace create --namespace "$ns" --retention 30d
for attr in service target faultKind severity runbook incidentStatus; do
  temporal operator search-attribute create --namespace "$ns" --name "$attr" --type Keyword >/dev/null 2>&1 || true
done
temporal operator search-attribute list --namespace "$ns"
