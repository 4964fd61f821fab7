import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { dirname, join, relative, resolve } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { IncidentInput } from '../schemas/incident-input';
import type { IncidentResult, IncidentState } from '../schemas/incident-state';
import { launcherIdFor, scheduleIdFor, SCHEDULED_RUN_WORKFLOW, type ScheduledRunInput, type ScheduledRunResult } from '../schemas/scheduled-run';
import type { NatsConnection } from 'nats';
import { kvEffectLedger, ledgerKey, openEffectsBucket } from '../activities/effect-ledger';
import { approve, decide, decisionRefused, drillMarked, faultObserved, faultResolved, guardIdFor, guardState, reject } from '../workflows/messages';
import { waitFor } from '../stack/wait-for';
import { runbookFrom, runOrder, runsOf, sideEffect, startEngineHarness, testFault, type EngineHarness } from '../test/helpers/engine';
import { PROJECT_ROOT } from '../stack/toolchain';
import { startTestStack } from '../test/helpers/stack';
import { decisionKeyPath, readDecisionKey } from '../config/decision-key';
import { DRILL_APPROVER, DRILL_PATHS, runDrillPath } from './drill-paths';

/*
 * Records one finished incident history per runbook path, for
 * test/unit/workflow-replay.test.ts. Stored histories are never re-recorded:
 * record into a scratch directory and copy the new files into test/histories
 * under the new patch's prefix (docs/testing.md):
 *   node --import tsx scripts/record-histories.ts /tmp/<patch-id> [paths…]
 */

/** Where histories go unless another directory is given. */
export const DEFAULT_HISTORY_DIR = resolve(__dirname, '..', 'test', 'histories');

/** What a path can use while it runs. */
export interface PathContext {
  h: EngineHarness;
  /** Side-effect log of this path. */
  log: string;
  /** Scratch directory of this path. */
  dir: string;
  /** JSON-quoted node binary, for allowed_executables. */
  node: string;
  /** A local URL that always answers 200. */
  healthyUrl: string;
  /** Connects to the stack's NATS as the worker, e.g. to seed the effect ledger. */
  natsWorker: () => Promise<NatsConnection>;
  /** Earlier runs of the incident (continued as new) whose histories belong with this path too. */
  earlierRuns: string[];
}

/** One runbook path: how to drive it and how it must end. */
export interface RecordedPath {
  name: string;
  /** Absent: the incident runs without a runbook. */
  runbook?(ctx: PathContext): string;
  dryRun?: boolean;
  /** Further workflow input (e.g. a short quiet period). */
  input?: Partial<IncidentInput>;
  /** Signals and files that steer the incident once it started. */
  drive?(handle: WorkflowHandle, ctx: PathContext): Promise<void>;
  expect: { status: IncidentState['status']; outcome: string | RegExp };
  /** The workflow ends in a failure (thrown, or cancelled) whose message matches, instead of returning; `expect` is then read from its last state. */
  fails?: RegExp;
  /** The service's guard must hold no lease once the incident ended (however it ended). */
  leaseReleased?: boolean;
  /** Runs before the path's incident starts (e.g. other incidents of the service it must meet). */
  prepare?(ctx: PathContext): Promise<void>;
  /** Further evidence the path was taken; returns what is wrong, if anything. */
  check?(state: IncidentState, ctx: PathContext): string | undefined;
  /** Other workflows whose histories belong with this path (recorded as `<name>.<suffix>.json`). */
  alsoRecord?: { suffix: string; workflowId: string }[];
}

const DEAD_TCP = '{ tcp: { host: 127.0.0.1, port: 1 } }';

const header = (name: string, ctx: PathContext, settings = ''): string => `
name: ${name}
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${ctx.node}]${settings} }
steps:`;

/** A runbook holding the service's only isolation lease: isolate, then `then` (steps after it). */
const leaseHolder = (name: string, c: PathContext, then: string): string => `${header(name, c, ', blast_radius: { max_isolated: 1, max_per_hour: 20 }')}
  - id: isolate
    action: { kind: isolate, command: { argv: ${sideEffect(c.log, 'isolate-{{fault.target}}')} } }
    isolation: provides
    approval: false
${then}`;

const holdUntil = (c: PathContext, gate: string): string => `  - id: hold
    action: { kind: command, argv: ${sideEffect(c.log, 'hold-{{fault.target}}', '--hold-until-file', gate)} }
    timeout: 5m`;

const by = (step: string) => ({ step, by: 'recorder', channel: 'test', reason: 'recording a history' });

/** argv of the fencing fixture (test/fixtures/engine/fenced.js). */
const fenced = (...args: string[]): string => JSON.stringify([process.execPath, join(PROJECT_ROOT, 'test', 'fixtures', 'engine', 'fenced.js'), ...args]);

/**
 * The roster of the recording stack: the recorder is on call (so its
 * decisions count), a lead is reached only through the escalation chain,
 * and an outsider is on no group.
 */
export const RECORDING_ROSTER = `groups:
  oncall: { members: [recorder], escalate_to: [leads] }
  leads: { members: [lead] }
  drills: { members: [${DRILL_APPROVER}] }
`;

