import { ApplicationFailure, condition, patched, proxyActivities, setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { AuditEventActivities } from '../activities/audit-events';
import type { PauseState } from '../activities/types';
import type { ApprovalActivities, ApprovalEvent } from '../activities/notify-approvals';
import type { LifecycleEvent } from '../audit/lifecycle-event';
import { evaluateCondition } from '../engine/conditions';
import { parseDuration } from '../engine/duration';
import { resolveTemplate, type TemplateContext } from '../engine/template';
import type { FaultEvent } from '../schemas/fault-event';
import type { Approval, Step } from '../schemas/runbook';
import { SA } from '../schemas/search-attributes';
import { guardProfile } from './activity-profiles';
import { confirmFault } from './confirm';
import { absorbFault, openLedger } from './fault-ledger';
import { HumanGate } from './human-gate';
import type { IncidentInput, RunbookSnapshot } from './incident-input';
import type { HumanRequest, IncidentState, IncidentStatus, StepRecord } from './incident-state';
import { approve, decide, decideApproval, decisionRefused, faultObserved, faultResolved, faultsObserved, incidentState, reject } from './messages';
import { PAUSE_RECHECK_MS, runActionWithRetry } from './run-action';

/** How an incident ended. */
export interface IncidentResult {
  status: IncidentStatus;
  outcome: string;
  faultsAbsorbed: number;
  /** The final state, so `runbook show` and the audit work after the workers that ran it are gone. */
  state: IncidentState;
}

type Ending = { status: IncidentStatus; outcome: string };

/** Roster look-ups and notifications when a gate opens: quick, retried, never fatal to the incident. */
const approvalActivities = proxyActivities<ApprovalActivities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '10s' } });

/** Audit stream writes: a few quick tries, then the incident counts a gap and goes on with remediation. */
const auditActivities = proxyActivities<AuditEventActivities>({ startToCloseTimeout: '5s', scheduleToCloseTimeout: '30s', retry: { maximumAttempts: 3, initialInterval: '500ms', maximumInterval: '2s' } });

/**
 * Routine step completions written to the audit stream together, at most this
 * many at a time; anything else (opened, a failure, a request for a human,
 * closed) is written at once with everything before it.
 */
const AUDIT_BATCH = 8;

/** A lifecycle event before the workflow stamps it with run, sequence and time. */
type Unstamped<E> = E extends LifecycleEvent ? Omit<E, 'incidentId' | 'runId' | 'seq' | 'at'> : never;

/**
 * One incident per (service, target): absorbs repeat faults and runs the
 * snapshotted runbook step by step — confirm, remediate with retries and
 * compensation, and ask a human when automation runs out.
 */
