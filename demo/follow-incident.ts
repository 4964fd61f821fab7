import type { Client, WorkflowHandle } from '@temporalio/client';
import { incidentIdFor, ServiceId, TargetId } from '../schemas/identifiers';
import { waitFor } from '../stack/wait-for';
import type { HumanRequest, IncidentState } from '../schemas/incident-state';
import { incidentState } from '../workflows/messages';
import { abortEscalation, approveStep, rejectStep } from './approval';
import { DEMO_SERVICE, PRIMARY } from './layout';

/** Every demo fault is about the primary, so every demo incident has this id. */
export const DEMO_INCIDENT_ID: string = incidentIdFor(ServiceId.parse(DEMO_SERVICE), TargetId.parse(PRIMARY));

/** A demo step could not be followed to its end. */
export class DemoScenarioError extends Error {
  override name = 'DemoScenarioError';
}

/** Waits for the incident run opened by a fault injected at `after` (a run not in `seen`). */
export async function awaitNewRun(client: Client, after: number, seen: Set<string>, timeoutMs: number): Promise<{ handle: WorkflowHandle; runId: string }> {
  let runId: string | undefined;
  await waitFor('the incident to open', timeoutMs, async () => {
    try {
      const d = await client.workflow.getHandle(DEMO_INCIDENT_ID).describe();
      // Clocks are the same machine's; the slack covers the describe's own rounding.
      if (!seen.has(d.runId) && d.startTime.getTime() >= after - 2_000) runId = d.runId;
    } catch {
      // Not started yet.
    }
    return runId !== undefined;
  }, 200);
  if (!runId) throw new DemoScenarioError('no incident run');
  seen.add(runId);
  return { handle: client.workflow.getHandle(DEMO_INCIDENT_ID, runId), runId };
}

/** How following an incident ended. */
export interface Followed {
  state: IncidentState;
  /** A request the demo does not answer on its own: automation stopped. */
  escalation?: HumanRequest;
  /** Ids of the runbook's own approval requests the demo answered. */
  approvals: string[];
}

/** What followIncident needs from the scenario. */
export interface FollowOptions {
  client: Client;
  autoApprove: boolean;
  /** Asks the person; `signal` aborts the question once the request was decided elsewhere (the console, runbook approve). */
  ask?: (question: string, signal: AbortSignal) => Promise<boolean>;
  /** Where else the request can be answered, named in the question. */
  consoleUrl?: string | undefined;
  log: (line: string) => void;
  note: (what: string, at?: number) => void;
  /** Longest wait, restarted after a person answered. */
  timeoutMs: number;
  /** Signs the demo's answers (see approval.ts). */
  decisionKey: Buffer;
}

/**
 * Follows an incident until it closes, answering the runbook's own approval
 * (fail-back) automatically or by asking. A guard's request (flapping, blast
 * radius) or an escalation is handed back instead: that is automation
 * stopping for a human.
 */