/** The paths every workflow change must still replay. */
export const RECORDED_PATHS: readonly RecordedPath[] = [
  {
    name: 'healed',
    runbook: (c) => `${header('healed', c)}
  - id: confirm
    action: { kind: confirm, target: ${DEAD_TCP}, timeout: 500ms, samples: 3, interval: 100ms, quorum: 2 }
  - id: drain
    action: { kind: command, argv: ${sideEffect(c.log, 'drain')} }
    compensate: { kind: command, argv: ${sideEffect(c.log, 'undrain')} }
  - id: restart
    action: { kind: command, argv: ${sideEffect(c.log, 'restart')} }`,
    expect: { status: 'resolved', outcome: 'healed' },
    check: (s, c) => (runsOf(c.log, 'restart') === 1 && s.steps[0]?.output?.confirmed === true ? undefined : 'confirm or restart did not run'),
  },
  {
    name: 'false-alarm',
    runbook: (c) => `${header('false-alarm', c)}
  - id: confirm
    action: { kind: confirm, target: { http: { url: "${c.healthyUrl}" } }, timeout: 1s, samples: 3, interval: 100ms, quorum: 2 }
  - id: act
    action: { kind: command, argv: ${sideEffect(c.log, 'act')} }`,
    expect: { status: 'false_alarm', outcome: 'false_alarm' },
  },
  {
    name: 'escalate-retry-healed',
    runbook: (c) => `${header('escalate-retry', c)}
  - id: first
    action: { kind: command, argv: ${sideEffect(c.log, 'first')} }
    compensate: { kind: command, argv: ${sideEffect(c.log, 'undo-first')} }
  - id: gated
    action: { kind: command, argv: ${sideEffect(c.log, 'gated', '--until-file', join(c.dir, 'gate'))} }
    retry: { max_attempts: 3, initial_interval: 100ms, non_retryable: [CommandFailed] }
    on_failure: escalate`,
    async drive(handle, c) {
      await c.h.waitForStatus(handle, 'escalated');
      writeFileSync(join(c.dir, 'gate'), '');
      await handle.signal(decide, c.h.signed(handle.workflowId, 'retry', { ...by('gated'), action: 'retry' }));
    },
    expect: { status: 'resolved', outcome: 'healed' },
    check: (_s, c) => (runsOf(c.log, 'gated') === 2 && runsOf(c.log, 'undo-first') === 0 ? undefined : 'expected one failed run and one retry, with nothing undone'),
  },
  {
    name: 'escalate-abort',
    runbook: (c) => `${header('escalate-abort', c)}
  - id: first
    action: { kind: command, argv: ${sideEffect(c.log, 'first')} }
    compensate: { kind: command, argv: ${sideEffect(c.log, 'undo-first')} }
  - id: second
    action: { kind: command, argv: ${sideEffect(c.log, 'second')} }
    compensate: { kind: command, argv: ${sideEffect(c.log, 'undo-second')} }
  - id: broken
    action: { kind: command, argv: ${sideEffect(c.log, 'broken', '--fail-until', '99')} }
    retry: { max_attempts: 2, initial_interval: 100ms }`,
    async drive(handle, c) {
      await c.h.waitForStatus(handle, 'escalated');
      await handle.signal(decide, c.h.signed(handle.workflowId, 'abort', { ...by('broken'), action: 'abort' }));
    },
    expect: { status: 'aborted', outcome: 'aborted after broken failed' },
    check: (s) => (s.compensations.map((x) => x.forStep).join() === 'second,first' ? undefined : 'compensations did not run in reverse'),
  },
  {
    name: 'approval-approve',
    runbook: (c) => `${header('approval-approve', c)}
  - id: risky
    action: { kind: command, argv: ${sideEffect(c.log, 'risky')} }
    approval: { approvers: [oncall], timeout: 1h }`,
    async drive(handle, c) {
      await c.h.waitForStatus(handle, 'awaiting_approval');
      await handle.signal(approve, c.h.signed(handle.workflowId, 'approve', by('risky')));
    },
    expect: { status: 'resolved', outcome: 'healed' },
  },
  {
    name: 'approval-refused-verdict',
    runbook: (c) => `${header('approval-refused-verdict', c)}
  - id: risky
    action: { kind: command, argv: ${sideEffect(c.log, 'risky')} }
    approval: { approvers: [oncall], timeout: 1h }`,
    async drive(handle, c) {
      await c.h.waitForStatus(handle, 'awaiting_approval');
      await handle.signal(decide, c.h.signed(handle.workflowId, 'abort', { ...by('risky'), action: 'abort' }));
      await waitFor('the refusal to be recorded', 30_000, async () => (await c.h.state(handle)).requests[0]?.decisions.some((d) => !d.accepted) ?? false);
      await handle.signal(approve, c.h.signed(handle.workflowId, 'approve', by('risky')));
    },
    expect: { status: 'resolved', outcome: 'healed' },
    check: (s, c) => {
      const [refused, approved] = s.requests[0]?.decisions ?? [];
      if (runsOf(c.log, 'risky') !== 1) return 'the step did not run exactly once';
      if (refused?.verdict !== 'abort' || refused.accepted || !/does not answer an approval request/.test(refused.note ?? '')) return 'abort was not refused';
      return approved?.verdict === 'approve' && approved.accepted ? undefined : 'the approval after the refusal did not count';
    },
  },
  {
    name: 'forged-decision-refused',
    runbook: (c) => `${header('forged-decision-refused', c)}
  - id: risky
    action: { kind: command, argv: ${sideEffect(c.log, 'risky')} }
    approval: { approvers: [oncall], timeout: 1h }`,
    async drive(handle, c) {
      await c.h.waitForStatus(handle, 'awaiting_approval');
      // Unsigned, as anyone with Temporal access could send them: refused, and ignored.
      await handle.signal(approve, by('risky'));
      await handle.signal(decisionRefused, { ...by('risky'), verdict: 'approve', note: 'forged refusal' });
      await waitFor('the forged decisions to be handled', 30_000, async () => {
        const s = await c.h.state(handle);
        return (s.requests[0]?.decisions.length ?? 0) >= 1 && (s.ignoredRefusals ?? 0) >= 1;
      });
      await handle.signal(approve, c.h.signed(handle.workflowId, 'approve', by('risky')));
    },
    expect: { status: 'resolved', outcome: 'healed' },
    check: (s, c) => {
      const [forged, approved] = s.requests[0]?.decisions ?? [];
      if (runsOf(c.log, 'risky') !== 1) return 'the step did not run exactly once';
      if (forged?.accepted !== false || !/not vouched for/.test(forged.note ?? '')) return 'the unsigned approval was not refused';
      if (s.ignoredRefusals !== 1) return 'the unsigned refusal was not ignored';
      return approved?.accepted ? undefined : 'the signed approval did not count';
    },
  },
  {
    name: 'isolation-skipped-refused',
    runbook: (c) => `${header('isolation-skipped-refused', c)}
  - id: isolate
    action: { kind: isolate, command: { argv: ${fenced('isolate', c.log, join(c.dir, 'isolated'), join(c.dir, 'never'))} } }
    compensate: { kind: command, argv: ${fenced('unisolate', c.log, join(c.dir, 'isolated'))} }
    isolation: provides
    approval: false
    retry: { max_attempts: 1 }
  - id: switch
    action: { kind: command, argv: ${fenced('step', c.log, join(c.dir, 'isolated'), join(c.dir, 'gate'))} }
    isolation: requires`,
    async drive(handle, c) {
      await c.h.waitForStatus(handle, 'escalated');
      await handle.signal(decide, c.h.signed(handle.workflowId, 'skip', { ...by('isolate'), action: 'skip' }));
    },
    expect: { status: 'aborted', outcome: 'isolation not in force at switch' },
    check: (_s, c) => (runOrder(c.log).some((l) => l.startsWith('step')) ? 'the fenced step ran without its isolation' : undefined),
  },
  {
    name: 'approval-reject',
    runbook: (c) => `${header('approval-reject', c)}
  - id: prepare
    action: { kind: command, argv: ${sideEffect(c.log, 'prepare')} }
    compensate: { kind: command, argv: ${sideEffect(c.log, 'unprepare')} }
  - id: risky
    action: { kind: command, argv: ${sideEffect(c.log, 'risky')} }
    approval: { approvers: [oncall], timeout: 1h }`,
    async drive(handle, c) {
      await c.h.waitForStatus(handle, 'awaiting_approval');
      await handle.signal(reject, c.h.signed(handle.workflowId, 'reject', by('risky')));
    },
    expect: { status: 'aborted', outcome: 'approval reject at risky' },
    check: (_s, c) => (runsOf(c.log, 'risky') === 0 && runsOf(c.log, 'unprepare') === 1 ? undefined : 'rejected step ran or nothing was undone'),
  },
  {
    name: 'approval-timeout-reject',
    runbook: (c) => `${header('approval-timeout', c)}
  - id: risky
    action: { kind: command, argv: ${sideEffect(c.log, 'risky')} }
    approval: { approvers: [oncall], timeout: 1s, on_timeout: reject }`,
    expect: { status: 'aborted', outcome: 'approval timeout at risky' },
  },
  {
    name: 'dry-run',
    dryRun: true,
    runbook: (c) => `${header('dry-run', c)}
  - id: change
    action: { kind: command, argv: ${sideEffect(c.log, 'change')} }
  - id: risky
    action: { kind: command, argv: ${sideEffect(c.log, 'risky')} }
    approval: { approvers: [oncall], timeout: 1h }`,
    expect: { status: 'resolved', outcome: 'planned' },
    check: (s, c) => (runsOf(c.log, 'change') === 0 && s.steps[1]?.approvalPlanned ? undefined : 'a dry run changed something or skipped the plan'),
  },
  {
    name: 'resolved-during-confirmation',
    runbook: (c) => `${header('resolved-confirming', c)}
  - id: confirm
    action: { kind: confirm, target: ${DEAD_TCP}, timeout: 500ms, samples: 5, interval: 2s, quorum: 5 }
    timeout: 30s
  - id: act
    action: { kind: command, argv: ${sideEffect(c.log, 'act')} }`,
    async drive(handle) {
      // Wait for a first probe so the history has sampling before the signal.
      await waitFor('a first probe', 30_000, async () => (await handle.fetchHistory()).events?.some((e) => e.activityTaskCompletedEventAttributes) ?? false);
      const fault = testFault('resolved-during-confirmation', 'node-1');
      await handle.signal(faultResolved, { ...fault, status: 'resolved' });
    },
    expect: { status: 'resolved', outcome: 'recovered' },
  },
  {
    name: 'on-failure-continue',
    runbook: (c) => `${header('on-failure-continue', c)}
  - id: optional
    action: { kind: command, argv: ${sideEffect(c.log, 'optional', '--fail-until', '99')} }
    retry: { max_attempts: 2, initial_interval: 100ms }
    on_failure: continue
  - id: after
    action: { kind: command, argv: ${sideEffect(c.log, 'after')} }`,
    expect: { status: 'resolved', outcome: 'healed' },
    check: (s) => (s.steps[0]?.status === 'failed' && s.steps[1]?.status === 'succeeded' ? undefined : 'did not go on past the failure'),
  },
  {
    name: 'when-skip',
    runbook: (c) => `${header('when-skip', c)}
  - id: minor-only
    action: { kind: command, argv: ${sideEffect(c.log, 'minor-only')} }
    when: { equals: [fault.severity, minor] }
  - id: always
    action: { kind: command, argv: ${sideEffect(c.log, 'always')} }`,
    expect: { status: 'resolved', outcome: 'healed' },
    check: (s) => (s.steps[0]?.status === 'skipped' && s.steps[1]?.status === 'succeeded' ? undefined : 'the when condition did not skip the step'),
  },
  {
    // A drill marks the incident it provoked while the incident runs.
    name: 'drills-incident-marked',
    runbook: (c) => `${header('drills-incident-marked', c)}
${holdUntil(c, join(c.dir, 'gate'))}`,
    drive: async (handle, c) => {
      await handle.signal(drillMarked, { drillId: 'drill/drills-incident-marked/node-1/drills-incident-marked/2026-01-01T00-00-00-000Z' });
      await waitFor('the incident to take the drill marker', 30_000, async () => (await c.h.state(handle)).drill !== undefined, 100);
      writeFileSync(join(c.dir, 'gate'), '');
    },
    expect: { status: 'resolved', outcome: 'healed' },
    check: (s) => (s.drill?.drillId.startsWith('drill/drills-incident-marked/') ? undefined : 'the incident did not record the drill that marked it'),
  },
  {
    name: 'isolation-lease',
    runbook: (c) => `${header('isolation-lease', c, ', blast_radius: { max_isolated: 1, max_per_hour: 5 }')}
  - id: isolate
    action: { kind: isolate, command: { argv: ${sideEffect(c.log, 'isolate')} } }
    approval: false
  - id: restart
    action: { kind: command, argv: ${sideEffect(c.log, 'restart')} }`,
    expect: { status: 'resolved', outcome: 'healed' },
    alsoRecord: [{ suffix: 'guard', workflowId: guardIdFor('isolation-lease') }],
  },
  {
    name: 'ambiguous-escalate',
    runbook: (c) => `${header('ambiguous-escalate', c)}
  - id: settle
    action: { kind: wait, duration: 3s }
  - id: append
    action: { kind: command, argv: ${sideEffect(c.log, 'append')} }`,
    // The ledger holds a start of `append` nobody finished, as a worker killed mid-command leaves it.
    async drive(handle, c) {
      const { runId } = await handle.describe();
      const nc = await c.natsWorker();
      try {
        const ledger = kvEffectLedger(() => openEffectsBucket(nc.jetstream()));
        await ledger.claim(ledgerKey(`incident/ambiguous-escalate/node-1/${runId}/append/e0`), { state: 'started', attempt: 1, at: new Date().toISOString() }, undefined);
      } finally {
        await nc.close();
      }
      await c.h.waitForStatus(handle, 'escalated');
      await handle.signal(decide, c.h.signed(handle.workflowId, 'abort', { ...by('append'), action: 'abort' }));
    },
    expect: { status: 'aborted', outcome: /outcome of append unknown/ },
    check: (s, c) => (runsOf(c.log, 'append') === 0 && s.requests.some((r) => /AmbiguousOutcome/.test(r.reason)) ? undefined : 'the ambiguous command ran or was not escalated'),
  },
  {
    name: 'isolation-lease-failed',
    // Every approval round times out and escalates until the gate gives up (ApprovalExhausted) while the lease is held.
    runbook: (c) =>
      leaseHolder('isolation-lease-failed', c, `  - id: ask
    action: { kind: command, argv: ${sideEffect(c.log, 'ask')} }
    approval: { approvers: [oncall], timeout: 1ms, on_timeout: escalate }`),
    fails: /approval escalated too many times/,
    expect: { status: 'escalated', outcome: /.*/ },
    leaseReleased: true,
    check: (_s, c) => (runsOf(c.log, 'isolate-node-1') === 1 && runsOf(c.log, 'ask') === 0 ? undefined : 'expected the isolation and no approved step'),
    alsoRecord: [{ suffix: 'guard', workflowId: guardIdFor('isolation-lease-failed') }],
  },
  {
    name: 'isolation-lease-cancelled',
    runbook: (c) => leaseHolder('isolation-lease-cancelled', c, holdUntil(c, join(c.dir, 'gate'))),
    async drive(handle, c) {
      await waitFor('the holding step', 30_000, () => runsOf(c.log, 'hold-node-1') === 1);
      await handle.cancel();
    },
    fails: /cancel/i,
    expect: { status: 'remediating', outcome: /.*/ },
    leaseReleased: true,
    alsoRecord: [{ suffix: 'guard', workflowId: guardIdFor('isolation-lease-cancelled') }],
  },
  {
    name: 'isolation-lease-reclaimed',
    // A first incident of the service holds the only lease and is terminated (it runs no code to give it back).
    async prepare(c) {
      const gate = join(c.dir, 'terminated-gate');
      const first = await c.h.start(runbookFrom(leaseHolder('isolation-lease-reclaimed', c, holdUntil(c, gate))), testFault('isolation-lease-reclaimed', 'node-0'));
      await waitFor('the first incident to hold the lease', 30_000, () => runsOf(c.log, 'hold-node-0') === 1);
      await first.terminate('recording a reclaimed lease');
      writeFileSync(gate, '');
    },
    runbook: (c) => leaseHolder('isolation-lease-reclaimed', c, `  - id: restart
    action: { kind: command, argv: ${sideEffect(c.log, 'restart')} }`),
    expect: { status: 'resolved', outcome: 'healed' },
    check: (s) => (s.requests.length === 0 ? undefined : 'the reclaimed lease still needed a human'),
    leaseReleased: true,
    alsoRecord: [{ suffix: 'guard', workflowId: guardIdFor('isolation-lease-reclaimed') }],
  },
  {
    name: 'escalation-timeout',
    runbook: (c) => `${header('escalation-timeout', c, ', escalation: { timeout: 500ms, renotify: 1, on_timeout: abort }')}
  - id: first
    action: { kind: command, argv: ${sideEffect(c.log, 'first')} }
    compensate: { kind: command, argv: ${sideEffect(c.log, 'undo-first')} }
  - id: broken
    action: { kind: command, argv: ${sideEffect(c.log, 'broken', '--fail-until', '99')} }
    retry: { max_attempts: 1 }`,
    expect: { status: 'aborted', outcome: 'escalation timed out at broken' },
    check: (s, c) => (runsOf(c.log, 'undo-first') === 1 && s.requests.filter((r) => r.outcome === 'timeout').length === 2 ? undefined : 'expected one compensation and two unanswered escalations'),
  },
  {
    name: 'quiet-close',
    input: { quietPeriod: '1s' },
    async drive(handle) {
      await handle.signal(faultObserved, testFault('quiet-close', 'node-1'));
    },
    expect: { status: 'unresolved', outcome: 'unresolved_quiet' },
    check: (s) => (s.faults.count === 2 ? undefined : 'the repeat fault was not absorbed'),
  },
  {
    name: 'continued-as-new',
    input: { continueAsNewAfterEvents: 60 },
    runbook: (c) => `${header('continued-as-new', c)}
  - id: prepare
    action: { kind: command, argv: ${sideEffect(c.log, 'prepare')} }
  - id: risky
    action: { kind: command, argv: ${sideEffect(c.log, 'risky')} }
    approval: { approvers: [oncall], timeout: 1h }`,
    async drive(handle, c) {
      await c.h.waitForStatus(handle, 'awaiting_approval');
      const first = (await handle.describe()).runId;
      const latest = c.h.client.workflow.getHandle(handle.workflowId);
      await waitFor('the incident to continue as new', 30_000, async () => {
        await latest.signal(faultObserved, testFault('continued-as-new', 'node-1'));
        return (await latest.describe()).runId !== first;
      });
      c.earlierRuns.push(first);
      await latest.signal(approve, c.h.signed(latest.workflowId, 'approve', by('risky')));
    },
    expect: { status: 'resolved', outcome: 'healed' },
    check: (_s, c) => (runsOf(c.log, 'prepare') === 1 && runsOf(c.log, 'risky') === 1 ? undefined : 'a step ran twice or not at all across the runs'),
  },
  {
    name: 'escalation-member-decides',
    runbook: (c) => `${header('escalation-member-decides', c, ', escalation: { approvers: [oncall], timeout: 1h }')}
  - id: gated
    action: { kind: command, argv: ${sideEffect(c.log, 'gated', '--until-file', join(c.dir, 'gate'))} }
    retry: { max_attempts: 1 }
    on_failure: escalate`,
    async drive(handle, c) {
      await c.h.waitForStatus(handle, 'escalated');
      // Signed, as the API would sign it for anyone with a token, but the outsider is on no roster group.
      await handle.signal(decide, c.h.signed(handle.workflowId, 'abort', { ...by('gated'), by: 'outsider', action: 'abort' }));
      await waitFor('the outsider to be refused', 30_000, async () => (await c.h.state(handle)).requests[0]?.decisions.some((d) => !d.accepted) ?? false);
      writeFileSync(join(c.dir, 'gate'), '');
      await handle.signal(decide, c.h.signed(handle.workflowId, 'retry', { ...by('gated'), action: 'retry' }));
    },
    expect: { status: 'resolved', outcome: 'healed' },
    check: (s) => {
      const r = s.requests[0];
      if (r?.approvers?.join() !== 'oncall' || r.eligible?.join() !== 'recorder') return 'the escalation did not name oncall and its members';
      const [refused, accepted] = r.decisions;
      if (refused?.by !== 'outsider' || refused.accepted || !/not on the escalation roster/.test(refused.note ?? '')) return 'the outsider was not refused';
      return accepted?.by === 'recorder' && accepted.accepted ? undefined : "the member's retry did not count";
    },
  },
  {
    name: 'escalation-chain-widens',
    runbook: (c) => `${header('escalation-chain-widens', c, ', escalation: { timeout: 1s, renotify: 1, on_timeout: abort }')}
  - id: broken
    action: { kind: command, argv: ${sideEffect(c.log, 'broken', '--fail-until', '99')} }
    retry: { max_attempts: 1 }
    on_failure: escalate`,
    async drive(handle, c) {
      await waitFor('the escalation to be sent again', 30_000, async () => (await c.h.state(handle)).requests.length === 2);
      await handle.signal(decide, c.h.signed(handle.workflowId, 'abort', { ...by('broken'), by: 'lead', action: 'abort' }));
    },
    expect: { status: 'aborted', outcome: 'aborted after broken failed' },
    check: (s) => {
      const [first, second] = s.requests;
      if (first?.approvers?.join() !== 'oncall' || first.outcome !== 'timeout') return 'the first request did not ask oncall alone';
      if (second?.approvers?.join() !== 'oncall,leads' || second.eligible?.join() !== 'lead,recorder') return 'the second request did not add the roster chain';
      return second.decisions[0]?.by === 'lead' && second.decisions[0].accepted ? undefined : "the lead's abort did not count";
    },
  },
  {
    name: 'backup-restore',
    async prepare(c) {
      mkdirSync(join(c.dir, 'data', 'models'), { recursive: true });
      writeFileSync(join(c.dir, 'data', 'models', 'weights.bin'), 'weights v1\n');
      writeFileSync(join(c.dir, 'data', 'config.json'), '{"version":1}\n');
    },
    runbook: (c) => `${header('backup-restore', c)}
  - id: snapshot
    action: { kind: backup, source: "${join(c.dir, 'data')}/", repository: "${join(c.dir, 'backups')}", retention: { keep_last: 3 }, verify: true }
    timeout: 1m
  - id: restore
    action: { kind: restore_data, repository: "${join(c.dir, 'backups')}", destination: "${join(c.dir, 'restored')}" }
    unfenced: true
    timeout: 1m`,
    expect: { status: 'resolved', outcome: 'healed' },
    check: (s, c) => {
      if (s.steps[0]?.output?.verified !== true) return 'the snapshot was not verified';
      if (s.steps[1]?.output?.snapshot !== s.steps[0]?.output?.snapshot) return 'the restore did not use the snapshot just taken';
      return readFileSync(join(c.dir, 'restored', 'models', 'weights.bin'), 'utf8') === 'weights v1\n' ? undefined : 'the restored data differs from the source';
    },
  },
];

