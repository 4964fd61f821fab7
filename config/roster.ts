import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './config';
import { fieldName, lineOf } from '../schemas/yaml-positions';

/**
 * The on-call roster: which people belong to which approver group, and whom a
 * group escalates to when nobody answers in time. A YAML (or JSON) file:
 *
 * ```yaml
 * groups:
 *   oncall:
 *     members: [alice, bob]
 *     escalate_to: [sre-leads]
 *   sre-leads:
 *     members: [carol]
 * notify:
 *   subject: runbook.approvals
 *   webhooks: ["https://hooks.slack.example/T000/B000/XXX"]
 * ```
 */

const GroupName = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a lowercase group name: a-z, 0-9, _ and -');
/** An identity as the approval API authenticates it. */
export const Identity = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, 'must be an identity: letters, digits, . _ @ -');
export type Identity = z.infer<typeof Identity>;

/** One on-call group. */
export const RosterGroup = z.strictObject({
  members: z.array(Identity).min(1, 'a group needs at least one member'),
  /** Next groups asked when an approval for this group times out with `on_timeout: escalate`. */
  escalate_to: z.array(GroupName).optional(),
});
export type RosterGroup = z.infer<typeof RosterGroup>;

/** Where approval notifications go. */
export const RosterNotify = z.strictObject({
  /** NATS subject prefix; events go to `<subject>.<event>`. @default runbook.approvals */
  subject: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a NATS subject without wildcards').default('runbook.approvals'),
  /** Slack-compatible incoming webhooks. */
  webhooks: z.array(z.url({ protocol: /^https?$/ })).default([]),
});
export type RosterNotify = z.infer<typeof RosterNotify>;

/** The whole roster file. */
export const Roster = z
  .strictObject({
    groups: z.record(GroupName, RosterGroup),
    notify: RosterNotify.prefault({}),
  })
  .superRefine((roster, ctx) => {
    for (const [name, group] of Object.entries(roster.groups)) {
      group.escalate_to?.forEach((next, i) => {
        if (!(next in roster.groups)) ctx.addIssue({ code: 'custom', path: ['groups', name, 'escalate_to', i], message: `unknown group "${next}"` });
        else if (next === name) ctx.addIssue({ code: 'custom', path: ['groups', name, 'escalate_to', i], message: 'a group cannot escalate to itself' });
      });
    }
  });
export type Roster = z.infer<typeof Roster>;

/** An empty roster: used when no roster file is configured. */
export const EMPTY_ROSTER: Roster = { groups: {}, notify: { subject: 'runbook.approvals', webhooks: [] } };

/** Members of any of `groups`, sorted and without repeats; unknown groups add nobody. */
export function membersOf(roster: Roster, groups: readonly string[]): string[] {
  const out = new Set<string>();
  for (const g of groups) for (const m of roster.groups[g]?.members ?? []) out.add(m);
  return [...out].sort();
}

/** The groups asked after `groups` time out: their `escalate_to` lists, in order, without repeats. */
export function escalationOf(roster: Roster, groups: readonly string[]): string[] {
  const out: string[] = [];
  for (const g of groups) for (const next of roster.groups[g]?.escalate_to ?? []) if (!out.includes(next)) out.push(next);
  return out;
}

/**
 * The groups asked by the `round`-th request of an escalation that began with
 * `groups` (round 0): each unanswered request adds the `escalate_to` chain of
 * those asked so far, and those asked before stay asked, so a late answer
 * from on-call still counts.
 */
export function escalationChainAt(roster: Roster, groups: readonly string[], round: number): string[] {
  const out = [...new Set(groups)];
  for (let i = 0; i < round; i++) {
    const added = escalationOf(roster, out).filter((g) => !out.includes(g));
    if (added.length === 0) break;
    out.push(...added);
  }
  return out;
}

/** A file whose content does not match its schema; the message lists `file:line: field: problem`. */
export class ConfigFileError extends ConfigError {
  override name = 'ConfigFileError';
}


/** Parses YAML or JSON text against `schema`; throws a ConfigFileError with one `file:line: field: message` per problem. */
export function parseConfigText<S extends z.ZodType>(text: string, file: string, schema: S): z.infer<S> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigFileError(doc.errors.map((e) => `${file}:${e.linePos?.[0].line ?? 1}: ${e.message.split('\n')[0] ?? ''}`).join('\n'));
  }
  const parsed = schema.safeParse(doc.toJS());
  if (parsed.success) return parsed.data;
  throw new ConfigFileError(parsed.error.issues.map((i) => `${file}:${lineOf(doc, lines, i.path)}: ${fieldName(i.path)}: ${i.message}`).join('\n'));
}

/** Reads and validates a roster file. */
export async function loadRosterFile(file: string): Promise<Roster> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigFileError(`${file}: cannot read roster (${(err as Error).message})`);
  }
  return parseConfigText(text, file, Roster);
}
