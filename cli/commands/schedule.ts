import { ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import { listScheduleViews, scheduleView, type ScheduleView } from '../../incidents/schedule-view';
import { isManaged, type ScheduledRunInput, type ScheduledRunResult } from '../../schemas/scheduled-run';
import { waitFor, WaitTimeoutError } from '../../stack/wait-for';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig, temporalClient } from '../context';
import { formatTable } from '../table';
import { terminalJson, terminalText } from '../../observability/terminal-text';

const USAGE = [
  'runbook schedule list [--json]',
  'runbook schedule show <id> [--json]',
  'runbook schedule pause <id> [--reason "..."]',
  'runbook schedule unpause <id> [--reason "..."]',
  'runbook schedule trigger <id>',
  'runbook schedule delete <id>',
].join(' | ');

const OPTIONS = { ...STACK_FLAGS, json: { type: 'boolean' }, reason: { type: 'string' } } as const;

/** How long `trigger` waits to name the run it started. */
const TRIGGER_WAIT_MS = 10_000;

function render(v: ScheduleView): string {
  const lines = [
    `schedule ${v.scheduleId} (${v.origin === 'runbook-file' ? `from ${v.source ?? 'a runbook file'}` : 'made by hand, not reconciled'})`,
    ...(v.runbook ? [`runbook ${v.runbook} on ${v.service ?? '?'}/${v.target ?? '?'}`] : []),
    `when ${v.when}${v.jitter ? `, jitter ${v.jitter}` : ''}; overlap ${v.overlap}; catch-up window ${v.catchupWindowMs / 1000}s`,
    `state ${v.paused ? 'paused' : 'active'}${v.note ? ` (${v.note})` : ''}; ${v.runsTaken} run(s) so far`,
    `next ${v.nextRuns.slice(0, 3).join(', ') || '-'}`,
  ];
  if (v.recentRuns.length > 0) {
    lines.push('recent runs:');
    for (const r of v.recentRuns) lines.push(`  ${r.takenAt}  ${r.incidentId ?? r.launcherId}${r.result ? `  ${r.result}` : ''}`);
  }
  if (v.running.length > 0) lines.push(`running: ${v.running.join(', ')}`);
  return `${lines.map((l) => terminalText(l)).join('\n')}\n`;
}

/** What became of a run, from its launcher: still running, the incident's end, or why it opened none. */
async function runResult(client: Client, launcherId: string): Promise<{ result: string; opened: boolean }> {
  const handle = client.workflow.getHandle<(i: ScheduledRunInput) => Promise<ScheduledRunResult>>(launcherId);
  const status = (await handle.describe()).status.name;
  if (status === 'RUNNING') return { result: 'running', opened: true };
  if (status !== 'COMPLETED') return { result: status.toLowerCase(), opened: true };
  const r = await handle.result();
  if (!r.ran) return { result: `skipped: ${r.skipped}`, opened: false };
  return 'drillId' in r ? { result: `drill ${r.result}`, opened: true } : { result: `${r.status}${r.outcome ? ` (${r.outcome})` : ''}`, opened: true };
}

/** The view with each recent run's result; a run that opened no incident loses its incident id. */
async function withResults(client: Client, view: ScheduleView): Promise<ScheduleView> {
  const recentRuns = await Promise.all(
    view.recentRuns.map(async (r) => {
      if (!r.incidentId) return r;
      const { result, opened } = await runResult(client, r.launcherId).catch((err: unknown) => ({ result: `unknown: ${(err as Error).message}`, opened: true }));
      return { ...r, result, ...(opened ? {} : { incidentId: undefined }) };
    }),
  );
  return { ...view, recentRuns };
}

async function describe(client: Client, id: string): Promise<ScheduleDescription> {
  try {
    return await client.schedule.getHandle(id).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new CliError(`no schedule ${JSON.stringify(id)}; see runbook schedule list`, 1);
    throw err;
  }
}