/**
 * One path of a scheduled run (the `scheduledRun` workflow a Temporal
 * Schedule starts): how the target stands when the run starts and how the
 * run must end. The launcher is started the way a schedule starts it (its id
 * is the schedule's launcher id plus a nominal time), without the schedule:
 * the workflow reads nothing else of it.
 */
export interface ScheduledPath {
  name: string;
  runbook(ctx: PathContext): string;
  ifIncidentOpen: ScheduledRunInput['ifIncidentOpen'];
  /** Runs before the launcher starts (e.g. a fault-driven incident it must meet). */
  prepare?(ctx: PathContext): Promise<void>;
  /** What is wrong with how the run ended, if anything. */
  check(result: ScheduledRunResult, ctx: PathContext): string | undefined;
  /** Also record the incident the run opened, as `<name>.incident.json`. */
  recordIncident?: boolean;
  /** Runs once the histories are written (e.g. closes what `prepare` opened). */
  cleanup?(ctx: PathContext): Promise<void>;
}

const scheduledHeader = (name: string, ctx: PathContext): string => `
name: ${name}
version: 1
match: { kinds: [scheduled] }
settings: { allowed_executables: [${ctx.node}] }
steps:`;

/** The fault-driven incident a skipped scheduled run meets: open, waiting for an approval. */
const OPEN_INCIDENT_TARGET = 'node-1';

