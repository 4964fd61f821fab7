import type { Client } from '@temporalio/client';
import type { Config } from '../../config/config';
import { loadRunbookDir } from '../../engine/load-runbook';
import { drillIdFor, DRILL_WORKFLOW, type DrillInput, type DrillState } from '../../schemas/drill-input';
import type { DrillReport } from '../../schemas/drill-report';
import { SA } from '../../schemas/search-attributes';
import { apiToken } from '../api-token';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig, temporalClient } from '../context';
import { terminalJson, terminalText } from '../../observability/terminal-text';
import { apiBaseUrl } from './approve';

const USAGE = [
  'runbook drill <runbook> --service S --target T [--dry-run] [--approve --reason "..."] [--wait] [--json]',
  'runbook drill approve|reject <drill-id> --reason "..." [--api-url URL] [--token-file F]',
  'runbook drill approve-schedule <schedule-id> --reason "..." [--api-url URL] [--token-file F]',
  'runbook drill status <drill-id> [--json]',
].join(' | ');

const FLAGS = {
  ...STACK_FLAGS,
  service: { type: 'string' },
  target: { type: 'string' },
  'dry-run': { type: 'boolean' },
  approve: { type: 'boolean' },
  reason: { type: 'string' },
  wait: { type: 'boolean' },
  json: { type: 'boolean' },
  'api-url': { type: 'string' },
  'token-file': { type: 'string' },
} as const;
type Values = ReturnType<typeof parseFlags<typeof FLAGS>>['values'];

/** `2026-12-02T17:01:02.123Z` → `2026-12-02T17-01-02-123Z`: a drill id segment. */
function stamp(at: Date): string {
  return at.toISOString().replace(/[:.]/g, '-');
}

function configOf(values: Values): Config {
  const { service: _s, target: _t, 'dry-run': _d, approve: _a, reason: _r, wait: _w, json: _j, 'token-file': _f, ...stack } = values;
  return cliConfig(flagsToConfig(stack));
}

/** Starts a drill of `name` on the target; refuses while another drill of that target runs. */
async function startDrill(client: Client, config: Config, name: string, values: Values): Promise<DrillInput> {
  if (!values.service || !values.target) throw new CliError(`--service and --target are required\nusage: ${USAGE}`);
  const loaded = await loadRunbookDir(config.runbooksDir);
  if (!loaded.ok) throw new CliError(`the runbooks in ${config.runbooksDir} do not load: ${loaded.errors.map((e) => e.message).join('; ')}`);
  const found = loaded.runbooks.find((r) => r.runbook.name === name);
  if (!found) throw new CliError(`no runbook named ${name} in ${config.runbooksDir} (have: ${loaded.runbooks.map((r) => r.runbook.name).join(', ') || 'none'})`);
  if (!found.runbook.drill) throw new CliError(`runbook ${name} has no drill: block; see docs/drills.md`);
  const running = await client.workflow.count(`WorkflowType = '${DRILL_WORKFLOW}' AND ExecutionStatus = 'Running' AND service = '${values.service}' AND target = '${values.target}'`);
  if (running.count > 0) throw new CliError(`a drill of ${values.service}/${values.target} is already running (runbook drills list shows it)`);
  const drillId = drillIdFor(values.service, values.target, name, stamp(new Date()));
  const input: DrillInput = {
    drillId,
    runbook: { name, version: found.runbook.version, hash: found.hash, definition: found.runbook },
    service: values.service,
    target: values.target,
    dryRun: values['dry-run'] === true,
    requestedBy: process.env['USER'] ?? 'unknown',
    temporalUiUrl: `http://127.0.0.1:${config.temporalUiPort}`,
  };
  await client.workflow.start(DRILL_WORKFLOW, {
    workflowId: drillId,
    taskQueue: config.taskQueue,
    args: [input],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: SA.service, value: values.service },
      { key: SA.target, value: values.target },
      { key: SA.runbook, value: name },
    ],
  });
  return input;
}

function requireReason(reason: string | undefined): string {
  if (!reason) throw new CliError(`--reason is required\nusage: ${USAGE}`);
  return reason;
}

