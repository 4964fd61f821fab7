import type { Client } from '@temporalio/client';
import { signDecision } from '../engine/decision-signature';
import { loadRunbookFile } from '../engine/load-runbook';
import { snapshotOf } from '../intake/intake-loop';
import { DRILL_DECISION_STEP, drillIdFor, DRILL_WORKFLOW, type DrillInput, type DrillState } from '../schemas/drill-input';
import type { DrillReport } from '../schemas/drill-report';
import { SA } from '../schemas/search-attributes';
import { localOperator } from '../stack/local-roster';
import { waitFor } from '../stack/wait-for';
import { decideDrill, drillState } from '../workflows/messages';
import { declineForHuman, DemoScenarioError, followIncident } from './follow-incident';
import { DEMO_SERVICE, DEMO_TASK_QUEUE, PRIMARY } from './layout';
import { bringUp, Teardown, type ScenarioOptions } from './scenarios';
import type { TimelineEntry } from './report';

/** Where a caller (a test) may step in. */
export interface DrillDemoHooks {
  /** Runs once the drill waits for approval, before the demo answers. */
  beforeApproval?: (client: Client, drillId: string, state: DrillState) => Promise<void>;
}

/** How long the demo waits for the drill's incident to open after approving. */
const INCIDENT_WAIT_MS = 120_000;

async function stateOf(client: Client, drillId: string): Promise<DrillState | undefined> {
  return client.workflow.getHandle(drillId).query(drillState).catch(() => undefined);
}

/**
 * `runbook demo drill`: brings the demo fleet up, starts a drill of the
 * demo's failover runbook on the primary, approves it as a member of the
 * drill group (the demo holds the stack's decision key, as the approval API
 * does), answers the incident's fail-back approval like the other scenarios,
 * and returns the drill's graded report.
 */
export async function runDrillDemo(opts: ScenarioOptions, hooks: DrillDemoHooks = {}): Promise<DrillReport> {
  const log = opts.log ?? (() => undefined);
  const cleanup = new Teardown();
  try {
    const timeline: TimelineEntry[] = [];
    const r = await bringUp(opts, timeline, cleanup, false);
    const loaded = await loadRunbookFile(r.layout.runbookFile);
    if (!loaded.ok) throw new DemoScenarioError(`the demo runbook does not load: ${loaded.errors.map((e) => e.message).join('; ')}`);
    const { client, decisionKey } = r.engine;
    const drillId = drillIdFor(DEMO_SERVICE, PRIMARY, loaded.runbook.name, new Date().toISOString().replace(/[:.]/g, '-'));
    const input: DrillInput = { drillId, runbook: snapshotOf(loaded), service: DEMO_SERVICE, target: PRIMARY, dryRun: false, requestedBy: localOperator(), ...(opts.temporalUiUrl ? { temporalUiUrl: opts.temporalUiUrl } : {}) };
    const handle = await client.workflow.start(DRILL_WORKFLOW, {
      workflowId: drillId,
      taskQueue: DEMO_TASK_QUEUE,
      args: [input],
      typedSearchAttributes: [
        { key: SA.service, value: DEMO_SERVICE },
        { key: SA.target, value: PRIMARY },
        { key: SA.runbook, value: loaded.runbook.name },
      ],
    });
    log(`drill ${drillId} started; it waits for a member of the drill group`);
    let waiting: DrillState | undefined;
    await waitFor('the drill to ask for approval', 30_000, async () => {
      waiting = await stateOf(client, drillId);
      return waiting?.phase === 'awaiting_approval' && waiting.approvalTimeoutAt !== undefined;
    }, 200);
    if (hooks.beforeApproval && waiting) await hooks.beforeApproval(client, drillId, waiting);
    const by = waiting?.members ? waiting.members[0] : localOperator();
    if (by === undefined) throw new DemoScenarioError(`nobody is in the drill group ${waiting?.approvers.join(', ') ?? ''} of the roster; add someone and run again`);
    const go = opts.autoApprove || (await opts.ask?.(`approve drill ${drillId} as ${by}?`, new AbortController().signal)) === true;
    const verdict = go ? 'approve' : 'reject';
    const reason = go ? 'runbook demo drill' : 'declined at the demo prompt';
    const signature = signDecision(decisionKey, { purpose: 'decision', incidentId: drillId, step: DRILL_DECISION_STEP, verdict, by, channel: 'demo', reason });
    await handle.executeUpdate(decideDrill, { args: [{ verdict, by, channel: 'demo', reason, signature }] });
    log(`drill ${verdict === 'approve' ? 'approved' : 'rejected'} by ${by}`);
    if (go) {
      let incident: DrillState['incident'];
      await waitFor('the drill to see its incident open', INCIDENT_WAIT_MS, async () => {
        const s = await stateOf(client, drillId);
        incident = s?.incident;
        return incident !== undefined || s?.phase === 'done' || s?.phase === 'reporting';
      }, 250);
      if (incident) {
        log(`incident ${incident.incidentId} opened; following it`);
        const incidentHandle = client.workflow.getHandle(incident.incidentId, incident.runId);
        const followed = await followIncident(incidentHandle, {
          client,
          autoApprove: opts.autoApprove,
          ...(opts.ask ? { ask: opts.ask } : {}),
          log,
          note: () => undefined,
          timeoutMs: opts.incidentTimeoutMs ?? 180_000,
          decisionKey,
        });
        // Automation stopped and asked a human: the demo aborts the incident, and the drill's restore puts things back.
        if (followed.escalation) await declineForHuman(client, incidentHandle, followed.escalation, () => undefined, decisionKey);
      }
    }
    return (await handle.result()) as DrillReport;
  } finally {
    await cleanup.run();
  }
}
