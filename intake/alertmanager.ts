import { createHash } from 'node:crypto';
import {
  FaultEvent,
  KIND_PATTERN,
  LabelName,
  MAX_ANNOTATION_VALUE_LENGTH,
  MAX_KIND_LENGTH,
  MAX_LABEL_NAME_LENGTH,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LABELS,
  MAX_SOURCE_LENGTH,
  type Severity,
} from '../schemas/fault-event';
import { MAX_SAFE_ID_LENGTH, SAFE_ID_PATTERN, SafeId } from '../schemas/identifiers';
import {
  AlertmanagerPayload,
  DEFAULT_SEVERITY_MAP,
  type AlertmanagerAlert,
  type AlertmanagerMapping,
} from '../schemas/alertmanager';
import { ownValue, setOwn } from '../schemas/own-string-map';
import type { ParseFailure } from '../schemas/parse-fault-event';
import {
  decodeJsonBody,
  describeIssues,
  formatIssues,
  invalidFrom,
  readableErrors,
} from '../schemas/parse-fault-event';

/** Largest accepted webhook body, in bytes (1 MiB); a group of many alerts is larger than one fault. */
export const MAX_ALERTMANAGER_BODY_BYTES = 1024 * 1024;

/**
 * Outcome of {@link parseAlertmanagerBody}. `rawAlerts` are the alerts as
 * sent (before defaults, with every key), which is what a dead letter keeps.
 */
export type AlertmanagerParseResult = { ok: true; payload: AlertmanagerPayload; rawAlerts: readonly unknown[] } | ParseFailure;

/** Size-checks, decodes and validates a webhook body; never throws. */
export function parseAlertmanagerBody(bytes: Uint8Array): AlertmanagerParseResult {
  const decoded = decodeJsonBody(bytes, MAX_ALERTMANAGER_BODY_BYTES);
  if (!decoded.ok) return decoded;
  const payload = AlertmanagerPayload.safeParse(decoded.value, { error: readableErrors });
  if (!payload.success) return invalidFrom(payload.error);
  return { ok: true, payload: payload.data, rawAlerts: (decoded.value as { alerts: unknown[] }).alerts };
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * Forces a value into a character set deterministically: disallowed
 * characters become `_`, a leading character outside `leading` gets an `x`
 * prefix, and an over-long value keeps its head plus a hash of the whole so
 * distinct long values stay distinct.
 */
function normalise(value: string, disallowed: RegExp, leading: RegExp, maxLength: number): string {
  let out = value.replace(disallowed, '_').replace(/\.(?=\.)/g, '_');
  if (!leading.test(out)) out = `x${out}`;
  if (out.length > maxLength) {
    const hash = shortHash(value).slice(0, 8);
    out = `${out.slice(0, maxLength - hash.length - 1)}-${hash}`;
  }
  return out;
}

/**
 * Maps any non-empty string into the safe identifier set, e.g.
 * `10.0.0.1:9100` → `10.0.0.1_9100`. Values already safe are unchanged.
 */
export function toSafeId(value: string): string {
  if (SAFE_ID_PATTERN.test(value)) return value;
  return normalise(value, /[^A-Za-z0-9._-]/g, /^[A-Za-z0-9]/, MAX_SAFE_ID_LENGTH);
}

/** Maps any non-empty string into the `kind` set, e.g. `Node Down` → `Node_Down`. */
export function toFaultKind(value: string): string {
  if (KIND_PATTERN.test(value)) return value;
  return normalise(value, /[^A-Za-z0-9_:-]/g, /^[A-Za-z0-9_]/, MAX_KIND_LENGTH);
}

function toLabelName(name: string): string {
  return normalise(name, /[^A-Za-z0-9_./-]/g, /^[A-Za-z_]/, MAX_LABEL_NAME_LENGTH);
}

function truncate(value: string, maxLength: number): string {
  return value.length <= maxLength ? value : `${value.slice(0, maxLength - 1)}…`;
}

/**
 * Fits a label map into the fault bounds rather than refusing the alert:
 * names are normalised, values truncated, and past {@link MAX_LABELS}
 * entries the names sorting last are dropped. Names such as `constructor`
 * and `__proto__` are ordinary labels: checked and set as own keys.
 */
function boundMap(map: Record<string, string>, maxValueLength: number): Record<string, string> {
  const out: Record<string, string> = {};
  const names = Object.keys(map).sort();
  for (const name of names) {
    if (Object.keys(out).length >= MAX_LABELS) break;
    const value = ownValue(map, name);
    if (value === undefined || name === '') continue;
    const safeName = LabelName.safeParse(name).success ? name : toLabelName(name);
    if (!Object.hasOwn(out, safeName)) setOwn(out, safeName, truncate(value, maxValueLength));
  }
  return out;
}

/**
 * Stable fingerprint of an alert's labels, used when the sender gives none.
 * Same labels in any order give the same value.
 */
export function labelsFingerprint(labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((name) => [name, labels[name]]);
  return shortHash(JSON.stringify(sorted));
}

const FINGERPRINT_PATTERN = /^[A-Za-z0-9]{1,64}$/;

function firstLabel(labels: Record<string, string>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = ownValue(labels, name);
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** Alertmanager writes the zero time (year 1) for "no end". */
function meaningfulTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || ms <= 0) return undefined;
  return ms;
}

