import type { Condition } from '../schemas/runbook';
import { lookupReference, type TemplateContext } from './template';

/*
 * Runs inside deterministic workflow code: no Node builtins, no zod, no I/O.
 * Conditions are data, never code: each object holds exactly one operator.
 */

/** A `when` condition that has no operator, or more than one. */
export class ConditionError extends Error {
  override name = 'ConditionError';
}

type Scalar = string | number | boolean | null;

/** The value at `ref`, or `undefined` when the path does not exist. */
function valueAt(ref: string, context: TemplateContext): unknown {
  const hit = lookupReference(ref, context);
  return hit.found ? hit.value : undefined;
}

/** Strict equality on scalars; a missing reference equals nothing. */
function same(actual: unknown, expected: Scalar): boolean {
  return actual !== undefined && actual === expected;
}

/**
 * Evaluates a structured `when` condition against the run context.
 * A missing reference is never equal to anything (so `not_equals` is true for it):
 * use `exists` to test presence. Values compare strictly: `'1'` is not `1`.
 * @throws ConditionError for an object without exactly one operator.
 */
export function evaluateCondition(cond: Condition, context: TemplateContext): boolean {
  const operators = Object.keys(cond).filter((k) => (cond as Record<string, unknown>)[k] !== undefined);
  if (operators.length !== 1) {
    throw new ConditionError(`a condition needs exactly one operator, found ${operators.length ? operators.join(', ') : 'none'}`);
  }
  if (cond.equals) return same(valueAt(cond.equals[0], context), cond.equals[1]);
  if (cond.not_equals) return !same(valueAt(cond.not_equals[0], context), cond.not_equals[1]);
  if (cond.in) {
    const actual = valueAt(cond.in[0], context);
    return cond.in[1].some((v) => same(actual, v));
  }
  if (cond.exists !== undefined) {
    const actual = valueAt(cond.exists, context);
    return actual !== undefined && actual !== null;
  }
  if (cond.all) return cond.all.every((c) => evaluateCondition(c, context));
  if (cond.any) return cond.any.some((c) => evaluateCondition(c, context));
  if (cond.not) return !evaluateCondition(cond.not, context);
  throw new ConditionError(`unknown condition operator: ${operators.join(', ')}`);
}

/** Every reference a condition reads, with its path inside the condition. */
export function conditionReferences(cond: Condition, path: (string | number)[] = []): { ref: string; path: (string | number)[] }[] {
  const out: { ref: string; path: (string | number)[] }[] = [];
  if (cond.equals) out.push({ ref: cond.equals[0], path: [...path, 'equals', 0] });
  if (cond.not_equals) out.push({ ref: cond.not_equals[0], path: [...path, 'not_equals', 0] });
  if (cond.in) out.push({ ref: cond.in[0], path: [...path, 'in', 0] });
  if (cond.exists !== undefined) out.push({ ref: cond.exists, path: [...path, 'exists'] });
  cond.all?.forEach((c, i) => out.push(...conditionReferences(c, [...path, 'all', i])));
  cond.any?.forEach((c, i) => out.push(...conditionReferences(c, [...path, 'any', i])));
  if (cond.not) out.push(...conditionReferences(cond.not, [...path, 'not']));
  return out;
}
