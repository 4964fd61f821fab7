import { allHandlersFinished, ApplicationFailure, condition, patched, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { FaultEvent } from '../schemas/fault-event';
import type { IncidentInput } from '../schemas/incident-input';
import type { IncidentResult, IncidentState, IncidentStatus } from '../schemas/incident-state';
import { SA } from '../schemas/search-attributes';
import { NOT_VOUCHED, REFUSAL, type GateDecision, type Refusal } from '../engine/approval-rules';
import type { DecisionAck } from '../schemas/decisions';
import { AuditWriteBehind } from './audit-write-behind';
import { waitQuietly } from './bounded-waits';
import { Rollover } from './continue-as-new';
import { absorbFault, openLedger } from './fault-ledger';
import { HumanGate } from './human-gate';
import { noticesSent } from './request-notices';
import type { Ending, IncidentContext } from './incident-context';
import { approve, decide, decideApproval, decisionRefused, drillMarked, faultObserved, faultResolved, faultsObserved, incidentState, reject } from './messages';
import { RemediationGuards } from './remediation-guards';
import { receiveVouched, recordVouchedRefusal, signatureWellFormed } from './signed-decisions';
import { runRunbook } from './runbook-interpreter';

/**
 * One incident per (service, target): absorbs repeat faults and runs the
 * snapshotted runbook step by step — confirm, remediate with retries and
 * compensation, and ask a human when automation runs out.
 */
export async function incident(input: IncidentInput): Promise<IncidentResult> {
  const now = (): string => new Date().toISOString();
  // A run continued as new takes its state over; only incidents that could continue as new carry one.
  const carried = input.carried;
  const seen = new Set<string>([input.fault.id, ...(carried?.state.faults.recentEventIds ?? [])]);
  const runbook = input.runbook;
  const state: IncidentState = carried?.state ?? {
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
  let resolvedByMonitor = carried?.resolvedByMonitor ?? false;
  // Read before the handlers are set: incidents begun while any verdict counted as an approval replay that way.
  const verdictsFit = patched('verdict-fits-request');
  // Read before any handler can run, so the gate knows them from the first decision on.
  const boundedWaits = patched('bounded-waits');
  const boundedRecords = patched('bounded-records');
  const rolls = patched('continue-as-new');
  // Filled in below; the rollover reads them only once the incident is under way.
  const parts: { guards?: RemediationGuards; audit?: AuditWriteBehind } = {};
  const noticesInFlight: Promise<void>[] = [];
  let leanClose: boolean | undefined;
  const rollover = new Rollover(
    {
      input,
      carried: () => ({ state, resolvedByMonitor, auditSeq: parts.audit?.sequence ?? 0, ...(parts.guards?.carried() ?? { leaseHeld: false, flapChecked: false }) }),
      flushAudit: async () => {
        await noticesSent({ noticesInFlight });
        await parts.audit?.flushed();
      },
    },
    rolls,
  );
  const gate = new HumanGate(state.requests, now, { verdictMustFit: verdictsFit }, { capRefusals: boundedRecords, ...(rolls ? { rolls: rollover } : {}), ...(carried?.pendingRequestId !== undefined ? { resume: carried.pendingRequestId } : {}) });
  // Incidents begun while any decision that reached Temporal counted replay without signature checks.
  const signed = patched('signed-decisions');

  const observe = (events: readonly FaultEvent[]): void => {
    const before = state.faults.severity;
    let absorbed = false;
    for (const event of events) absorbed = absorbFault(state.faults, event, seen) || absorbed;
    // Once per signal, and only on a change, keeps a storm of repeats from growing the history by one command each.
    if (absorbed && (events.length === 1 || state.faults.severity !== before)) upsertSearchAttributes([{ key: SA.severity, value: state.faults.severity }]);
  };
  setHandler(faultObserved, (event) => observe([event]));
  setHandler(faultsObserved, (events) => observe(events));
  setHandler(drillMarked, ({ drillId }) => {
    // Only a drill's own signal marks it; once marked it stays the first drill's.
    if (state.drill) return;
    state.drill = { drillId, markedAt: now() };
    upsertSearchAttributes([{ key: SA.drill, value: drillId }]);
    void parts.audit?.record({ event: 'incident.drill', drillId });
  });
  setHandler(faultResolved, (event) => {
    if (absorbFault(state.faults, event, seen)) resolvedByMonitor = true;
  });
  const ack = (d: GateDecision): DecisionAck => {
    const request = gate.pending;
    const outcome = gate.verdict;
    return { requestId: request?.requestId ?? '', ...(request ? { requestedAt: request.requestedAt } : {}), step: d.step, ...gate.tally(), ...(outcome !== undefined ? { outcome } : {}) };
  };
  const refusalFailure = (refused: Refusal): ApplicationFailure => ApplicationFailure.create({ type: verdictsFit ? refused.type : REFUSAL.stale, message: refused.note, nonRetryable: true });
  const validator = (d: GateDecision): void => {
    const refusal = gate.check(d);
    if (refusal) throw ApplicationFailure.create({ type: refusal.type, message: refusal.note, nonRetryable: true });
    if (signed && !signatureWellFormed(d)) throw ApplicationFailure.create({ type: NOT_VOUCHED.type, message: NOT_VOUCHED.note, nonRetryable: true });
  };
  if (signed) {
    setHandler(approve, (d) => void receiveVouched(gate, { ...d, verdict: 'approve' }));
    setHandler(reject, (d) => void receiveVouched(gate, { ...d, verdict: 'reject' }));
    setHandler(decide, (d) => void receiveVouched(gate, { ...d, verdict: d.action }));
    setHandler(
      decideApproval,
      async (d) => {
        const refused = await receiveVouched(gate, d);
        if (refused !== undefined) throw refusalFailure(refused);
        return ack(d);
      },
      { validator },
    );
    setHandler(decisionRefused, (d) => void recordVouchedRefusal(gate, state, d));
  } else {
    setHandler(approve, (d) => void gate.receive({ ...d, verdict: 'approve' }));
    setHandler(reject, (d) => void gate.receive({ ...d, verdict: 'reject' }));
    setHandler(decide, (d) => void gate.receive({ ...d, verdict: d.action }));
    setHandler(
      decideApproval,
      (d) => {
        const refused = gate.receive(d);
        if (refused !== undefined) throw refusalFailure(refused);
        return ack(d);
      },
      { validator },
    );
    setHandler(decisionRefused, (d) => void gate.refuse(d, d.note));
  }
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
  const audit = new AuditWriteBehind({ incidentId: input.incidentId, state, now, audited, lean, ...(carried ? { seq: carried.auditSeq } : {}) });
  parts.audit = audit;
  if (!carried) await audit.record({
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
  // Incidents begun when a final failure undid the completed steps before asking a human replay that order.
  const escalateFirst = patched('escalate-before-compensate');
  // Incidents begun before pages were resolved on a decision, and before every escalation notified, replay without those notices.
  const paged = patched('page-resolve');
  const flags = { audited, lean, guarded, verdictsFit, escalateFirst, boundedWaits, boundedRecords, rolls, paged, leanClose: () => (leanClose ??= patched('lean-close')) };
  const ctx: IncidentContext = { input, state, now, flags, audit, gate, setStatus, resolvedByMonitor: () => resolvedByMonitor, ...(rolls ? { rollover } : {}), noticesInFlight };
  const guards = new RemediationGuards(ctx);
  parts.guards = guards;
  const ending: Ending = await sendingNotices(() => (runbook ? guards.releasingLease(() => runRunbook(ctx, runbook, guards)) : waitForResolution()));
  // A decision still being verified is answered (as stale, since nothing waits now) before the incident closes.
  if (signed) await condition(allHandlersFinished);
  await guards.releaseLease();
  setStatus(ending.status);
  state.outcome = ending.outcome;
  state.currentStep = undefined;
  state.closedAt = now();
  // The closing record counts every gap, so the writes before it must have finished. From 'lean-close' on it goes
  // with whatever is still queued, in one write: a gap in that write loses the closing record too, so it need not count it.
  if (flags.leanClose()) await audit.settled();
  else await audit.flushed();
  await audit.record({
    event: 'incident.closed',
    status: state.status,
    outcome: ending.outcome,
    closedAt: state.closedAt,
    faultsAbsorbed: state.faults.count,
    faults: { recentEventIds: state.faults.recentEventIds, resolvedSignals: state.faults.resolvedSignals, severity: state.faults.severity, firstSeen: state.faults.firstSeen, lastSeen: state.faults.lastSeen },
    compensations: state.compensations,
    auditGaps: state.auditGaps ?? 0,
  });
  await audit.flushed();
  return { status: ending.status, outcome: ending.outcome, faultsAbsorbed: state.faults.count, state };

  /** Runs the incident; notices still in flight are waited for however it ends, so a failing incident sends them too. */
  async function sendingNotices(run: () => Promise<Ending>): Promise<Ending> {
    try {
      return await run();
    } finally {
      await noticesSent(ctx);
    }
  }

  async function waitForResolution(): Promise<Ending> {
    if (boundedWaits) {
      for (;;) {
        const ended = await waitQuietly(ctx, input.quietPeriod, () => rollover.due());
        if (ended) return ended;
        await rollover.now();
      }
    }
    await condition(() => resolvedByMonitor);
    return { status: 'resolved', outcome: 'recovered' };
  }
}