/** The scheduled-run paths every workflow change must still replay. */
export const SCHEDULED_PATHS: readonly ScheduledPath[] = [
  {
    name: 'scheduled-run-opens-incident',
    runbook: (c) => `${scheduledHeader('scheduled-run-opens-incident', c)}
  - id: snapshot
    action: { kind: command, argv: ${sideEffect(c.log, 'snapshot-{{fault.target}}-{{fault.kind}}')} }`,
    ifIncidentOpen: 'skip',
    recordIncident: true,
    check: (r, c) => {
      if (!r.ran) return `the run opened no incident: ${r.skipped}`;
      if (!('status' in r)) return `the run started drill ${r.drillId}, expected an incident`;
      if (r.status !== 'resolved' || r.outcome !== 'healed') return `its incident ended ${r.status}/${r.outcome ?? ''}, expected resolved/healed`;
      return runsOf(c.log, `snapshot-${OPEN_INCIDENT_TARGET}-scheduled`) === 1 ? undefined : "the incident's step did not run once, on the scheduled fault";
    },
  },
  {
    name: 'scheduled-run-skipped-incident-open',
    runbook: (c) => `${scheduledHeader('scheduled-run-skipped-incident-open', c)}
  - id: snapshot
    action: { kind: command, argv: ${sideEffect(c.log, 'snapshot')} }`,
    ifIncidentOpen: 'skip',
    async prepare(c) {
      const open = await c.h.start(runbookFrom(`${header('fault-driven', c)}
  - id: risky
    action: { kind: command, argv: ${sideEffect(c.log, 'risky')} }
    approval: { approvers: [oncall], timeout: 1h }`), testFault('scheduled-run-skipped-incident-open', OPEN_INCIDENT_TARGET));
      await c.h.waitForStatus(open, 'awaiting_approval');
    },
    check: (r, c) => {
      if (r.ran) return `the run opened ${'incidentId' in r ? r.incidentId : r.drillId} while a fault-driven incident was open`;
      if (!/is open; this scheduled run .* was skipped/.test(r.skipped)) return `the skip does not say why: ${r.skipped}`;
      return runsOf(c.log, 'snapshot') === 0 ? undefined : 'the scheduled step ran';
    },
    async cleanup(c) {
      const open = c.h.client.workflow.getHandle(`incident/scheduled-run-skipped-incident-open/${OPEN_INCIDENT_TARGET}`);
      await open.signal(approve, c.h.signed(open.workflowId, 'approve', by('risky')));
      await open.result();
    },
  },
];

