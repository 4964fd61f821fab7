import type { HumanRequest, IncidentState, StepRecord } from '../schemas/incident-state';
import type { IncidentWorkflowReads } from '../incidents/incident-workflow-reads';
import type { AuditEvent } from './audit-stream';
import { restoredTrafficAt } from './availability';
import { AuditRecord, type AuditDecision, type AuditRequest } from './audit-record';
import { LIFECYCLE_EVENTS, LifecycleEvent, type IncidentClosed, type IncidentDrill, type IncidentOpened } from '../schemas/lifecycle-event';

const SECRET_KEY = /secret|password|passwd|token|authorization|api[_-]?key|cookie/i;

/** Copies `value` with the values of secret-looking keys replaced; references `{ env }` / `{ file }` under `secrets` are kept (they name, not hold, a secret). */
export function redact(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, k === 'secrets' || k === 'secret_headers' ? v : redact(v, k)]));
  }
  return typeof value === 'string' && SECRET_KEY.test(key) ? '[redacted]' : value;
}

function msBetween(from: string, to: string | undefined): number | null {
  return to === undefined ? null : Math.max(0, Date.parse(to) - Date.parse(from));
}

/** A step as the audit needs it: a step record, or one rebuilt from the audit stream. */
export type AuditableStep = Omit<StepRecord, 'status'> & { status: string };

/** The parts of an incident's state the audit reads (rebuildable from the audit stream alone). */
export type AuditableState = Omit<IncidentState, 'firstFault' | 'epoch' | 'status' | 'steps' | 'faults'> & {
  status: string;
  steps: AuditableStep[];
  faults: Omit<IncidentState['faults'], 'severity'> & { severity: string };
};

function firstFinished(steps: AuditableStep[], pick: (s: AuditableStep) => boolean): string | undefined {
  return steps.find((s) => pick(s) && s.status === 'succeeded' && s.finishedAt)?.finishedAt;
}

/** Inputs of {@link buildAuditRecord}: what the history, the state query and the audit stream hold. */
export interface AuditSources {
  state: AuditableState;
  runId: string;
  /** Fault event ids in arrival order, from the history (the state keeps only the most recent). */
  faultEventIds: string[];
  /** Events from the long-retention audit stream, if read. */
  streamEvents?: AuditEvent[];
  /** Where `state` came from. @default 'history' */
  source?: AuditRecord['source'];
}

