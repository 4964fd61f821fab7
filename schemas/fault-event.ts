import { z } from 'zod';
import { EventId, SafeId, ServiceId, TargetId } from './identifiers';
import { ownStringMap } from './own-string-map';

/** Largest accepted fault event body, in bytes (64 KiB), checked before parsing. */
export const MAX_EVENT_BYTES = 64 * 1024;

/** Longest `source`, in characters. */
export const MAX_SOURCE_LENGTH = 256;

/** Longest `kind`, in characters. */
export const MAX_KIND_LENGTH = 64;

/** Most entries in `labels`, and separately in `annotations`. */
export const MAX_LABELS = 64;

/** Longest label or annotation name, in characters. */
export const MAX_LABEL_NAME_LENGTH = 128;

/** Longest label value, in characters. */
export const MAX_LABEL_VALUE_LENGTH = 1024;

/** Longest annotation value, in characters; annotations carry prose such as descriptions. */
export const MAX_ANNOTATION_VALUE_LENGTH = 4096;

/**
 * `kind` rule. No `.` so that a kind is always exactly one NATS subject token.
 */
export const KIND_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_:-]{0,63}$/;

/**
 * Label and annotation name rule: Prometheus names plus the `.`, `/` and `-`
 * that Kubernetes-style keys use (`app.kubernetes.io/name`).
 */
export const LABEL_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_./-]{0,127}$/;

/** How urgent the fault is. */
export const Severity = z.enum(['critical', 'warning', 'info']);
export type Severity = z.infer<typeof Severity>;

/** `resolved` tells an open incident that the producer saw the fault clear. */
export const FaultStatus = z.enum(['firing', 'resolved']);
export type FaultStatus = z.infer<typeof FaultStatus>;

/** What went wrong, e.g. `node_down`; selects the runbook when no hint is given. */
export const FaultKind = z
  .string()
  .regex(KIND_PATTERN, {
    error: "must be 1-64 letters, digits, '_', ':' or '-', starting with a letter, digit or '_'",
  });
export type FaultKind = z.infer<typeof FaultKind>;

/** A label or annotation name. */
export const LabelName = z.string().regex(LABEL_NAME_PATTERN, {
  error: "must be 1-128 letters, digits, '_', '.', '/' or '-', starting with a letter or '_'",
});
export type LabelName = z.infer<typeof LabelName>;

function boundedMap(maxValueLength: number, description: string) {
  return ownStringMap(
    LabelName,
    z.string().max(maxValueLength, { error: `must be at most ${maxValueLength} characters` }),
  )
    .refine((map) => Object.keys(map).length <= MAX_LABELS, {
      error: `must have at most ${MAX_LABELS} entries`,
    })
    .meta({ description, maxProperties: MAX_LABELS });
}

/** Identifying key/value pairs copied from the producer. */
export const Labels = boundedMap(
  MAX_LABEL_VALUE_LENGTH,
  `Identifying key/value pairs; at most ${MAX_LABELS} entries, values at most ${MAX_LABEL_VALUE_LENGTH} characters.`,
);
export type Labels = z.infer<typeof Labels>;

/** Descriptive key/value pairs (summary, description, links). */
export const Annotations = boundedMap(
  MAX_ANNOTATION_VALUE_LENGTH,
  `Descriptive key/value pairs; at most ${MAX_LABELS} entries, values at most ${MAX_ANNOTATION_VALUE_LENGTH} characters.`,
);
export type Annotations = z.infer<typeof Annotations>;

/**
 * One observed fault, as producers publish it and as intake hands it to the
 * incident workflow. Unknown top-level fields are rejected so that a
 * misspelt field (say `dryrun`) fails loudly instead of being ignored.
 */
export const FaultEvent = z.strictObject({
  id: EventId.meta({
    description:
      'Unique per occurrence; repeats of the same occurrence must reuse it. Sent as the Nats-Msg-Id header.',
  }),
  source: z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(MAX_SOURCE_LENGTH, { error: `must be at most ${MAX_SOURCE_LENGTH} characters` })
    .meta({ description: 'Who observed the fault, e.g. alertmanager:ops or probe://edge-1.' }),
  service: ServiceId.meta({ description: 'Affected service: a safe identifier.' }),
  target: TargetId.meta({ description: 'Affected node within the service: a safe identifier.' }),
  kind: FaultKind.meta({ description: 'What went wrong, e.g. node_down.' }),
  severity: Severity.meta({ description: 'How urgent the fault is.' }),
  status: FaultStatus.default('firing').meta({
    description: 'firing, or resolved when the producer saw the fault clear.',
  }),
  observedAt: z.iso
    .datetime({
      offset: true,
      error: 'must be an ISO 8601 date-time with a Z or ±hh:mm offset, e.g. 2024-05-01T12:00:00Z',
    })
    .meta({ description: 'When the producer observed the fault (ISO 8601 with offset).' }),
  // prefault, not default: the maps transform, and the published schema still shows the default.
  labels: Labels.prefault({}),
  annotations: Annotations.prefault({}),
  runbook: SafeId.optional().meta({
    description: 'Optional hint naming the runbook to run; otherwise chosen by kind.',
  }),
  dryRun: z
    .boolean()
    .optional()
    .meta({ description: 'Plan and record every step without changing anything.' }),
});
export type FaultEvent = z.infer<typeof FaultEvent>;

/** The fault as a producer writes it: `status`, `labels` and `annotations` may be left out. */
export type FaultEventInput = z.input<typeof FaultEvent>;

/** First token of every fault subject. */
export const FAULT_SUBJECT_PREFIX = 'faults';

/**
 * The NATS subject a fault is published on: `faults.<service>.<kind>`.
 * A `.` in the service would split the token, so it is written as `_`.
 */
export function faultSubjectFor(event: Pick<FaultEvent, 'service' | 'kind'>): string {
  return `${FAULT_SUBJECT_PREFIX}.${event.service.replaceAll('.', '_')}.${event.kind}`;
}