/** Files a path writes besides `<name>.json`. */
function extraFiles(p: RecordedPath | ScheduledPath | { name: string; verdict: string }): string[] {
  if ('verdict' in p) return [];
  if ('ifIncidentOpen' in p) return p.recordIncident ? [`${p.name}.incident.json`] : [];
  return (p.alsoRecord ?? []).map((x) => `${p.name}.${x.suffix}.json`);
}

const scheduleIdOf = (name: string): string => scheduleIdFor(name, name, OPEN_INCIDENT_TARGET);

/**
 * Workflow id a scheduled path's launcher ran under (the schedule's launcher
 * id and a fixed nominal time), or undefined for any other history. The
 * launcher derives its incident's id from its own workflow id, so its history
 * replays only under the id it was recorded with.
 */
export function recordedLauncherId(historyName: string): string | undefined {
  return SCHEDULED_PATHS.some((p) => p.name === historyName) ? `${launcherIdFor(scheduleIdOf(historyName))}-2026-01-01T00:00:00Z` : undefined;
}

/** Starts a scheduled path's launcher as its schedule would; the nominal time is fixed so the incident's id is too. */
function startScheduledPath(h: EngineHarness, path: ScheduledPath, ctx: PathContext): Promise<WorkflowHandle> {
  const scheduleId = scheduleIdOf(path.name);
  const input: ScheduledRunInput = {
    scheduleId,
    service: path.name,
    target: OPEN_INCIDENT_TARGET,
    runbook: runbookFrom(path.runbook(ctx)),
    dryRun: false,
    ifIncidentOpen: path.ifIncidentOpen,
    fingerprint: 'recorded',
  };
  return h.client.workflow.start(SCHEDULED_RUN_WORKFLOW, { workflowId: recordedLauncherId(path.name) ?? launcherIdFor(scheduleId), taskQueue: h.taskQueue, args: [input] });
}