/** Builds and validates the audit record. Refused attempts only the audit stream saw are merged into their request. */
export function buildAuditRecord({ state, runId, faultEventIds, streamEvents = [], source = 'history' }: AuditSources): AuditRecord {
  const requests: AuditRequest[] = state.requests.map((r) => ({
    requestId: r.requestId,
    type: r.type,
    step: r.step,
    reason: r.reason,
    approvers: r.approvers ?? [],
    ...(r.eligible ? { eligible: r.eligible } : {}),
    requestedAt: r.requestedAt,
    ...(r.decidedAt ? { decidedAt: r.decidedAt } : {}),
    ...(r.outcome ? { outcome: r.outcome } : {}),
    decisions: r.decisions.map((d): AuditDecision => ({ ...d, ...(d.note ? { note: d.note } : {}), source: 'history' })),
  }));
  for (const e of streamEvents.filter((x) => x.event === 'decision.refused')) {
    const step = typeof e.step === 'string' ? e.step : undefined;
    const target = [...requests].reverse().find((r) => (step === undefined || r.step === step) && r.requestedAt <= e.at) ?? requests[requests.length - 1];
    if (!target) continue;
    const seen = target.decisions.some((d) => !d.accepted && d.by === e.by && d.verdict === e.verdict && d.reason === e.reason);
    if (!seen) {
      target.decisions.push({ by: String(e.by), channel: String(e.channel ?? 'http'), at: e.at, verdict: String(e.verdict), reason: String(e.reason ?? ''), accepted: false, note: String(e.note ?? e.refusal ?? 'refused'), source: 'audit-stream' });
    }
  }
  const steps = state.steps;
  const isolated = firstFinished(steps, (s) => s.kind === 'isolate');
  return AuditRecord.parse({
    source,
    incidentId: state.incidentId,
    runId,
    service: state.service,
    target: state.target,
    kind: state.kind,
    status: state.status,
    outcome: state.outcome ?? null,
    dryRun: state.dryRun,
    openedAt: state.openedAt,
    closedAt: state.closedAt ?? null,
    faults: {
      count: state.faults.count,
      eventIds: faultEventIds.length > 0 ? faultEventIds : state.faults.recentEventIds,
      resolvedSignals: state.faults.resolvedSignals,
      severity: state.faults.severity,
      firstSeen: state.faults.firstSeen,
      lastSeen: state.faults.lastSeen,
    },
    routing: state.runbook ? { runbook: state.runbook.name, version: state.runbook.version, hash: state.runbook.hash } : null,
    ...(state.drill ? { drill: state.drill } : {}),
    steps: steps.map((s) => ({
      id: s.id,
      kind: s.kind,
      status: s.status,
      input: redact(s.input ?? null),
      attempts: s.attempts.map((a) => ({ ...a, durationMs: Math.max(0, Date.parse(a.finishedAt) - Date.parse(a.startedAt)) })),
      ...(s.lastError ? { error: s.lastError } : {}),
      ...(s.output ? { output: redact(s.output) } : {}),
      ...(s.summary ? { summary: s.summary } : {}),
      ...(s.startedAt ? { startedAt: s.startedAt } : {}),
      ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
      ...(s.durationMs !== undefined ? { durationMs: s.durationMs } : {}),
      ...(s.skipReason ? { skipReason: s.skipReason } : {}),
    })),
    requests,
    compensations: state.compensations,
    timings: {
      toConfirmMs: msBetween(state.openedAt, firstFinished(steps, (s) => s.kind === 'confirm')),
      toIsolateMs: msBetween(state.openedAt, isolated),
      toRestoreTrafficMs: msBetween(state.openedAt, restoredTrafficAt(steps)),
      toRecoverMs: state.status === 'resolved' ? msBetween(state.openedAt, state.closedAt) : null,
    },
  });
}

/** The audit stream holds no lifecycle events for an incident. */
export class AuditNotFoundError extends Error {
  override name = 'AuditNotFoundError';
}

/**
 * Rebuilds the audit record of an incident's latest run from its lifecycle
 * events on the audit stream alone, for when Temporal no longer keeps the
 * workflow. Steps never reached stay pending; faults are those the closing
 * event listed (a bounded recent list).
 */