/** Thrown inside the mapping for an alert that cannot become a fault. */
export class UnmappableAlertError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnmappableAlertError';
  }
}

/**
 * Maps one alert to a fault event, throwing {@link UnmappableAlertError}
 * when a required label is missing or the result fails the fault schema.
 */
export function alertToFaultEvent(
  alert: AlertmanagerAlert,
  payload: Pick<AlertmanagerPayload, 'receiver'>,
  mapping: AlertmanagerMapping,
  now: Date,
): FaultEvent {
  const { labels } = alert;
  const service = firstLabel(labels, mapping.serviceLabels);
  const target = firstLabel(labels, mapping.targetLabels);
  const kind = firstLabel(labels, [mapping.kindLabel]);
  const missing = [
    service === undefined ? `service (labels ${mapping.serviceLabels.join(', ')})` : undefined,
    target === undefined ? `target (labels ${mapping.targetLabels.join(', ')})` : undefined,
    kind === undefined ? `kind (label ${mapping.kindLabel})` : undefined,
  ].filter((entry): entry is string => entry !== undefined);
  if (service === undefined || target === undefined || kind === undefined) {
    throw new UnmappableAlertError(`no value for ${missing.join('; ')}`);
  }

  // A Map, because a label value is data: `constructor` must not find Object.prototype's.
  const severities = new Map<string, Severity>(Object.entries(DEFAULT_SEVERITY_MAP));
  for (const [value, severity] of Object.entries(mapping.severityMap)) {
    severities.set(value.toLowerCase(), severity);
  }
  const severityValue = ownValue(labels, mapping.severityLabel)?.trim().toLowerCase();
  const severity =
    (severityValue === undefined ? undefined : severities.get(severityValue)) ?? mapping.defaultSeverity;

  const startsAtMs = Date.parse(alert.startsAt);
  const fingerprint =
    alert.fingerprint !== undefined && FINGERPRINT_PATTERN.test(alert.fingerprint)
      ? alert.fingerprint
      : labelsFingerprint(labels);
  const resolved = alert.status === 'resolved';
  const id = `am-${fingerprint}-${startsAtMs}${resolved ? '-resolved' : ''}`;
  const observedMs = resolved ? (meaningfulTime(alert.endsAt) ?? now.getTime()) : startsAtMs;

  const runbookHint = ownValue(labels, mapping.runbookLabel);
  const runbook =
    runbookHint !== undefined && SafeId.safeParse(runbookHint).success ? runbookHint : undefined;

  const annotations = { ...alert.annotations };
  if (alert.generatorURL && ownValue(annotations, 'generatorURL') === undefined) {
    setOwn(annotations, 'generatorURL', alert.generatorURL);
  }

  const candidate = {
    id,
    source: truncate(`${mapping.sourcePrefix}:${payload.receiver}`, MAX_SOURCE_LENGTH),
    service: toSafeId(service),
    target: toSafeId(target),
    kind: toFaultKind(kind),
    severity,
    status: alert.status,
    observedAt: new Date(observedMs).toISOString(),
    labels: boundMap(labels, MAX_LABEL_VALUE_LENGTH),
    annotations: boundMap(annotations, MAX_ANNOTATION_VALUE_LENGTH),
    ...(runbook === undefined ? {} : { runbook }),
  };
  const parsed = FaultEvent.safeParse(candidate, { error: readableErrors });
  if (!parsed.success) {
    throw new UnmappableAlertError(describeIssues(formatIssues(parsed.error)), { cause: parsed.error });
  }
  return parsed.data;
}

/** Outcome of {@link alertsToFaultEvents}: one event per mappable alert, in order. */
export interface AlertmanagerMappingResult {
  events: FaultEvent[];
  rejected: { index: number; error: string }[];
}

/**
 * Turns every alert of a notification into a fault event. An alert that
 * cannot be mapped is reported by its index and does not hold back the
 * others in its group.
 *
 * @param now used as `observedAt` of a resolved alert that carries no end time.
 */
export function alertsToFaultEvents(
  payload: AlertmanagerPayload,
  mapping: AlertmanagerMapping,
  now: Date,
): AlertmanagerMappingResult {
  const result: AlertmanagerMappingResult = { events: [], rejected: [] };
  payload.alerts.forEach((alert, index) => {
    try {
      result.events.push(alertToFaultEvent(alert, payload, mapping, now));
    } catch (error) {
      if (!(error instanceof UnmappableAlertError)) throw error;
      result.rejected.push({ index, error: error.message });
    }
  });
  return result;
}