export async function followIncident(handle: WorkflowHandle, opts: FollowOptions): Promise<Followed> {
  const answered = new Set<string>();
  const approvals: string[] = [];
  const reported = new Set<string>();
  let deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const state = await handle.query(incidentState).catch(() => undefined);
    if (state) {
      for (const step of state.steps) {
        const key = `${step.id}:${step.status}`;
        if (step.finishedAt && !reported.has(key) && (step.status === 'succeeded' || step.status === 'failed')) {
          reported.add(key);
          opts.log(`  ${step.id}: ${step.status}${step.summary ? ` - ${step.summary}` : ''}`);
        }
      }
      if (state.closedAt) return { state, approvals };
      const open = state.requests.find((q) => q.outcome === undefined);
      if (open && !answered.has(open.requestId)) {
        answered.add(open.requestId);
        // Guards ask on a step that is still pending; the runbook's own approval marks its step waiting.
        const ownApproval = open.type === 'approval' && state.steps.find((s) => s.id === open.step)?.status === 'waiting_approval';
        if (!ownApproval) return { state, escalation: open, approvals };
        approvals.push(open.requestId);
        opts.note(`incident asks for approval of ${open.step}`, Date.parse(open.requestedAt));
        let approved = true;
        if (!opts.autoApprove) {
          if (!opts.ask) throw new DemoScenarioError(`step ${open.step} waits for approval and there is no one to ask; use --auto-approve`);
          const elsewhere = await askUnlessDecided(handle, open.requestId, opts.ask, `The standby serves traffic and the primary is healthy again. Approve ${open.step} (put the primary back in rotation)?${opts.consoleUrl ? ` (Or decide it in the console: ${opts.consoleUrl})` : ''}`);
          deadline = Date.now() + opts.timeoutMs;
          if (typeof elsewhere !== 'boolean') {
            opts.note(`${elsewhere.verdict} of ${open.step} by ${elsewhere.by} via ${elsewhere.channel}`);
            continue;
          }
          approved = elsewhere;
        }
        const request = { step: open.step, requestId: open.requestId };
        if (approved) await approveStep(opts.client, DEMO_INCIDENT_ID, request, { by: 'demo', reason: 'approved in runbook demo', decisionKey: opts.decisionKey });
        else await rejectStep(opts.client, DEMO_INCIDENT_ID, request, { by: 'demo', reason: 'rejected in runbook demo', decisionKey: opts.decisionKey });
        opts.note(`${approved ? 'approved' : 'rejected'} ${open.step}${opts.autoApprove ? ' (--auto-approve)' : ''}`);
      }
    }
    if (Date.now() > deadline) {
      throw new DemoScenarioError(`incident ${DEMO_INCIDENT_ID} did not finish within ${opts.timeoutMs / 1000} s (status ${state?.status ?? 'unknown'})`);
    }
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** Ends an incident that waits for a human, since the demo fleet is about to go away. */
export async function declineForHuman(client: Client, handle: WorkflowHandle, escalation: HumanRequest, note: (what: string) => void, decisionKey: Buffer): Promise<IncidentState> {
  const who = { by: 'demo', reason: 'runbook demo is over; declining on behalf of the human', decisionKey };
  const request = { step: escalation.step, requestId: escalation.requestId };
  if (escalation.type === 'escalation') await abortEscalation(client, DEMO_INCIDENT_ID, request, who);
  else await rejectStep(client, DEMO_INCIDENT_ID, request, who);
  note(`the demo declined ${escalation.step} on behalf of the human`);
  await handle.result().catch(() => undefined);
  return handle.query(incidentState);
}

/** A decision someone made outside the demo's prompt. */
interface OutsideDecision {
  verdict: string;
  by: string;
  channel: string;
}

/**
 * Asks the person at the terminal while watching the request: when someone
 * decides it elsewhere first (the console, `runbook approve`), the question
 * is withdrawn and that decision returned instead of asking for a second one.
 */
async function askUnlessDecided(handle: WorkflowHandle, requestId: string, ask: (question: string, signal: AbortSignal) => Promise<boolean>, question: string): Promise<boolean | OutsideDecision> {
  const withdrawn = new AbortController();
  let outside: OutsideDecision | undefined;
  const watching = (async () => {
    while (!withdrawn.signal.aborted) {
      const state = await handle.query(incidentState).catch(() => undefined);
      const request = state?.requests.find((r) => r.requestId === requestId);
      const decision = request?.outcome !== undefined ? request.decisions.find((d) => d.accepted) : undefined;
      if (request?.outcome !== undefined) {
        outside = { verdict: decision?.verdict ?? request.outcome, by: decision?.by ?? 'someone', channel: decision?.channel ?? 'another channel' };
        withdrawn.abort();
        return;
      }
      await new Promise((res) => setTimeout(res, 500));
    }
  })();
  try {
    const answer = await ask(question, withdrawn.signal);
    return outside ?? answer;
  } catch (err) {
    if (outside) return outside;
    throw err;
  } finally {
    withdrawn.abort();
    await watching;
  }
}
