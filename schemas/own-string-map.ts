import { z } from 'zod';

/*
 * A string-to-string map that keeps every key the producer sent. zod's
 * `z.record` leaves an own `__proto__` key out of its output (assigning it on
 * a plain object would replace the prototype), so a fault labelled
 * `__proto__` lost that label between the wire and the workflow. This map is
 * checked entry by entry instead and built with `Object.defineProperty`, so
 * `__proto__` stays an own enumerable key and `JSON.stringify` writes it.
 */

/** The plain record each map's input side stands for, keyed by that input schema. */
const plainRecords = new WeakMap<z.core.$ZodType, z.ZodType>();

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Sets `map[name] = value` as an own data property, even for `__proto__`. */
export function setOwn<V>(map: Record<string, V>, name: string, value: V): void {
  Object.defineProperty(map, name, { value, enumerable: true, writable: true, configurable: true });
}

/** `map[name]` when `map` has that key itself; never a value inherited from `Object.prototype`. */
export function ownValue<V>(map: Readonly<Record<string, V>>, name: string): V | undefined {
  return Object.hasOwn(map, name) ? map[name] : undefined;
}

/**
 * A record of strings whose keys pass `key` and values pass `value`, with
 * the issues `z.record` reports (same codes and messages, the key in the
 * path) and every own key kept. The parse's error map finalises the type
 * and key issues; the key and value schemas should carry their own messages.
 * It is not a `z.record`, so JSON Schema generation asks
 * {@link plainRecordFor} for the record it validates.
 */
export function ownStringMap(
  key: z.ZodType<string, string>,
  value: z.ZodType<string, string>,
): z.ZodType<Record<string, string>, Record<string, string>> {
  const input = z.unknown();
  plainRecords.set(input, z.record(key, value));
  const map = input.transform((raw, ctx) => {
    if (!isPlainObject(raw)) {
      ctx.issues.push({ code: 'invalid_type', expected: 'record', input: raw });
      return z.NEVER;
    }
    const out: Record<string, string> = {};
    for (const name of Object.keys(raw)) {
      const keyResult = key.safeParse(name);
      if (!keyResult.success) {
        ctx.issues.push({ code: 'invalid_key', origin: 'record', issues: keyResult.error.issues, input: name, path: [name] });
        continue;
      }
      const entry = raw[name];
      if (typeof entry !== 'string') {
        ctx.issues.push({ code: 'invalid_type', expected: 'string', input: entry, path: [name] });
        continue;
      }
      const valueResult = value.safeParse(entry);
      if (!valueResult.success) {
        // Finalised issues already carry their message; only the path needs the key.
        ctx.issues.push(...z.core.util.prefixIssues(name, valueResult.error.issues as z.core.$ZodRawIssue[]));
        continue;
      }
      setOwn(out, keyResult.data, valueResult.data);
    }
    return out;
  });
  return map as unknown as z.ZodType<Record<string, string>, Record<string, string>>;
}

/**
 * The `z.record` an {@link ownStringMap} validates, given any schema
 * `z.toJSONSchema` reaches on the way to it (the map, its refined or
 * described copies, its input side); `undefined` for any other schema. Lets
 * the JSON Schema generator render the map as the plain record producers see.
 */
export function plainRecordFor(schema: z.core.$ZodType): z.ZodType | undefined {
  const def = schema._zod.def;
  return plainRecords.get(def.type === 'pipe' ? (def as z.core.$ZodPipeDef).in : schema);
}
