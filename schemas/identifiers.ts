import { z } from 'zod';

/**
 * Longest safe identifier, in characters. 63 fits a DNS label, an HAProxy
 * server name and a file name on every filesystem we write to.
 */
export const MAX_SAFE_ID_LENGTH = 63;

/** Longest event id, in characters. */
export const MAX_EVENT_ID_LENGTH = 128;

/**
 * The safe identifier rule as a regular expression: letters, digits, `.`, `_`
 * and `-`, starting with a letter or digit, at most 63 characters, and never
 * `..` (so a value can never climb out of a directory).
 */
export const SAFE_ID_PATTERN = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The event id rule: 1 to 128 characters of `A-Z a-z 0-9 . _ : -`. */
export const EVENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Human wording of {@link SAFE_ID_PATTERN}, reused in error messages and docs. */
export const SAFE_ID_RULE =
  "must be a safe identifier: 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'";

const EVENT_ID_RULE = "must be 1-128 characters of letters, digits, '.', '_', ':' or '-'";

/**
 * A string that is safe to place in a load-balancer command argument, a file
 * path segment or a workflow id. Values reach argv arrays and paths, so the
 * rule is deliberately narrow.
 */
export const SafeId = z
  .string()
  .max(MAX_SAFE_ID_LENGTH, { error: `must be at most ${MAX_SAFE_ID_LENGTH} characters` })
  .regex(SAFE_ID_PATTERN, { error: SAFE_ID_RULE });
export type SafeId = z.infer<typeof SafeId>;

/** The affected service (an HAProxy backend, a unit of deployment). */
export const ServiceId = SafeId.brand<'ServiceId'>();
export type ServiceId = z.infer<typeof ServiceId>;

/** The affected node or instance within a service (an HAProxy server name). */
export const TargetId = SafeId.brand<'TargetId'>();
export type TargetId = z.infer<typeof TargetId>;

/** A fault event's id; also the JetStream `Nats-Msg-Id` used to drop repeats. */
export const EventId = z
  .string()
  .regex(EVENT_ID_PATTERN, { error: EVENT_ID_RULE })
  .brand<'EventId'>();
export type EventId = z.infer<typeof EventId>;

const INCIDENT_ID_PATTERN =
  /^incident\/(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,62}\/(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * The workflow id of the incident for one service and target: at most one
 * incident runs per target, so a repeat fault finds the open one.
 */
export const IncidentId = z
  .string()
  .regex(INCIDENT_ID_PATTERN, { error: 'must look like incident/<service>/<target>' })
  .brand<'IncidentId'>();
export type IncidentId = z.infer<typeof IncidentId>;

/**
 * Deterministic workflow id for the incident on `target` of `service`.
 *
 * Pure string work with no imports at call time, so workflow code may use it.
 */
export function incidentIdFor(service: ServiceId, target: TargetId): IncidentId {
  return `incident/${service}/${target}` as IncidentId;
}
