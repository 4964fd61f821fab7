import { z } from 'zod';
import { FaultEvent, MAX_EVENT_BYTES } from './fault-event';

/** One problem with an input, at a dotted path such as `labels.zone`. */
export interface Issue {
  path: string;
  message: string;
}

/** Why a body was refused. */
export type ParseFailureReason = 'too_large' | 'not_json' | 'invalid';

/** A refused body: `error` names every failing path, `issues` lists them one by one. */
export interface ParseFailure {
  ok: false;
  reason: ParseFailureReason;
  error: string;
  issues: Issue[];
}

/** The wire form a fault arrived in. */
export type FaultEventFormat = 'plain' | 'cloudevents';

/** Outcome of {@link parseFaultEvent}. */
export type ParseResult =
  | { ok: true; event: FaultEvent; format: FaultEventFormat }
  | ParseFailure;

const ROOT = '(root)';

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Error map giving short messages that read after a field path
 * (`target: is required`). Schema-level messages take precedence over it.
 * Pass it as `schema.safeParse(input, { error: readableErrors })`.
 */
export const readableErrors: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `expected ${issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `expected one of ${issue.values.map(String).join('|')}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      return `must be at most ${issue.maximum}`;
    case 'too_small':
      if (issue.origin === 'string') {
        return issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      }
      if (issue.origin === 'array') return `must have at least ${issue.minimum} items`;
      return `must be at least ${issue.minimum}`;
    case 'invalid_format':
      return `must be a valid ${issue.format}`;
    case 'invalid_key':
      return `invalid key: ${issue.issues.map((inner) => inner.message).join(', ')}`;
    case 'invalid_union':
      return 'does not match any accepted form';
    default:
      return undefined;
  }
};

function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? ROOT : path.map(String).join('.');
}

/**
 * Flattens a zod error into one entry per failing path. Unknown fields are
 * reported each at its own path, so every offending name appears.
 */
export function formatIssues(error: z.core.$ZodError): Issue[] {
  const issues: Issue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({ path: formatPath([...issue.path, key]), message: 'is not an allowed field' });
      }
    } else {
      issues.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return issues;
}

/** One line naming every issue: `target: ...; severity: ...`. */
export function describeIssues(issues: readonly Issue[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
}

function failure(reason: ParseFailureReason, issues: Issue[]): ParseFailure {
  return { ok: false, reason, error: describeIssues(issues), issues };
}

/** Builds an `invalid` failure from a zod error. */
export function invalidFrom(error: z.core.$ZodError, mapPath?: (path: string) => string): ParseFailure {
  const issues = formatIssues(error).map((issue) =>
    mapPath ? { ...issue, path: mapPath(issue.path) } : issue,
  );
  return failure('invalid', issues);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Size-checks, decodes (strict UTF-8) and JSON-parses a request or message
 * body. Shared by every edge that takes JSON bytes.
 */
export function decodeJsonBody(
  bytes: Uint8Array,
  maxBytes: number,
): { ok: true; value: unknown } | ParseFailure {
  if (bytes.byteLength > maxBytes) {
    return failure('too_large', [
      { path: ROOT, message: `body is ${bytes.byteLength} bytes; the limit is ${maxBytes}` },
    ]);
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return failure('not_json', [{ path: ROOT, message: 'body is not valid UTF-8' }]);
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return failure('not_json', [{ path: ROOT, message: `body is not JSON: ${detail}` }]);
  }
}

const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/**
 * CloudEvents 1.0 structured-mode envelope. Extension attributes are allowed
 * (the spec permits them) and ignored.
 */
export const CloudEventEnvelope = z.looseObject({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  time: z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time' }).optional(),
  datacontenttype: z
    .string()
    .regex(JSON_CONTENT_TYPE, { error: 'must be application/json (or a +json type)' })
    .optional(),
  data: z.record(z.string(), z.unknown(), { error: 'must be a JSON object holding the fault' }),
  data_base64: z
    .undefined({ error: 'is not supported; send the fault as JSON in data' })
    .optional(),
});
export type CloudEventEnvelope = z.infer<typeof CloudEventEnvelope>;

/** Envelope attributes that fill fault fields the data leaves out. */
const FILLED_FROM_ENVELOPE = { id: 'id', source: 'source', observedAt: 'time' } as const;

function parseCloudEvent(value: Record<string, unknown>): ParseResult {
  const envelope = CloudEventEnvelope.safeParse(value, { error: readableErrors });
  if (!envelope.success) return invalidFrom(envelope.error);

  // The raw data, not zod's copy: z.record leaves an own `__proto__` key out, which would let it pass unnamed.
  const merged: Record<string, unknown> = { ...(value.data as Record<string, unknown>) };
  const filled = new Set<string>();
  for (const [field, attribute] of Object.entries(FILLED_FROM_ENVELOPE)) {
    const fromEnvelope = envelope.data[attribute];
    if (merged[field] === undefined && fromEnvelope !== undefined) {
      merged[field] = fromEnvelope;
      filled.add(field);
    }
  }

  const fault = FaultEvent.safeParse(merged, { error: readableErrors });
  if (!fault.success) {
    return invalidFrom(fault.error, (path) => {
      const head = path.split('.')[0] ?? path;
      if (filled.has(head)) return FILLED_FROM_ENVELOPE[head as keyof typeof FILLED_FROM_ENVELOPE];
      return path === ROOT ? 'data' : `data.${path}`;
    });
  }
  return { ok: true, event: fault.data, format: 'cloudevents' };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a fault event body, either the plain JSON form or a CloudEvents 1.0
 * structured-mode envelope (recognised by its `specversion` attribute).
 * Never throws; every refusal names each failing field.
 */
export function parseFaultEvent(bytes: Uint8Array): ParseResult {
  const decoded = decodeJsonBody(bytes, MAX_EVENT_BYTES);
  if (!decoded.ok) return decoded;
  const { value } = decoded;
  if (!isObject(value)) {
    return failure('invalid', [
      { path: ROOT, message: `expected a JSON object, got ${describeValue(value)}` },
    ]);
  }
  if ('specversion' in value) return parseCloudEvent(value);

  const fault = FaultEvent.safeParse(value, { error: readableErrors });
  if (!fault.success) return invalidFrom(fault.error);
  return { ok: true, event: fault.data, format: 'plain' };
}
