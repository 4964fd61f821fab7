import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { INCIDENT_SEARCH_ATTRIBUTE_NAMES as NAMES } from './incident-wire-names';

/** Search attribute keys set on every incident; workflow-safe (no I/O). */
export const SA = {
  service: defineSearchAttributeKey(NAMES.service, SearchAttributeType.KEYWORD),
  target: defineSearchAttributeKey(NAMES.target, SearchAttributeType.KEYWORD),
  faultKind: defineSearchAttributeKey(NAMES.faultKind, SearchAttributeType.KEYWORD),
  severity: defineSearchAttributeKey(NAMES.severity, SearchAttributeType.KEYWORD),
  runbook: defineSearchAttributeKey(NAMES.runbook, SearchAttributeType.KEYWORD),
  incidentStatus: defineSearchAttributeKey(NAMES.incidentStatus, SearchAttributeType.KEYWORD),
  /** The drill that provoked the incident (`drill/...`); unset on real incidents. */
  drill: defineSearchAttributeKey(NAMES.drill, SearchAttributeType.KEYWORD),
} as const;

/** Names and Temporal type names, as registered on the namespace. */
export { SEARCH_ATTRIBUTE_TYPES } from './incident-wire-names';