/** Posts to the approval API with the caller's token; the API authenticates who asks and checks the drill group. */
async function postToApi(config: Config, path: string, body: Record<string, unknown>, tokenFile: string | undefined, what: string): Promise<void> {
  const { token } = apiToken(config, tokenFile);
  const url = `${apiBaseUrl(config)}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new CliError(`cannot reach the approval API at ${url} (${(err as Error).message}); is the stack up? Try: runbook status`);
  }
  const answer = (await res.json().catch(() => ({}))) as { accepted?: boolean; refusal?: string; reason?: string; error?: string };
  if (res.status === 200 && answer.accepted) return;
  throw new CliError(`${what} refused (HTTP ${res.status}${answer.refusal ? ` ${answer.refusal}` : ''}): ${answer.reason ?? answer.error ?? 'no reason given'}`, res.status === 403 ? 3 : 1);
}

/** Posts a drill decision; the API signs it and the drill checks the approver's groups. */
function postDrillDecision(config: Config, drillId: string, verdict: 'approve' | 'reject', reason: string | undefined, tokenFile: string | undefined): Promise<void> {
  return postToApi(config, `/drills/${encodeURIComponent(drillId)}/decisions`, { verdict, reason: requireReason(reason) }, tokenFile, verdict);
}

function printState(s: DrillState, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${terminalJson(s)}\n`);
    return;
  }
  const lines = [`${s.drillId}: ${s.phase}${s.result ? ` (${s.result})` : ''}`, `approvers: ${s.approvers.join(', ')}${s.members ? ` (${s.members.join(', ')})` : ''}`];
  for (const t of s.timeline) lines.push(`${t.at}  ${t.what}`);
  for (const r of s.refusals) lines.push(`refused ${r.by} at ${r.at}: ${r.refusal}: ${r.reason}`);
  process.stdout.write(`${terminalText(lines.join('\n'))}\n`);
}

/** `runbook drill`: start a drill, decide on one, or show where it stands. */
export const drillCommand: CliCommand = {
  name: 'drill',
  summary: 'rehearse a runbook: inject its fault, let the incident heal it, measure RTO/RPO, restore, grade',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(args, FLAGS, USAGE);
    const [first, second] = positionals;
    if (!first) throw new CliError(`usage: ${USAGE}`);
    const config = configOf(values);
    if (first === 'approve-schedule' && second) {
      await postToApi(config, `/drill-schedules/${encodeURIComponent(second)}/approval`, { reason: requireReason(values.reason) }, values['token-file'], 'approval');
      process.stdout.write(`approved schedule ${second}: its drills run without asking until its runbook file changes\n`);
      return 0;
    }
    if ((first === 'approve' || first === 'reject') && second) {
      await postDrillDecision(config, second, first, values.reason, values['token-file']);
      process.stdout.write(`${first === 'approve' ? 'approved' : 'rejected'} ${second}\n`);
      return 0;
    }
    const { client, close } = await temporalClient(config);
    try {
      if (first === 'status' && second) {
        const { drillState } = require('../../workflows/messages') as typeof import('../../workflows/messages');
        printState(await client.workflow.getHandle(second).query(drillState), values.json);
        return 0;
      }
      const input = await startDrill(client, config, first, values);
      if (!values.json) process.stdout.write(`started ${input.drillId}${input.dryRun ? ' (dry run)' : ''}\n`);
      if (values.approve) await postDrillDecision(config, input.drillId, 'approve', values.reason, values['token-file']);
      else if (!values.json) process.stdout.write(`waiting for a member of ${input.runbook.definition.drill?.approvers.join(', ') ?? '?'}: runbook drill approve ${input.drillId} --reason "..."\n`);
      if (!values.wait) {
        if (values.json) process.stdout.write(`${terminalJson({ drillId: input.drillId })}\n`);
        return 0;
      }
      const report = (await client.workflow.getHandle(input.drillId).result()) as DrillReport;
      const { renderDrillReportMarkdown } = require('../../audit/render-drill-report') as typeof import('../../audit/render-drill-report');
      process.stdout.write(values.json ? `${terminalJson(report)}\n` : `${terminalText(renderDrillReportMarkdown(report))}\n`);
      return report.result === 'passed' ? 0 : 1;
    } finally {
      await close();
    }
  },
};
