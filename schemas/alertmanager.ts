import { z } from 'zod';
import { LabelName, Severity } from './fault-event';
import { ownStringMap } from './own-string-map';

/*
 * The Alertmanager (and Grafana) webhook payload, and the label mapping that
 * turns its alerts into fault events. The intake parses and maps; config
 * loads a mapping file; both read these schemas.
 */

/** Keeps every key, `__proto__` included, so such labels reach the fault. */
const StringMap = ownStringMap(z.string(), z.string());

/**
 * One alert in a webhook notification. Loose, so Grafana's extra fields
 * (`values`, `valueString`, `silenceURL`, `dashboardURL`, `panelURL`, ...) pass.
 */
export const AlertmanagerAlert = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: StringMap,
  annotations: StringMap.default({}),
  startsAt: z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time' }),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  /** Missing from old Alertmanager and some Grafana versions; derived from labels then. */
  fingerprint: z.string().optional(),
});
export type AlertmanagerAlert = z.infer<typeof AlertmanagerAlert>;

/**
 * Alertmanager webhook payload (version 4), tolerant of Grafana's variant
 * (`orgId`, `title`, `state`, `message`, `truncatedAlerts`, version "1").
 */
export const AlertmanagerPayload = z.looseObject({
  version: z.string().optional(),
  groupKey: z.string().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().default(''),
  groupLabels: StringMap.default({}),
  commonLabels: StringMap.default({}),
  commonAnnotations: StringMap.default({}),
  externalURL: z.string().optional(),
  truncatedAlerts: z.number().optional(),
  alerts: z.array(AlertmanagerAlert),
});
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayload>;

/**
 * Severity label values understood out of the box, compared case-insensitively.
 * Read it as own entries only (the intake copies it into a `Map`), so a label
 * value such as `constructor` is simply unknown.
 */
export const DEFAULT_SEVERITY_MAP: Readonly<Record<string, Severity>> = {
  critical: 'critical',
  page: 'critical',
  error: 'critical',
  high: 'critical',
  warning: 'warning',
  warn: 'warning',
  medium: 'warning',
  info: 'info',
  informational: 'info',
  low: 'info',
  none: 'info',
};

/**
 * Which labels feed which fault fields. Every field has a default, so `{}`
 * is a complete mapping; unknown keys are rejected to catch typos in config.
 */
export const AlertmanagerMapping = z.strictObject({
  /** Labels tried in order for `service`. @default ['service', 'job'] */
  serviceLabels: z.array(LabelName).min(1).default(['service', 'job']),
  /** Labels tried in order for `target`. @default ['instance', 'target'] */
  targetLabels: z.array(LabelName).min(1).default(['instance', 'target']),
  /** Label giving `kind`. @default 'alertname' */
  kindLabel: LabelName.default('alertname'),
  /** Label giving severity. @default 'severity' */
  severityLabel: LabelName.default('severity'),
  /** Severity label value (lower-cased) to fault severity; merged over {@link DEFAULT_SEVERITY_MAP}. */
  severityMap: z.record(z.string(), Severity).default({}),
  /** Severity for a missing or unmapped severity label. @default 'warning' */
  defaultSeverity: Severity.default('warning'),
  /** Label holding a runbook hint. @default 'runbook' */
  runbookLabel: LabelName.default('runbook'),
  /** `source` is `<sourcePrefix>:<receiver>`. @default 'alertmanager' */
  sourcePrefix: z.string().min(1).max(64).default('alertmanager'),
});
export type AlertmanagerMapping = z.infer<typeof AlertmanagerMapping>;

/** The mapping with every default applied. */
export const DEFAULT_ALERTMANAGER_MAPPING: AlertmanagerMapping = AlertmanagerMapping.parse({});
