import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Identity, parseConfigText, Roster } from '../config/roster';
import { DEFAULT_ESCALATION_GROUPS, guardOverrideApproval } from '../engine/approval-rules';
import { loadRunbookDir } from '../engine/load-runbook';
import { DEFAULT_DRILL_APPROVERS, type Runbook } from '../schemas/runbook';

/** Name of the roster the local stack writes into its state directory. */
export const LOCAL_ROSTER_FILE = 'roster.yaml';

/** The roster the local stack uses and what it did about it. */
export interface LocalRoster {
  file: string;
  /** True when this start wrote it; false when it was there already (it is never overwritten). */
  created: boolean;
  /** Who the written roster names (the OS user), when this start wrote it. */
  operator?: string;
  groups: string[];
}

/**
 * Every roster group `runbooks` can ask: approvers and `escalate_to` of each
 * step's approval, each runbook's escalation groups, and the groups the
 * runtime asks by default (on-call for escalations and guard overrides).
 */
export function groupsReferenced(runbooks: readonly Runbook[]): string[] {
  // The drill group too: `runbook demo drill` rehearses a runbook the runbooks directory need not hold.
  const out = new Set<string>([...DEFAULT_ESCALATION_GROUPS, ...guardOverrideApproval().approvers, ...DEFAULT_DRILL_APPROVERS]);
  for (const rb of runbooks) {
    for (const g of rb.settings.escalation.approvers ?? []) out.add(g);
    for (const g of rb.drill?.approvers ?? []) out.add(g);
    for (const step of rb.steps) {
      if (step.approval === false) continue;
      for (const g of [...step.approval.approvers, ...(step.approval.escalate_to ?? [])]) out.add(g);
    }
  }
  return [...out].sort();
}

/** The OS user as an identity the approval API can authenticate (`runbook token create --identity` takes the same). */
export function localOperator(name: string = userInfo().username): string {
  const cleaned = name.replace(/[^A-Za-z0-9._@-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 128);
  return Identity.safeParse(cleaned).success ? cleaned : 'operator';
}

/** The roster text for one operator in every group. */
export function localRosterText(operator: string, groups: readonly string[]): string {
  const roster: Roster = Roster.parse({ groups: Object.fromEntries(groups.map((g) => [g, { members: [operator] }])) });
  return [
    '# Written once by `runbook up` for this machine: the local operator may approve and decide',
    '# escalations in every group the runbooks ask. Edit it to name your team; it is never overwritten.',
    stringify({ groups: roster.groups }),
  ].join('\n');
}

/**
 * Writes `<stateDir>/roster.yaml` on the first start, with the local operator
 * (the OS user) in every group the runbooks in `runbooksDir` ask, and leaves
 * an existing one alone, an operator's edits included. A roster that exists
 * but does not parse stops the start with its `file:line` errors.
 */
export async function ensureLocalRoster(stateDir: string, runbooksDir: string, operator: string = localOperator()): Promise<LocalRoster> {
  const file = join(stateDir, LOCAL_ROSTER_FILE);
  const loaded = await loadRunbookDir(runbooksDir);
  const groups = groupsReferenced(loaded.ok ? loaded.runbooks.map((r) => r.runbook) : []);
  try {
    // 'wx': two starts never overwrite each other's roster, or an operator's.
    writeFileSync(file, localRosterText(operator, groups), { mode: 0o644, flag: 'wx' });
    return { file, created: true, operator, groups };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const existing = parseConfigText(readFileSync(file, 'utf8'), file, Roster);
  return { file, created: false, groups: Object.keys(existing.groups).sort() };
}