async function list(client: Client, json: boolean): Promise<void> {
  const views = await listScheduleViews(client);
  if (json) {
    process.stdout.write(`${terminalJson(views, 2)}\n`);
    return;
  }
  if (views.length === 0) {
    process.stdout.write('no schedules\n');
    return;
  }
  const rows = views.map((v) => [v.scheduleId, v.paused ? 'paused' : 'active', v.when, v.overlap, v.nextRuns[0] ?? '-', v.origin]);
  process.stdout.write(formatTable(['SCHEDULE', 'STATE', 'WHEN', 'OVERLAP', 'NEXT', 'ORIGIN'], rows));
}

/** Triggers a run now and names the incident it opened once the schedule reports it. */
async function trigger(client: Client, id: string): Promise<void> {
  const before = await describe(client, id);
  // Temporal would run a triggered action even while paused; a pause is an operator's word, so it holds here too.
  if (before.state.paused) throw new CliError(`schedule ${id} is paused${before.state.note ? ` (${before.state.note})` : ''}; unpause it first: runbook schedule unpause ${id}`, 1);
  await client.schedule.getHandle(id).trigger();
  let view: ScheduleView | undefined;
  try {
    await waitFor('the triggered run to start', TRIGGER_WAIT_MS, async () => {
      view = scheduleView(await describe(client, id));
      return view.runsTaken > before.info.numActionsTaken;
    }, 250);
  } catch (err) {
    if (!(err instanceof WaitTimeoutError)) throw err;
    process.stdout.write(`triggered ${id}; the run has not started yet (the overlap policy may hold it while an earlier run goes on): see runbook schedule show ${id}\n`);
    return;
  }
  const run = view?.recentRuns.at(-1);
  process.stdout.write(terminalText(`triggered ${id}: ${run?.incidentId ? `incident ${run.incidentId}` : `run ${run?.launcherId ?? '?'}`}`) + '\n');
}

/** `runbook schedule`: the Temporal Schedules that run runbooks on a timetable. */
export const scheduleCommand: CliCommand = {
  name: 'schedule',
  summary: 'list, show, pause, unpause, trigger or delete runbook schedules',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(args, OPTIONS, USAGE);
    const [sub = 'list', id, ...extra] = positionals;
    if (extra.length > 0) throw new CliError(`unexpected argument ${JSON.stringify(extra[0])}\nusage: ${USAGE}`);
    if (sub !== 'list' && !id) throw new CliError(`missing schedule id (runbook/service/target)\nusage: ${USAGE}`);
    const { client, close } = await temporalClient(cliConfig(flagsToConfig(values)));
    try {
      const handle = client.schedule.getHandle(id ?? '');
      switch (sub) {
        case 'list':
          await list(client, values.json === true);
          return 0;
        case 'show': {
          const view = await withResults(client, scheduleView(await describe(client, handle.scheduleId)));
          process.stdout.write(values.json ? `${terminalJson(view, 2)}\n` : render(view));
          return 0;
        }
        case 'pause':
          await describe(client, handle.scheduleId);
          await handle.pause(values.reason ?? 'paused from the CLI');
          process.stdout.write(`paused ${handle.scheduleId}: no run starts until runbook schedule unpause (start-up keeps the pause)\n`);
          return 0;
        case 'unpause':
          await describe(client, handle.scheduleId);
          await handle.unpause(values.reason ?? 'unpaused from the CLI');
          process.stdout.write(`unpaused ${handle.scheduleId}\n`);
          return 0;
        case 'trigger':
          await trigger(client, handle.scheduleId);
          return 0;
        case 'delete': {
          const d = await describe(client, handle.scheduleId);
          await handle.delete();
          const again = isManaged(d.memo) ? `; its runbook file still declares it, so the next start-up makes it again (remove it from ${typeof d.memo?.source === 'string' ? d.memo.source : 'the runbook'} or pause it instead)` : '';
          process.stdout.write(terminalText(`deleted ${handle.scheduleId}${again}`) + '\n');
          return 0;
        }
        default:
          throw new CliError(`unknown schedule command ${JSON.stringify(sub)}\nusage: ${USAGE}`);
      }
    } finally {
      await close();
    }
  },
};
