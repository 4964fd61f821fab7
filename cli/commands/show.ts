import type { HumanRequest, IncidentState, StepRecord } from '../../schemas/incident-state';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig, incidentReads } from '../context';
import { incidentIdArg } from '../incident-arg';
import { terminalJson, terminalStrings } from '../../observability/terminal-text';

const USAGE = 'runbook show <incident> [--json]';

function stepLine(s: StepRecord): string {
  const attempts = s.attempts.length > 0 ? `${s.attempts.length} attempt${s.attempts.length === 1 ? '' : 's'}` : '';
  const took = s.durationMs !== undefined ? `${s.durationMs} ms` : '';
  const detail = s.lastError ?? s.summary ?? s.skipReason ?? '';
  return `  ${s.id.padEnd(16)} ${s.kind.padEnd(16)} ${s.status.padEnd(16)} ${attempts.padEnd(11)} ${took.padEnd(9)} ${detail}`.trimEnd();
}

/** The groups a request asks and who is in them, as the roster said when it opened. */
function whoMayDecide(r: HumanRequest): string {
  const groups = (r.approvers ?? []).join(', ');
  if (r.eligible === undefined) return `${groups} (no roster configured: any authenticated identity)`;
  if (r.eligible.length === 0) return `${groups} (nobody: the roster has no member in these groups)`;
  return `${groups} (${r.eligible.join(', ')})`;
}

/**
 * Human-readable rendering of an incident's state. Every string of the state
 * (targets, errors, decision notes) is shown with control characters escaped.
 */
export function renderIncident(state: IncidentState): string {
  const s = terminalStrings(state);
  const lines = [
    `${s.incidentId}  ${s.status}${s.outcome ? ` (${s.outcome})` : ''}${s.dryRun ? '  [dry run]' : ''}`,
    `  fault      ${s.kind} on ${s.service}/${s.target}, severity ${s.faults.severity}`,
    `  faults     ${s.faults.count} absorbed (first ${s.faults.firstSeen}, last ${s.faults.lastSeen}), ${s.faults.resolvedSignals} resolved`,
    `  runbook    ${s.runbook ? `${s.runbook.name} v${s.runbook.version} (${s.runbook.hash.slice(0, 12)})` : 'none'}`,
    `  opened     ${s.openedAt}${s.closedAt ? `, closed ${s.closedAt}` : ''}`,
  ];
  if (s.drill) lines.push(`  drill      provoked by ${s.drill.drillId}`);
  if (s.currentStep && !s.closedAt) lines.push(`  current    ${s.currentStep}`);
  // A held step shows why it waits: an operator's pause, or a pause switch nobody could read.
  if ((s.pausedSince || s.pausedReason) && !s.closedAt) lines.push(`  held       ${s.currentStep ?? 'next step'} since ${s.pausedSince ?? '?'}: ${s.pausedReason ?? 'remediation paused'}`);
  if (s.lastError) lines.push(`  last error ${s.lastError}`);
  if (s.steps.length > 0) lines.push('', 'steps:', ...s.steps.map(stepLine));
  if (s.compensations.length > 0) {
    lines.push('', 'compensations:', ...s.compensations.map((c) => `  ${c.forStep.padEnd(16)} ${c.kind.padEnd(16)} ${c.ok ? 'ok' : `failed: ${c.error ?? ''}`}`));
  }
  if (s.requests.length > 0) {
    lines.push('', 'requests:');
    for (const r of s.requests) {
      lines.push(`  ${r.type} for ${r.step} at ${r.requestedAt}: ${r.outcome ?? 'waiting'} (${r.reason})`);
      if (r.approvers) lines.push(`    ${r.outcome === undefined ? 'may decide' : 'asked'}: ${whoMayDecide(r)}`);
      for (const d of r.decisions) lines.push(`    ${d.verdict} by ${d.by} via ${d.channel}${d.accepted ? '' : ` REFUSED: ${d.note ?? ''}`}: ${d.reason}`);
    }
  }
  return lines.join('\n');
}

/** `runbook show`: the live state of one incident. */
export const showCommand: CliCommand = {
  name: 'show',
  summary: 'state of one incident: faults, steps, attempts, errors',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(args, { ...STACK_FLAGS, json: { type: 'boolean' } }, USAGE);
    const id = incidentIdArg(positionals[0], USAGE);
    const { reads, close } = await incidentReads(cliConfig(flagsToConfig(values)));
    try {
      let state: IncidentState;
      try {
        state = await reads.state(id);
      } catch (err) {
        throw new CliError(`cannot read ${id}: ${(err as Error).message}`, 1);
      }
      process.stdout.write(values.json ? `${terminalJson(state, 2)}\n` : `${renderIncident(state)}\n`);
      return 0;
    } finally {
      await close();
    }
  },
};
