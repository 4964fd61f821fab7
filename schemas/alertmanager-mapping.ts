import { z } from 'zod';
import { LabelName, Severity } from './fault-event';

/*
 * The Alertmanager label mapping is configuration (config/alertmanager-mapping.ts
 * loads it) read by the intake, so its schema lives here, below both.
 */

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
  /** Severity label value (lower-cased) to fault severity; merged over the intake's built-in severity map. */
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
