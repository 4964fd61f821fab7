/*
 * Workflow code reads runbook durations through the engine; the parser itself
 * lives with the schemas so the zod `Duration` is built on the same rule.
 */
export { DURATION_PATTERN, parseDuration } from '../schemas/duration';