/** Starts a path's incident, with a runbook or without one and with any further input. */
function startPath(h: EngineHarness, path: RecordedPath, ctx: PathContext): Promise<WorkflowHandle> {
  const fault = testFault(path.name, 'node-1');
  const runbook = path.runbook ? runbookFrom(path.runbook(ctx)) : undefined;
  if (runbook && !path.input) return h.start(runbook, fault, path.dryRun ?? false);
  const incidentId = `incident/${fault.service}/${fault.target}`;
  const input: IncidentInput = { incidentId, fault, ...(runbook ? { runbook } : {}), dryRun: path.dryRun ?? false, ...path.input };
  return h.client.workflow.start('incident', { workflowId: incidentId, taskQueue: h.taskQueue, args: [input] });
}

async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for an incident that must fail with a matching message; answers with its last state, as `result()` would. */
async function failedWith(handle: WorkflowHandle, pattern: RegExp, h: EngineHarness): Promise<IncidentResult> {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e as Error & { cause?: Error },
  );
  if (!err) throw new Error(`${handle.workflowId} returned, expected a failure matching ${String(pattern)}`);
  const message = `${err.message} ${err.cause?.message ?? ''}`;
  if (!pattern.test(message)) throw new Error(`${handle.workflowId} failed with "${message}", expected ${String(pattern)}`);
  const state = await h.state(handle);
  return { status: state.status, outcome: state.outcome ?? '', faultsAbsorbed: state.faults.count, state };
}