export function buildAuditRecordFromStream(incidentId: string, events: AuditEvent[]): AuditRecord {
  const lifecycle = events.flatMap((e) => {
    if (!LIFECYCLE_EVENTS.includes(e.event) || e.incidentId !== incidentId) return [];
    const parsed = LifecycleEvent.safeParse(e);
    return parsed.success ? [parsed.data] : [];
  });
  const opened = lifecycle.filter((e): e is IncidentOpened => e.event === 'incident.opened').at(-1);
  if (!opened) throw new AuditNotFoundError(`the audit stream holds no lifecycle events for ${incidentId}`);
  const run = lifecycle.filter((e) => e.runId === opened.runId).sort((a, b) => a.seq - b.seq);
  const closed = run.find((e): e is IncidentClosed => e.event === 'incident.closed');

  const steps: AuditableStep[] = opened.plan.map((p) => ({ id: p.id, kind: p.kind, status: 'pending', attempts: [] }));
  const requests: HumanRequest[] = [];
  for (const e of run) {
    if (e.event === 'step.finished') {
      let rec = steps.find((s) => s.id === e.stepId);
      if (!rec) steps.push((rec = { id: e.stepId, kind: e.kind, status: 'pending', attempts: [] }));
      Object.assign(rec, {
        status: e.status,
        attempts: e.tries,
        ...(e.input !== undefined ? { input: e.input } : {}),
        ...(e.summary !== undefined ? { summary: e.summary } : {}),
        ...(e.error !== undefined ? { lastError: e.error } : {}),
        ...(e.skipReason !== undefined ? { skipReason: e.skipReason } : {}),
        ...(e.startedAt !== undefined ? { startedAt: e.startedAt } : {}),
        ...(e.finishedAt !== undefined ? { finishedAt: e.finishedAt } : {}),
        ...(e.durationMs !== undefined ? { durationMs: e.durationMs } : {}),
      });
    } else if ((e.event === 'approval.requested' || e.event === 'escalated') && !requests.some((r) => r.requestId === e.requestId)) {
      requests.push({ requestId: e.requestId, type: e.type, step: e.step, reason: e.reason, approvers: e.approvers, ...(e.eligible ? { eligible: e.eligible } : {}), requestedAt: e.requestedAt, decisions: [] });
    } else if (e.event === 'approval.decided' || e.event === 'escalation.decided') {
      const r = requests.find((x) => x.requestId === e.requestId);
      if (r) Object.assign(r, { outcome: e.outcome, decidedAt: e.decidedAt, decisions: e.decisions });
    }
  }
  for (const c of closed?.compensations ?? []) {
    const rec = steps.find((s) => s.id === c.forStep);
    if (rec && c.ok) rec.status = 'compensated';
  }

  const marked = run.find((e): e is IncidentDrill => e.event === 'incident.drill');
  const faultIds = [opened.firstFaultId, ...(closed?.faults.recentEventIds ?? []).filter((id) => id !== opened.firstFaultId)];
  const state: AuditableState = {
    incidentId,
    service: opened.service,
    target: opened.target,
    kind: opened.kind,
    status: closed?.status ?? 'open',
    ...(closed ? { outcome: closed.outcome, closedAt: closed.closedAt } : {}),
    ...(opened.runbook ? { runbook: opened.runbook } : {}),
    dryRun: opened.dryRun,
    openedAt: opened.openedAt,
    faults: {
      count: closed?.faultsAbsorbed ?? 1,
      firstEventId: opened.firstFaultId,
      lastEventId: faultIds.at(-1) ?? opened.firstFaultId,
      firstSeen: closed?.faults.firstSeen ?? opened.openedAt,
      lastSeen: closed?.faults.lastSeen ?? opened.openedAt,
      severity: closed?.faults.severity ?? opened.severity,
      recentEventIds: faultIds,
      resolvedSignals: closed?.faults.resolvedSignals ?? 0,
    },
    steps,
    compensations: closed?.compensations ?? [],
    requests,
    ...(marked ? { drill: { drillId: marked.drillId, markedAt: marked.at } } : {}),
  };
  // Decision attempts the API refused are on the stream too; only this run's count.
  const decisions = events.filter((e) => !LIFECYCLE_EVENTS.includes(e.event) && e.at >= opened.at);
  return buildAuditRecord({ state, runId: opened.runId, faultEventIds: faultIds, streamEvents: decisions, source: 'audit-stream' });
}

/**
 * Reads the incident's state and history and builds its audit record; once
 * Temporal no longer has the workflow, rebuilds it from the audit stream
 * (`streamEvents`, or the promise of them while they are still being read).
 */
export async function fetchAuditRecord(reads: IncidentWorkflowReads, incidentId: string, streamEvents: AuditEvent[] | Promise<AuditEvent[]> = []): Promise<AuditRecord> {
  // The state, the history and the stream (a promise while it is still being read) are read at the same time.
  const events = Promise.resolve(streamEvents);
  const history = reads.faultIds(incidentId);
  // Each is handled where it is awaited below; these only keep an early return from leaving a rejection unhandled.
  events.catch(() => undefined);
  history.catch(() => undefined);
  let state: IncidentState;
  try {
    state = await reads.state(incidentId);
  } catch (err) {
    if (!reads.isNotFound(err)) throw err;
    try {
      return buildAuditRecordFromStream(incidentId, await events);
    } catch (streamErr) {
      if (streamErr instanceof AuditNotFoundError) throw err;
      throw streamErr;
    }
  }
  const { runId, ids } = await history;
  return buildAuditRecord({ state, runId, faultEventIds: ids, streamEvents: await events });
}