export async function incident(input: IncidentInput): Promise<IncidentResult> {
  const now = (): string => new Date().toISOString();
  const seen = new Set<string>([input.fault.id]);
  const runbook = input.runbook;
  const state: IncidentState = {
    incidentId: input.incidentId,
    service: input.fault.service,
    target: input.fault.target,
    kind: input.fault.kind,
    status: 'confirming',
    ...(runbook ? { runbook: { name: runbook.name, version: runbook.version, hash: runbook.hash } } : {}),
    dryRun: input.dryRun ?? false,
    openedAt: new Date(workflowInfo().startTime).toISOString(),
    faults: openLedger(input.fault),
    steps: [],
    compensations: [],
    requests: [],
    epoch: 0,
    firstFault: input.fault,
  };
  let resolvedByMonitor = false;
  const gate = new HumanGate(state.requests, now);

  const observe = (events: readonly FaultEvent[]): void => {
    const before = state.faults.severity;
    let absorbed = false;
    for (const event of events) absorbed = absorbFault(state.faults, event, seen) || absorbed;
    // Once per signal, and only on a change, keeps a storm of repeats from growing the history by one command each.
    if (absorbed && (events.length === 1 || state.faults.severity !== before)) upsertSearchAttributes([{ key: SA.severity, value: state.faults.severity }]);
  };
  setHandler(faultObserved, (event) => observe([event]));
  setHandler(faultsObserved, (events) => observe(events));
  setHandler(faultResolved, (event) => {
    if (absorbFault(state.faults, event, seen)) resolvedByMonitor = true;
  });
  setHandler(approve, (d) => void gate.receive({ ...d, verdict: 'approve' }));
  setHandler(reject, (d) => void gate.receive({ ...d, verdict: 'reject' }));
  setHandler(decide, (d) => void gate.receive({ ...d, verdict: d.action }));
  setHandler(
    decideApproval,
    (d) => {
      const refused = gate.receive(d);
      if (refused !== undefined) throw ApplicationFailure.create({ type: 'StaleDecision', message: refused, nonRetryable: true });
      const request = gate.pending;
      const outcome = gate.verdict;
      return { requestId: request?.requestId ?? '', ...(request ? { requestedAt: request.requestedAt } : {}), step: d.step, ...gate.tally(), ...(outcome !== undefined ? { outcome } : {}) };
    },
    {
      validator: (d) => {
        const refusal = gate.check(d);
        if (refusal) throw ApplicationFailure.create({ type: refusal.type, message: refusal.note, nonRetryable: true });
      },
    },
  );
  setHandler(decisionRefused, (d) => void gate.refuse(d, d.note));
  setHandler(incidentState, () => state);

  const setStatus = (status: IncidentStatus): void => {
    if (state.status === status) return;
    state.status = status;
    upsertSearchAttributes([{ key: SA.incidentStatus, value: status }]);
  };
  upsertSearchAttributes([{ key: SA.incidentStatus, value: state.status }]);

  // Incidents started before lifecycle auditing replay without writing to the audit stream.
  const audited = patched('audit-lifecycle');
  // Incidents that began with each audit write awaited and a separate pause-check activity per step replay that way.
  const lean = audited && patched('lean-steps');
  let auditSeq = 0;
  /** Stamped events waiting for the writer, and the writer while it runs. */
  const auditBacklog: LifecycleEvent[] = [];
  let auditWriter: Promise<void> | undefined;
  /** Something other than a routine step completion is waiting: write without waiting for a full batch. */
  let auditUrgent = false;
  const auditDue = (): boolean => auditBacklog.length > 0 && (auditUrgent || auditBacklog.length >= AUDIT_BATCH);
  const writeBehind = async (): Promise<void> => {
    while (auditDue()) {
      auditUrgent = false;
      const batch = auditBacklog.splice(0);
      try {
        await auditActivities.recordAuditEvents(batch);
      } catch {
        state.auditGaps = (state.auditGaps ?? 0) + batch.length;
      }
    }
    auditWriter = undefined;
  };
  /** Starts writing whatever is queued, before the incident waits for a while. */
  const auditNow = (): void => {
    auditUrgent = true;
    if (auditDue()) auditWriter ??= writeBehind();
  };
  /** Resolves once every event audited so far was written (or counted as a gap). */
  const auditFlushed = async (): Promise<void> => {
    auditNow();
    while (auditWriter) await auditWriter;
  };
  const audit = async (event: Unstamped<LifecycleEvent>): Promise<void> => {
    if (!audited) return;
    auditSeq += 1;
    const stamped = { ...event, incidentId: input.incidentId, runId: workflowInfo().runId, seq: auditSeq, at: now() } as LifecycleEvent;
    if (lean) {
      // A copy, because the step and incident records it points into keep changing while it waits.
      auditBacklog.push(JSON.parse(JSON.stringify(stamped)) as LifecycleEvent);
      if (!(event.event === 'step.finished' && (event.status === 'succeeded' || event.status === 'skipped'))) auditUrgent = true;
      if (auditDue()) auditWriter ??= writeBehind();
      return;
    }
    try {
      await auditActivities.recordAuditEvent(stamped);
    } catch {
      // The record lives on in the history; remediation must not wait on the audit stream.
      state.auditGaps = (state.auditGaps ?? 0) + 1;
    }
  };
  const stepEnded = (rec: StepRecord): Promise<void> =>
    audit({
      event: 'step.finished',
      stepId: rec.id,
      kind: rec.kind,
      status: rec.status,
      attempts: rec.attempts.length,
      tries: rec.attempts,
      ...(rec.input !== undefined ? { input: rec.input } : {}),
      ...(rec.summary !== undefined ? { summary: rec.summary } : {}),
      ...(rec.lastError !== undefined && rec.status !== 'succeeded' ? { error: rec.lastError } : {}),
      ...(rec.skipReason !== undefined ? { skipReason: rec.skipReason } : {}),
      ...(rec.startedAt !== undefined ? { startedAt: rec.startedAt } : {}),
      ...(rec.finishedAt !== undefined ? { finishedAt: rec.finishedAt } : {}),
      ...(rec.durationMs !== undefined ? { durationMs: rec.durationMs } : {}),
    });
  await audit({
    event: 'incident.opened',
    service: state.service,
    target: state.target,
    kind: state.kind,
    severity: state.faults.severity,
    dryRun: state.dryRun,
    openedAt: state.openedAt,
    firstFaultId: input.fault.id,
    runbook: state.runbook ?? null,
    plan: (runbook?.definition.steps ?? []).map((s) => ({ id: s.id, kind: s.action.kind })),
  });

  // Incidents started before the blast-radius, flap and pause guards existed replay without them.
  const guarded = patched('remediation-guards');
  let leaseHeld = false;
  const guards = guardProfile();
  const releaseLease = async (): Promise<void> => {
    if (!leaseHeld) return;
    await guards.releaseIsolationLease(state.service, input.incidentId);
    leaseHeld = false;
  };
  let flapChecked = false;
  const ending = runbook ? await runRunbook(runbook) : await waitForResolution();
  await releaseLease();
  setStatus(ending.status);
  state.outcome = ending.outcome;
  state.currentStep = undefined;
  state.closedAt = now();
  // The closing record counts every gap, so the writes before it must have finished.
  await auditFlushed();
  await audit({
    event: 'incident.closed',
    status: state.status,
    outcome: ending.outcome,
    closedAt: state.closedAt,
    faultsAbsorbed: state.faults.count,
    faults: { recentEventIds: state.faults.recentEventIds, resolvedSignals: state.faults.resolvedSignals, severity: state.faults.severity, firstSeen: state.faults.firstSeen, lastSeen: state.faults.lastSeen },
    compensations: state.compensations,
    auditGaps: state.auditGaps ?? 0,
  });
  await auditFlushed();
  return { status: ending.status, outcome: ending.outcome, faultsAbsorbed: state.faults.count, state };

  async function waitForResolution(): Promise<Ending> {
    await condition(() => resolvedByMonitor);
    return { status: 'resolved', outcome: 'recovered' };
  }

  async function runRunbook(snapshot: RunbookSnapshot): Promise<Ending> {
    const def = snapshot.definition;
    const settings = def.settings;
    const allowed = settings?.allowed_executables ?? [];
    const compensateOnFailure = settings?.compensate_on_failure ?? true;
    const dryRun = state.dryRun || settings?.dry_run === true;
    state.dryRun = dryRun;
    let planProblems = 0;
    const ctx: TemplateContext & { steps: Record<string, { output?: unknown }> } = {
      fault: input.fault,
      params: def.params ?? {},
      steps: {},
      incident: { id: input.incidentId, epoch: 0 },
    };
    const undo: { forStep: string; step: Step; action: NonNullable<Step['compensate']> }[] = [];
    state.steps = def.steps.map((s) => ({ id: s.id, ...(s.name ? { name: s.name } : {}), kind: s.action.kind, status: 'pending', attempts: [] }));

    const compensate = async (): Promise<void> => {
      while (undo.length > 0) {
        const item = undo.pop();
        if (!item) break;
        const action = resolveTemplate(item.action, ctx);
        const outcome = await runActionWithRetry({ incidentId: input.incidentId, step: item.step, action, dryRun, allowedExecutables: allowed, epoch: state.epoch, now, attempts: [] });
        state.compensations.push({
          forStep: item.forStep,
          kind: action.kind,
          ok: outcome.ok,
          at: now(),
          ...(outcome.ok ? { summary: outcome.result.summary } : { error: outcome.failure.message }),
        });
        const rec = state.steps.find((s) => s.id === item.forStep);
        if (rec && outcome.ok) rec.status = 'compensated';
      }
    };

    for (let i = 0; i < def.steps.length; i++) {
      const step = def.steps[i];
      const rec = state.steps[i];
      if (!step || !rec) continue;
      state.currentStep = step.id;
      if (step.when && !evaluateCondition(step.when, ctx)) {
        rec.status = 'skipped';
        rec.skipReason = 'when condition is false';
        await stepEnded(rec);
        continue;
      }
      if (guarded && !dryRun && step.action.kind !== 'confirm' && step.action.kind !== 'wait') {
        const verdict = await beforeRemediation(step, def.settings);
        if (verdict !== 'go') {
          rec.status = 'skipped';
          rec.skipReason = verdict;
          await stepEnded(rec);
          if (compensateOnFailure) await compensate();
          await releaseLease();
          return { status: 'aborted', outcome: `${verdict} at ${step.id}` };
        }
      }
      if (dryRun && step.approval) {
        // A plan does not wait for people; it says who would have to approve.
        rec.approvalPlanned = `would wait for approval by ${step.approval.approvers.join(', ')} (${step.approval.min_approvals} needed, timeout ${step.approval.timeout}, then ${step.approval.on_timeout})`;
      } else if (step.approval !== false && step.approval !== undefined) {
        rec.status = 'waiting_approval';
        const verdict = await approvalGate(step, step.approval, 'the runbook requires approval for this step');
        if (verdict !== 'approve') {
          rec.status = 'skipped';
          rec.skipReason = `approval ${verdict}`;
          await stepEnded(rec);
          if (compensateOnFailure) await compensate();
          return { status: 'aborted', outcome: `approval ${verdict} at ${step.id}` };
        }
      }
      rec.status = 'running';
      rec.startedAt ??= now();
      if (step.action.kind !== 'confirm') setStatus('remediating');

      let action;
      try {
        action = resolveTemplate(step.action, ctx);
      } catch (err) {
        rec.status = 'failed';
        rec.lastError = `template: ${(err as Error).message}`;
        state.lastError = rec.lastError;
        await stepEnded(rec);
        if (compensateOnFailure) await compensate();
        return { status: 'failed', outcome: `invalid reference in ${step.id}` };
      }
      rec.input = action;

      if (action.kind === 'confirm') {
        const result = await confirmFault(action, allowed, () => resolvedByMonitor);
        const output = { confirmed: result.verdict === 'confirmed', failures: result.failures, successes: result.successes, samples: result.samples };
        finish(rec, output, `${result.verdict}: ${result.failures} of ${result.samples} probes failed`);
        ctx.steps[step.id] = { output };
        await stepEnded(rec);
        if (result.verdict === 'recovered') return { status: 'resolved', outcome: 'recovered' };
        if (result.verdict === 'healthy') return { status: 'false_alarm', outcome: 'false_alarm' };
        continue;
      }
      if (action.kind === 'wait') {
        if (lean) auditNow();
        await sleep(parseDuration(action.duration));
        finish(rec, { waited: action.duration }, `waited ${action.duration}`);
        ctx.steps[step.id] = { output: rec.output };
        await stepEnded(rec);
        continue;
      }

      const holds = lean && guarded && !dryRun;
      const outcome = await runActionWithRetry({ incidentId: input.incidentId, step, action, dryRun, allowedExecutables: allowed, epoch: state.epoch, now, attempts: rec.attempts, ...(holds ? { onHeld: heldByPause } : {}) });
      if (holds) resumed();
      if (outcome.ok) {
        finish(rec, outcome.result.output, outcome.result.summary);
        if (outcome.result.plan) rec.plan = outcome.result.plan;
        rec.dryRun = outcome.result.dryRun;
        ctx.steps[step.id] = { output: outcome.result.output };
        if (step.isolation === 'provides') {
          state.epoch += 1;
          ctx.incident = { id: input.incidentId, epoch: state.epoch };
        }
        if (step.compensate) undo.push({ forStep: step.id, step, action: step.compensate });
        await stepEnded(rec);
        continue;
      }

      rec.status = 'failed';
      rec.lastError = `${outcome.failure.type}: ${outcome.failure.message}`;
      rec.finishedAt = now();
      state.lastError = rec.lastError;
      await stepEnded(rec);
      // A plan goes on past a problem so it shows every step; nothing was changed to undo.
      if (dryRun) {
        planProblems += 1;
        continue;
      }
      if (step.on_failure === 'continue') continue;
      if (compensateOnFailure) await compensate();
      if (step.on_failure === 'abort') return { status: 'failed', outcome: `step ${step.id} failed` };

      const verdict = await escalate(step, rec.lastError);
      if (verdict === 'retry') {
        rec.status = 'pending';
        i -= 1;
        continue;
      }
      if (verdict === 'skip') {
        rec.status = 'skipped';
        rec.skipReason = 'skipped by decision after failure';
        await stepEnded(rec);
        continue;
      }
      return { status: 'aborted', outcome: `aborted after ${step.id} failed` };
    }
    if (dryRun) return { status: 'resolved', outcome: planProblems > 0 ? `planned with ${planProblems} problem(s)` : 'planned' };
    return { status: 'resolved', outcome: 'healed' };
  }

  /**
   * Checks that must pass before a remediation step starts: the global pause,
   * flapping (once per incident) and, for isolation, the service's blast-radius
   * budget. Over a limit, a human decides. Returns 'go' or why not.
   */
  async function beforeRemediation(step: Step, settings: RunbookSnapshot['definition']['settings']): Promise<string> {
    // Lean steps leave the pause check to the action itself (holdWhilePaused), saving a round trip per step.
    for (let paused = lean ? { paused: false } : await guards.remediationPaused(); paused.paused; paused = await guards.remediationPaused()) {
      heldByPause(paused);
      await sleep(PAUSE_RECHECK_MS);
    }
    resumed();
    if (settings?.flap && !flapChecked) {
      flapChecked = true;
      const count = await guards.recentIncidentCount(input.incidentId, parseDuration(settings.flap.window));
      if (count >= settings.flap.max_incidents) {
        const reason = `flapping: ${count} incidents for ${state.target} within ${settings.flap.window} (limit ${settings.flap.max_incidents})`;
        state.lastError = reason;
        const verdict = await approvalGate(step, { approvers: ['oncall'], min_approvals: 1, timeout: '24h', on_timeout: 'reject' }, reason);
        if (verdict !== 'approve') return `flapping: approval ${verdict}`;
      }
    }
    if (step.action.kind === 'isolate' && settings?.blast_radius && !leaseHeld) {
      const req = { incidentId: input.incidentId, target: state.target, maxIsolated: settings.blast_radius.max_isolated, maxPerHour: settings.blast_radius.max_per_hour };
      let lease = await guards.acquireIsolationLease(state.service, req);
      if (!lease.granted) {
        const reason = `over blast-radius budget: ${lease.reason}; isolated now: ${lease.isolatedNow.join(', ') || 'none'}`;
        const verdict = await approvalGate(step, { approvers: ['oncall'], min_approvals: 1, timeout: '24h', on_timeout: 'reject' }, reason);
        if (verdict !== 'approve') return `blast radius: approval ${verdict}`;
        lease = await guards.acquireIsolationLease(state.service, { ...req, force: true });
      }
      leaseHeld = lease.granted;
    }
    return 'go';
  }

  function auditDecided(event: 'approval.decided' | 'escalation.decided', r: HumanRequest): Promise<void> {
    return audit({ event, requestId: r.requestId, step: r.step, outcome: r.outcome ?? 'timeout', decidedAt: r.decidedAt ?? now(), decisions: r.decisions });
  }

  function heldByPause(pause: PauseState): void {
    if (lean) auditNow();
    state.pausedSince ??= now();
    state.pausedReason = pause.reason ?? 'remediation paused';
  }

  function resumed(): void {
    state.pausedSince = undefined;
    state.pausedReason = undefined;
  }

  function finish(rec: StepRecord, output: Record<string, unknown>, summary: string): void {
    rec.status = 'succeeded';
    rec.output = output;
    rec.summary = summary;
    rec.finishedAt = now();
    if (rec.startedAt) rec.durationMs = Date.parse(rec.finishedAt) - Date.parse(rec.startedAt);
  }

  async function approvalGate(step: Step, approval: Approval, reason: string): Promise<string> {
    const previous = state.status;
    // Audited incidents show the status together with the request it waits on, not while approvers are being looked up.
    if (!audited) setStatus('awaiting_approval');
    // Incidents whose gates opened before roster checks and notifications existed replay without them.
    const rostered = patched('approval-roster');
    let approvers = approval.approvers;
    const approvedBy = new Set<string>();
    const timeoutMs = parseDuration(approval.timeout);
    const notify = async (event: ApprovalEvent, request: HumanRequest): Promise<void> => {
      try {
        await approvalActivities.notifyApproval({
          event,
          incidentId: input.incidentId,
          service: state.service,
          target: state.target,
          step: step.id,
          requestId: request.requestId,
          reason,
          approvers: request.approvers ?? approvers,
          members: request.eligible ?? [],
          timeout: approval.timeout,
          onTimeout: approval.on_timeout,
        });
      } catch {
        // People can still find the request with `runbook incidents`; a lost message must not stop the incident.
      }
    };
    for (let round = 0; ; round++) {
      const who = rostered ? await approvalActivities.resolveApprovers(approvers) : undefined;
      if (audited && round === 0) setStatus('awaiting_approval');
      const { verdict, request } = await gate.ask(
        { type: 'approval', step: step.id, reason, approvers, minApprovals: approval.min_approvals, ...(who?.configured ? { eligible: who.members } : {}) },
        (d) => {
          if (d.verdict === 'reject') return 'reject';
          approvedBy.add(d.by);
          return approvedBy.size >= approval.min_approvals ? 'approve' : undefined;
        },
        timeoutMs,
        rostered || audited
          ? async (r) => {
              await audit({ event: 'approval.requested', requestId: r.requestId, type: 'approval', step: r.step, reason: r.reason, approvers: r.approvers ?? [], ...(r.eligible ? { eligible: r.eligible } : {}), requestedAt: r.requestedAt });
              if (rostered) await notify(round === 0 ? 'requested' : 'escalated', r);
            }
          : undefined,
      );
      await auditDecided('approval.decided', request);
      if (verdict !== 'timeout') {
        setStatus(previous === 'confirming' ? 'remediating' : previous);
        return verdict;
      }
      if (rostered && approval.on_timeout !== 'escalate') await notify('timed_out', request);
      if (approval.on_timeout === 'approve') return 'approve';
      if (approval.on_timeout === 'reject') return 'timeout';
      setStatus('escalated');
      approvers = approval.escalate_to ?? (who && who.escalateTo.length > 0 ? who.escalateTo : approvers);
      await audit({ event: 'escalated', requestId: request.requestId, type: 'approval', step: step.id, reason: `approval timed out; asking ${approvers.join(', ')}`, approvers, requestedAt: now() });
      if (round > 100) throw ApplicationFailure.nonRetryable('approval escalated too many times', 'ApprovalExhausted');
    }
  }

  async function escalate(step: Step, error: string): Promise<string> {
    setStatus('escalated');
    const { verdict, request } = await gate.ask(
      { type: 'escalation', step: step.id, reason: `step ${step.id} failed: ${error}` },
      (d) => (['retry', 'skip', 'abort'].includes(d.verdict) ? d.verdict : undefined),
      undefined,
      audited ? (r) => audit({ event: 'escalated', requestId: r.requestId, type: 'escalation', step: r.step, reason: r.reason, approvers: r.approvers ?? [], requestedAt: r.requestedAt }) : undefined,
    );
    await auditDecided('escalation.decided', request);
    setStatus('remediating');
    return verdict;
  }
}