/**
 * The ProtoJSON codec of the protobufjs copy that built the Temporal types.
 * `historyToJSON` from @temporalio/common fails ("type must be a Type") when
 * npm installs a separate protobufjs copy for each @temporalio package, so
 * the file is written the same way with the matching copy.
 */
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [dirname(require.resolve('@temporalio/proto'))] })) as {
  toJson(type: unknown, message: unknown): unknown;
};

async function writeHistory(h: EngineHarness, workflowId: string, file: string, runId?: string): Promise<void> {
  const history = await h.client.workflow.getHandle(workflowId, runId).fetchHistory();
  const History = temporal.api.history.v1.History;
  // 'wx': never replace a file, whatever directory it is in.
  writeFileSync(file, `${JSON.stringify(protojson.toJson(History, History.fromObject(history)), null, 2)}\n`, { flag: 'wx' });
}

/**
 * Files of test/histories this recording would overwrite. Stored histories are
 * what incidents in flight were recorded against; rewriting one hides the
 * branch it covered (test/unit/history-manifest.test.ts checks them too).
 */
export function wouldOverwrite(out: string, only?: readonly string[]): string[] {
  if (relative(DEFAULT_HISTORY_DIR, resolve(out)) !== '') return [];
  return [...RECORDED_PATHS, ...SCHEDULED_PATHS, ...DRILL_PATHS]
    .filter((p) => !only?.length || only.includes(p.name))
    .flatMap((p) => [`${p.name}.json`, ...extraFiles(p)])
    .filter((f) => existsSync(join(out, f)) || existsSync(join(out, `${f}.gz`)));
}

