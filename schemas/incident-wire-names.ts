/*
 * The search attributes Temporal knows an incident by, as plain strings: a
 * reader that talks to Temporal's HTTP API (incidents/incident-reads-http.ts)
 * or builds a visibility query uses them without loading the SDK, and
 * schemas/search-attributes.ts builds its typed keys from the same names.
 */

/** Search attributes set on every incident, by the key our code reads them under. */
export const INCIDENT_SEARCH_ATTRIBUTE_NAMES = {
  service: 'service',
  target: 'target',
  faultKind: 'faultKind',
  severity: 'severity',
  runbook: 'runbook',
  incidentStatus: 'incidentStatus',
  /** The drill that provoked the incident (`drill/...`); unset on real incidents. */
  drill: 'drill',
} as const;

/** Names and Temporal type names of the incident search attributes (all Keyword), as registered on the namespace. */
export const SEARCH_ATTRIBUTE_TYPES: Record<string, string> = Object.fromEntries(Object.values(INCIDENT_SEARCH_ATTRIBUTE_NAMES).map((name) => [name, 'Keyword']));

/**
 * Names of the incident workflow's messages a reader without the SDK sends
 * or finds in a history: the same strings as workflows/messages.ts defines
 * them with (a unit test holds the two together).
 */
export const INCIDENT_MESSAGE_NAMES = {
  /** The query `incidentState` answers. */
  stateQuery: 'state',
  faultObserved: 'faultObserved',
  /** A batch of firing events the intake coalesced into one signal. */
  faultsObserved: 'faultsObserved',
  faultResolved: 'faultResolved',
} as const;
