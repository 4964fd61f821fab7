import { patched, sleep } from '@temporalio/workflow';
import { evaluateCondition } from '../engine/conditions';
import { parseDuration } from '../engine/duration';
import { resolveTemplate, type TemplateContext } from '../engine/template';
import { truncateOutput } from '../engine/truncate-output';
import type { RunbookSnapshot } from '../schemas/incident-input';
import type { StepRecord } from '../schemas/incident-state';
import type { Step } from '../schemas/runbook';
import { approvalGate } from './approval-gate';
import { confirmFault } from './confirm';
import { escalationTimedOut } from './bounded-waits';
import { escalate } from './escalation';
import type { Ending, IncidentContext } from './incident-context';
import { IsolationsInForce } from './isolation-in-force';
import type { RemediationGuards } from './remediation-guards';
import { endAmbiguous, settleAmbiguous } from './ambiguous-outcome';
import { runActionWithRetry, type ActionCall, type ActionOutcome } from './step-retry';

/** The undo of a step that succeeded, run in reverse order when a later step fails. */
interface Compensation {
  forStep: string;
  step: Step;
  action: NonNullable<Step['compensate']>;
}

/**
 * Runs the snapshotted runbook step by step: conditions, guards, approvals,
 * the action with its retries, and on a final failure what the step says:
 * compensate and abort, continue, or ask a human first (retry and skip keep
 * every isolation in force; only abort compensates). A step that depends on
 * an isolation never starts once that isolation was compensated.
 */