/** Runs every path on a private test stack and writes `<out>/<path>.json`; returns the files written. */
export async function recordHistories(out = DEFAULT_HISTORY_DIR, only?: readonly string[]): Promise<string[]> {
  const taken = wouldOverwrite(out, only);
  if (taken.length > 0) {
    throw new Error(`refusing to overwrite stored histories in test/histories (${taken.join(', ')}); record into a scratch directory and copy the new files in under a new patch prefix (docs/testing.md)`);
  }
  mkdirSync(out, { recursive: true });
  const rosterDir = mkdtempSync(join(tmpdir(), 'record-roster-'));
  const rosterFile = join(rosterDir, 'roster.yaml');
  writeFileSync(rosterFile, RECORDING_ROSTER);
  const stack = await startTestStack({ overrides: { rosterFile } });
  const healthy = createServer((_req, res) => res.end('ok'));
  let h: EngineHarness | undefined;
  const written: string[] = [];
  try {
    h = await startEngineHarness(stack);
    await new Promise<void>((r) => healthy.listen(0, '127.0.0.1', r));
    const addr = healthy.address();
    const healthyUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/health`;
    for (const path of RECORDED_PATHS.filter((p) => !only?.length || only.includes(p.name))) {
      const dir = join(h.scratch, path.name);
      mkdirSync(dir);
      const ctx: PathContext = { h, dir, log: join(dir, 'side-effects.log'), node: JSON.stringify(process.execPath), healthyUrl, natsWorker: () => stack.natsConnect('worker'), earlierRuns: [] };
      await within(60_000, `${path.name} to be prepared`, path.prepare?.(ctx) ?? Promise.resolve());
      const handle = await startPath(h, path, ctx);
      await within(60_000, `${path.name} to be driven`, path.drive?.(handle, ctx) ?? Promise.resolve());
      // The latest run: a path that continued as new finishes in a later run than it started in.
      const latest = h.client.workflow.getHandle(handle.workflowId);
      const result: IncidentResult = await within(120_000, `${path.name} to finish`, path.fails ? failedWith(handle, path.fails, h) : (latest.result() as Promise<IncidentResult>));
      const outcomeOk = typeof path.expect.outcome === 'string' ? result.outcome === path.expect.outcome : path.expect.outcome.test(result.outcome);
      if (result.status !== path.expect.status || !outcomeOk) {
        throw new Error(`${path.name} ended ${result.status}/${result.outcome}, expected ${path.expect.status}/${String(path.expect.outcome)}`);
      }
      const problem = path.check?.(await h.state(h.client.workflow.getHandle(handle.workflowId)), ctx);
      if (problem) throw new Error(`${path.name}: ${problem}`);
      if (path.leaseReleased) {
        const guard = h.client.workflow.getHandle(guardIdFor(path.name));
        await waitFor(`${path.name}: the lease to be given back`, 30_000, async () => Object.keys((await guard.query(guardState)).holders).length === 0);
      }
      const file = join(out, `${path.name}.json`);
      await writeHistory(h, handle.workflowId, file);
      written.push(file);
      for (const [i, runId] of ctx.earlierRuns.entries()) {
        const runFile = join(out, `${path.name}.run-${i + 1}.json`);
        await writeHistory(h, handle.workflowId, runFile, runId);
        written.push(runFile);
      }
      for (const extra of path.alsoRecord ?? []) {
        const extraFile = join(out, `${path.name}.${extra.suffix}.json`);
        await writeHistory(h, extra.workflowId, extraFile);
        written.push(extraFile);
      }
      process.stdout.write(`recorded ${path.name}\n`);
    }
    for (const path of SCHEDULED_PATHS.filter((p) => !only?.length || only.includes(p.name))) {
      const dir = join(h.scratch, path.name);
      mkdirSync(dir);
      const ctx: PathContext = { h, dir, log: join(dir, 'side-effects.log'), node: JSON.stringify(process.execPath), healthyUrl, natsWorker: () => stack.natsConnect('worker'), earlierRuns: [] };
      await within(60_000, `${path.name} to be prepared`, path.prepare?.(ctx) ?? Promise.resolve());
      const handle = await startScheduledPath(h, path, ctx);
      const result = await within(120_000, `${path.name} to finish`, handle.result() as Promise<ScheduledRunResult>);
      const problem = path.check(result, ctx);
      if (problem) throw new Error(`${path.name}: ${problem}`);
      const file = join(out, `${path.name}.json`);
      await writeHistory(h, handle.workflowId, file);
      written.push(file);
      if (path.recordIncident && result.ran && 'incidentId' in result) {
        const incidentFile = join(out, `${path.name}.incident.json`);
        await writeHistory(h, result.incidentId, incidentFile);
        written.push(incidentFile);
      }
      await within(60_000, `${path.name} to be cleaned up`, path.cleanup?.(ctx) ?? Promise.resolve());
      process.stdout.write(`recorded ${path.name}\n`);
    }
    const decisionKey = readDecisionKey(decisionKeyPath(stack.config));
    for (const path of DRILL_PATHS.filter((p) => !only?.length || only.includes(p.name))) {
      const dir = join(h.scratch, path.name);
      mkdirSync(dir);
      const handle = await within(120_000, `${path.name} to finish`, runDrillPath(h, path, dir, decisionKey));
      const file = join(out, `${path.name}.json`);
      await writeHistory(h, handle.workflowId, file);
      written.push(file);
      process.stdout.write(`recorded ${path.name}\n`);
    }
  } finally {
    healthy.close();
    if (h) rmSync(h.scratch, { recursive: true, force: true });
    await h?.close();
    await stack.stop();
    rmSync(rosterDir, { recursive: true, force: true });
  }
  return written;
}

if (require.main === module) {
  const [outArg, ...only] = process.argv.slice(2);
  recordHistories(outArg ? resolve(outArg) : DEFAULT_HISTORY_DIR, only).then(
    (files) => process.stdout.write(`${files.length} histories written\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
