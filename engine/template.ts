import type { ParamValue } from '../schemas/runbook';

/*
 * Runs inside deterministic workflow code: no Node builtins, no zod, no I/O.
 * Templates only ever substitute text inside one string value; they cannot
 * add argv elements, keys or code.
 */

/** What `{{ ... }}` references can see while a run is in progress. */
export interface TemplateContext {
  fault: Readonly<Record<string, unknown>>;
  params: Readonly<Record<string, ParamValue>>;
  steps: Readonly<Record<string, { output?: unknown }>>;
  incident: { id: string; epoch: number };
}

/** The top-level names a reference may start with. */
export const REFERENCE_ROOTS = ['fault', 'params', 'steps', 'incident'] as const;
export type ReferenceRoot = (typeof REFERENCE_ROOTS)[number];

const REFERENCE_PATTERN = /^[a-z]+(\.[A-Za-z0-9_-]+)+$/;

/** A template reference that is malformed, or that cannot be resolved in this context. */
export class TemplateError extends Error {
  override name = 'TemplateError';
  /** The reference (or template text) at fault. */
  readonly reference: string;
  constructor(message: string, reference: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reference = reference;
  }
}

/** A piece of a template string: literal text or a reference to resolve. */
export type TemplatePart = { literal: string } | { reference: string };

/** Whether `ref` is a well-formed reference with a known root (it may still be missing at run time). */
export function isReference(ref: string): boolean {
  if (!REFERENCE_PATTERN.test(ref)) return false;
  const root = ref.slice(0, ref.indexOf('.'));
  return (REFERENCE_ROOTS as readonly string[]).includes(root);
}

/**
 * Splits a string into literal text and `{{ reference }}` parts.
 * `{{` always opens a reference; there is no escape.
 * @throws TemplateError for an unterminated `{{` or anything other than a plain reference inside.
 */
export function parseTemplate(s: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let pos = 0;
  while (pos < s.length) {
    const open = s.indexOf('{{', pos);
    if (open === -1) {
      parts.push({ literal: s.slice(pos) });
      break;
    }
    if (open > pos) parts.push({ literal: s.slice(pos, open) });
    const close = s.indexOf('}}', open + 2);
    if (close === -1) {
      throw new TemplateError(`unterminated "{{" in ${JSON.stringify(s)}`, s.slice(open));
    }
    const ref = s.slice(open + 2, close).trim();
    if (!isReference(ref)) {
      throw new TemplateError(
        `"{{${s.slice(open + 2, close)}}}" is not a reference: templates hold only a path starting with ${REFERENCE_ROOTS.join(', ')} (no expressions)`,
        ref,
      );
    }
    parts.push({ reference: ref });
    pos = close + 2;
  }
  return parts;
}

/** The references used in a template string. */
export function templateReferences(s: string): string[] {
  return parseTemplate(s).flatMap((p) => ('reference' in p ? [p.reference] : []));
}

function hasOwn(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/**
 * Follows a dotted reference through the context. Only own properties are
 * followed, so names like `constructor` or `__proto__` never resolve.
 */
export function lookupReference(ref: string, context: TemplateContext): { found: true; value: unknown } | { found: false } {
  if (!isReference(ref)) return { found: false };
  let current: unknown = context;
  for (const segment of ref.split('.')) {
    if (current === null || typeof current !== 'object') return { found: false };
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(segment)) return { found: false };
      const index = Number(segment);
      if (index >= current.length) return { found: false };
      current = current[index];
    } else {
      if (!hasOwn(current, segment)) return { found: false };
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return current === undefined ? { found: false } : { found: true, value: current };
}

function toText(ref: string, value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      if (value === null) throw new TemplateError(`{{ ${ref} }} is null`, ref);
      return JSON.stringify(value);
    default:
      throw new TemplateError(`{{ ${ref} }} is a ${typeof value}, not a value`, ref);
  }
}

/**
 * Substitutes every `{{ reference }}` in one string.
 * @throws TemplateError when a reference is malformed or missing.
 */
export function resolveString(s: string, context: TemplateContext): string {
  if (!s.includes('{{')) return s;
  return parseTemplate(s)
    .map((part) => {
      if ('literal' in part) return part.literal;
      const hit = lookupReference(part.reference, context);
      if (!hit.found) throw new TemplateError(`{{ ${part.reference} }} is not defined`, part.reference);
      return toText(part.reference, hit.value);
    })
    .join('');
}

/**
 * Returns a copy of `value` with references resolved in every string, however
 * deeply nested. Keys are never templated and arrays keep their length, so one
 * argv element stays one argv element whatever the substituted text contains.
 * @throws TemplateError when a reference is malformed or missing.
 */
export function resolveTemplate<T>(value: T, context: TemplateContext): T {
  return resolveValue(value, context) as T;
}

function resolveValue(value: unknown, context: TemplateContext): unknown {
  if (typeof value === 'string') return resolveString(value, context);
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, context));
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own properties, so a `__proto__` key stays data.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveValue(v, context)]));
  }
  return value;
}
