/**
 * The JetStream KV bucket operators use to steer every worker at once
 * (`runbook pause` / `runbook resume`); the CLI writes it and the guard
 * activities read it.
 */
export const CONTROL_BUCKET = 'runbook_control';

/** The key in {@link CONTROL_BUCKET} that holds the global pause switch. */
export const PAUSE_KEY = 'paused';
