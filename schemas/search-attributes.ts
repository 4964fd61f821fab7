import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attribute keys set on every incident; workflow-safe (no I/O). */
export const SA = {
  service: defineSearchAttributeKey('service', SearchAttributeType.KEYWORD),
  target: defineSearchAttributeKey('target', SearchAttributeType.KEYWORD),
  faultKind: defineSearchAttributeKey('faultKind', SearchAttributeType.KEYWORD),
  severity: defineSearchAttributeKey('severity', SearchAttributeType.KEYWORD),
  runbook: defineSearchAttributeKey('runbook', SearchAttributeType.KEYWORD),
  incidentStatus: defineSearchAttributeKey('incidentStatus', SearchAttributeType.KEYWORD),
  /** The drill that provoked the incident (`drill/...`); unset on real incidents. */
  drill: defineSearchAttributeKey('drill', SearchAttributeType.KEYWORD),
} as const;

/** Names and Temporal type names, as registered on the namespace. */
export const SEARCH_ATTRIBUTE_TYPES: Record<string, string> = Object.fromEntries(
  Object.values(SA).map((key) => [key.name, key.type === SearchAttributeType.KEYWORD ? 'Keyword' : key.type]),
);