export async function runRunbook(ctx: IncidentContext, snapshot: RunbookSnapshot, guards: RemediationGuards): Promise<Ending> {
  const { input, state, now, flags } = ctx;
  const def = snapshot.definition;
  const settings = def.settings;
  const allowed = settings?.allowed_executables ?? [];
  const compensateOnFailure = settings?.compensate_on_failure ?? true;
  const dryRun = state.dryRun || settings?.dry_run === true;
  state.dryRun = dryRun;
  // A run continued as new goes on where the previous one stood (workflows/continue-as-new.ts).
  const carried = flags.rolls ? input.carried : undefined;
  let planProblems = carried?.planProblems ?? 0;
  const tctx: TemplateContext & { steps: Record<string, { output?: unknown }> } = {
    fault: input.fault,
    params: def.params ?? {},
    steps: {},
    incident: { id: input.incidentId, epoch: 0 },
  };
  const undo: Compensation[] = [];
  const isolations = new IsolationsInForce();
  if (carried) {
    for (const rec of state.steps) if (rec.status === 'succeeded' && rec.output) tctx.steps[rec.id] = { output: rec.output };
    tctx.incident = { id: input.incidentId, epoch: state.epoch };
    for (const id of carried.undo) {
      const step = def.steps.find((s) => s.id === id);
      if (step?.compensate) undo.push({ forStep: id, step, action: step.compensate });
    }
    isolations.resume(def.steps, state.steps, state.compensations);
  } else {
    state.steps = def.steps.map((s) => ({ id: s.id, ...(s.name ? { name: s.name } : {}), kind: s.action.kind, status: 'pending', attempts: [] }));
  }
  const at: { next: number; phase: 'step' | 'escalation'; notices: number } = { next: carried?.next ?? 0, phase: carried?.phase ?? 'step', notices: carried?.notices ?? 0 };
  if (ctx.rollover) ctx.rollover.position = () => ({ ...at, undo: undo.map((u) => u.forStep), planProblems });

  const compensate = async (): Promise<void> => {
    while (undo.length > 0) {
      const item = undo.pop();
      if (!item) break;
      const action = resolveTemplate(item.action, tctx);
      const outcome = await runActionWithRetry({ incidentId: input.incidentId, step: item.step, action, dryRun, allowedExecutables: allowed, epoch: state.epoch, now, attempts: [], purpose: 'compensate' });
      state.compensations.push({
        forStep: item.forStep,
        kind: action.kind,
        ok: outcome.ok,
        at: now(),
        ...(outcome.ok ? { summary: outcome.result.summary } : { error: outcome.failure.message }),
      });
      isolations.withdrawn(item.forStep);
      const rec = state.steps.find((s) => s.id === item.forStep);
      if (rec && outcome.ok) rec.status = 'compensated';
    }
  };

  for (let i = at.next; i < def.steps.length; i++) {
    const step = def.steps[i];
    const rec = state.steps[i];
    if (!step || !rec) continue;
    at.next = i;
    if (at.phase === 'escalation') {
      // The previous run stopped while this failed step waited for a decision (having undone nothing yet when escalating first).
      at.phase = 'step';
      const decided = await decideAfterFailure(step, rec);
      if (decided === 'retry') i -= 1;
      else if (decided !== 'next') return decided;
      continue;
    }
    if (ctx.rollover?.due()) await ctx.rollover.now();
    state.currentStep = step.id;
    if (step.when && !evaluateCondition(step.when, tctx)) {
      rec.status = 'skipped';
      rec.skipReason = 'when condition is false';
      await ctx.audit.stepEnded(rec);
      continue;
    }
    const unfenced = isolations.refusal(def.steps, i);
    // Incidents begun before this check (and not past this point yet) take it from now on; the patch keeps replays of older runs as they were.
    if (unfenced !== undefined && (flags.escalateFirst || patched('isolation-held'))) {
      rec.status = 'failed';
      rec.lastError = unfenced;
      rec.finishedAt = now();
      state.lastError = unfenced;
      await ctx.audit.stepEnded(rec);
      if (dryRun) {
        planProblems += 1;
        continue;
      }
      if (compensateOnFailure) await compensate();
      return { status: 'aborted', outcome: `isolation not in force at ${step.id}` };
    }
    if (flags.guarded && !dryRun && step.action.kind !== 'confirm' && step.action.kind !== 'wait') {
      const verdict = await guards.beforeRemediation(step, def.settings);
      if (verdict !== 'go') {
        rec.status = 'skipped';
        rec.skipReason = verdict;
        await ctx.audit.stepEnded(rec);
        if (compensateOnFailure) await compensate();
        await guards.releaseLease();
        return { status: 'aborted', outcome: `${verdict} at ${step.id}` };
      }
    }
    if (dryRun && step.approval) {
      // A plan does not wait for people; it says who would have to approve.
      rec.approvalPlanned = `would wait for approval by ${step.approval.approvers.join(', ')} (${step.approval.min_approvals} needed, timeout ${step.approval.timeout}, then ${step.approval.on_timeout})`;
    } else if (step.approval !== false && step.approval !== undefined) {
      rec.status = 'waiting_approval';
      const verdict = await approvalGate(ctx, step, step.approval, 'the runbook requires approval for this step');
      if (verdict !== 'approve') {
        rec.status = 'skipped';
        rec.skipReason = `approval ${verdict}`;
        await ctx.audit.stepEnded(rec);
        if (compensateOnFailure) await compensate();
        return { status: 'aborted', outcome: `approval ${verdict} at ${step.id}` };
      }
    }
    rec.status = 'running';
    rec.startedAt ??= now();
    if (step.action.kind !== 'confirm') ctx.setStatus('remediating');

    let action;
    try {
      action = resolveTemplate(step.action, tctx);
    } catch (err) {
      rec.status = 'failed';
      rec.lastError = `template: ${(err as Error).message}`;
      state.lastError = rec.lastError;
      await ctx.audit.stepEnded(rec);
      if (compensateOnFailure) await compensate();
      return { status: 'failed', outcome: `invalid reference in ${step.id}` };
    }
    rec.input = action;

    if (action.kind === 'confirm') {
      const result = await confirmFault(action, allowed, ctx.resolvedByMonitor);
      const output = { confirmed: result.verdict === 'confirmed', failures: result.failures, successes: result.successes, samples: result.samples };
      finish(rec, output, `${result.verdict}: ${result.failures} of ${result.samples} probes failed`, now);
      tctx.steps[step.id] = { output };
      await ctx.audit.stepEnded(rec);
      if (result.verdict === 'recovered') return { status: 'resolved', outcome: 'recovered' };
      if (result.verdict === 'healthy') return { status: 'false_alarm', outcome: 'false_alarm' };
      continue;
    }
    if (action.kind === 'wait') {
      if (flags.lean) ctx.audit.writeNow();
      await sleep(parseDuration(action.duration));
      finish(rec, { waited: action.duration }, `waited ${action.duration}`, now);
      tctx.steps[step.id] = { output: rec.output };
      await ctx.audit.stepEnded(rec);
      continue;
    }

    const holds = flags.lean && flags.guarded && !dryRun;
    const call: ActionCall = { incidentId: input.incidentId, step, action, dryRun, allowedExecutables: allowed, epoch: state.epoch, now, attempts: rec.attempts, ...(holds ? { onHeld: guards.heldByPause } : {}) };
    const runCall = async (again: Partial<ActionCall> = {}): Promise<ActionOutcome> => {
      const result = await runActionWithRetry({ ...call, ...again });
      if (holds) guards.resumed();
      return result;
    };
    // An effect whose outcome is unknown is settled by the step's on_ambiguous before success or failure is read.
    const outcome = await settleAmbiguous(ctx, step, await runCall(), () => runCall({ rerunAmbiguous: true }));
    if ('skipped' in outcome || 'aborted' in outcome) {
      const ended = await endAmbiguous(ctx, rec, outcome, compensateOnFailure ? compensate : undefined);
      if (ended) return ended;
      continue;
    }
    if (outcome.ok) {
      finish(rec, flags.boundedRecords ? truncateOutput(outcome.result.output) : outcome.result.output, outcome.result.summary, now);
      if (outcome.result.plan) rec.plan = outcome.result.plan;
      rec.dryRun = outcome.result.dryRun;
      tctx.steps[step.id] = { output: outcome.result.output };
      if (step.isolation === 'provides') {
        isolations.established(step.id);
        state.epoch += 1;
        tctx.incident = { id: input.incidentId, epoch: state.epoch };
      }
      if (step.compensate) undo.push({ forStep: step.id, step, action: step.compensate });
      await ctx.audit.stepEnded(rec);
      continue;
    }

    rec.status = 'failed';
    rec.lastError = `${outcome.failure.type}: ${outcome.failure.message}`;
    rec.finishedAt = now();
    state.lastError = rec.lastError;
    await ctx.audit.stepEnded(rec);
    // A plan goes on past a problem so it shows every step; nothing was changed to undo.
    if (dryRun) {
      planProblems += 1;
      continue;
    }
    if (step.on_failure === 'continue') continue;
    // Escalating first leaves every isolation in force while the human decides, so a retry runs fenced as before.
    if (compensateOnFailure && (step.on_failure === 'abort' || !flags.escalateFirst)) await compensate();
    if (step.on_failure === 'abort') return { status: 'failed', outcome: `step ${step.id} failed` };

    const decided = await decideAfterFailure(step, rec);
    if (decided === 'retry') i -= 1;
    else if (decided !== 'next') return decided;
  }
  if (dryRun) return { status: 'resolved', outcome: planProblems > 0 ? `planned with ${planProblems} problem(s)` : 'planned' };
  return { status: 'resolved', outcome: 'healed' };

  /** Asks a human about a step that finally failed: 'retry' it, go on to the 'next' step, or end the incident. */
  async function decideAfterFailure(step: Step, rec: StepRecord): Promise<'retry' | 'next' | Ending> {
    const error = rec.lastError ?? `step ${step.id} failed`;
    at.phase = 'escalation';
    const verdict = flags.boundedWaits
      ? await escalate(ctx, step, error, { settings: settings?.escalation, notices: at.notices, onNotice: (sent) => (at.notices = sent) })
      : await escalate(ctx, step, error);
    at.phase = 'step';
    at.notices = 0;
    if (verdict === 'retry') {
      rec.status = 'pending';
      return 'retry';
    }
    if (verdict === 'skip') {
      rec.status = 'skipped';
      rec.skipReason = 'skipped by decision after failure';
      await ctx.audit.stepEnded(rec);
      return 'next';
    }
    const timedOut = escalationTimedOut(verdict, step);
    if (flags.escalateFirst && compensateOnFailure) await compensate();
    return timedOut ?? { status: 'aborted', outcome: `aborted after ${step.id} failed` };
  }
}

function finish(rec: StepRecord, output: Record<string, unknown>, summary: string, now: () => string): void {
  rec.status = 'succeeded';
  rec.output = output;
  rec.summary = summary;
  rec.finishedAt = now();
  if (rec.startedAt) rec.durationMs = Date.parse(rec.finishedAt) - Date.parse(rec.startedAt);
}
