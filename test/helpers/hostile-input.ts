/*
 * Hostile values shared by the hostile-input tests: the names an attacker or
 * a broken producer may send where we expect a safe identifier, and bodies
 * built to break parsers (truncated, nested, oversized).
 */

/** `levels` nested JSON arrays around `leaf`, as text: `[[[1]]]`. */
export function nestedArrays(levels: number, leaf = '1'): string {
  return `${'['.repeat(levels)}${leaf}${']'.repeat(levels)}`;
}

/** `levels` nested JSON objects `{"a":{"a":…}}` around `leaf`, as text. */
export function nestedObjects(levels: number, leaf = '1'): string {
  return `${'{"a":'.repeat(levels)}${leaf}${'}'.repeat(levels)}`;
}

/** The nesting depth the brief of these tests asks every edge to survive. */
export const DEEP = 10_000;

/**
 * Names that must never pass as a service, target, runbook, step or HAProxy
 * name, each with why: control and zero-width characters, shell
 * metacharacters, path traversal, line breaks that would start a second
 * HAProxy runtime API command.
 */
export const HOSTILE_NAMES: readonly { what: string; value: string }[] = [
  { what: 'a NUL byte', value: 'node-1\u0000' },
  { what: 'an escape character', value: 'node-1\u001b[2J' },
  { what: 'a zero-width space', value: 'node\u200b1' },
  { what: 'a zero-width joiner', value: 'node\u200d1' },
  { what: 'a byte-order mark', value: '\ufeffnode-1' },
  { what: 'a right-to-left override', value: 'node-\u202e1' },
  { what: 'a newline', value: 'node-1\nshutdown sessions server web/node-2' },
  { what: 'a carriage return', value: 'node-1\rset server web/node-2 state maint' },
  { what: 'a trailing newline', value: 'node-1\n' },
  { what: "'; rm -rf /'", value: 'node-1; rm -rf /' },
  { what: "';' alone", value: 'node-1;reboot' },
  { what: '$(…)', value: '$(reboot)' },
  { what: 'backticks', value: '`reboot`' },
  { what: "'|'", value: 'node-1|sh' },
  { what: "'&&'", value: 'node-1&&reboot' },
  { what: "'../' traversal", value: '../../etc/passwd' },
  { what: "'..' inside", value: 'node..1' },
  { what: 'a slash', value: 'node/1' },
  { what: 'a space', value: 'node 1' },
  { what: 'a leading dash (an option)', value: '-rf' },
];

/** Keys that reach Object.prototype when a parser assigns them naively. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Throws when something wrote `polluted` onto Object.prototype. */
export function assertNotPolluted(): void {
  const probe = {} as Record<string, unknown>;
  if (probe.polluted !== undefined) throw new Error(`Object.prototype was polluted: polluted = ${String(probe.polluted)}`);
}
