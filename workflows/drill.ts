import { ApplicationFailure, getExternalWorkflowHandle, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DrillIncidentActivities, DrillIncidentEnd, DrillIncidentRun } from '../activities/drill-incident';
import type { GuardActivities } from '../activities/guard-activities';
import { parseDuration } from '../engine/duration';
import { gradeDrill, trafficRestoredAt } from '../engine/drill-grading';
import { resolveTemplate, type TemplateContext } from '../engine/template';
import { DRILL_SCHEDULE_STEP, type DrillInput, type DrillState } from '../schemas/drill-input';
import type { DrillReport } from '../schemas/drill-report';
import type { DrillSpec } from '../schemas/runbook';
import { awaitDrillApproval } from './drill-approval';
import { drillStep, restore, steadyState } from './drill-restore';
import { ChunkedProbe, CHUNK_MS } from './drill-traffic';
import { drillMarked, drillState } from './messages';
import { runActionWithRetry } from './step-retry';

const guard = proxyActivities<Pick<GuardActivities, 'incidentRunning'>>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '10s' } });
const probes = proxyActivities<Pick<Activities, 'canaryChunk' | 'canaryRead' | 'loadChunk'>>({ startToCloseTimeout: CHUNK_MS + 30_000, heartbeatTimeout: '15s', retry: { maximumAttempts: 3, initialInterval: '1s' } });
const verify = proxyActivities<Pick<Activities, 'verifyDecision'>>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '10s' } });
const reporting = proxyActivities<Pick<DrillIncidentActivities, 'publishDrillReport' | 'cancelIncident'>>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 20, initialInterval: '1s', maximumInterval: '30s' } });

/** How long a cancelled incident is given to compensate before the drill restores around it. */
const CANCEL_GRACE_MS = 60_000;

/** Warm-up before the fault: the canary writes this many records, so there is something to lose. */
const WARM_UP_INTERVALS = 3;

/** How long to wait for an incident: its deadline plus room for the activity's own bookkeeping. */
function watcher(timeoutMs: number): Pick<DrillIncidentActivities, 'awaitDrillIncident' | 'awaitIncidentEnd'> {
  return proxyActivities<DrillIncidentActivities>({ startToCloseTimeout: timeoutMs + 60_000, heartbeatTimeout: '30s', retry: { maximumAttempts: 5, initialInterval: '1s' } });
}

/**
 * A disaster-recovery drill of one runbook on one target: approval by the
 * drill group, a check that the target is healthy, a write canary (and a load
 * probe) started, the fault injected, the ordinary incident watched while it
 * heals (marked as a drill), RTO and RPO measured, the starting state
 * restored whatever happened, every objective graded, and the report filed
 * in the audit stream. The drill never approves the incident's own steps:
 * a rehearsal includes the people.
 */
export async function drill(input: DrillInput): Promise<DrillReport> {
  const now = (): string => new Date().toISOString();
  const tctx: TemplateContext = { fault: { service: input.service, target: input.target, kind: 'drill' }, params: input.runbook.definition.params, steps: {}, incident: { id: input.drillId, epoch: 0 } };
  const written = input.runbook.definition.drill;
  if (!written) throw ApplicationFailure.nonRetryable(`runbook ${input.runbook.name} has no drill block`, 'NoDrill');
  // References are resolved once, up front: a drill whose spec cannot be resolved must stop before it breaks anything.
  let spec: DrillSpec = written;
  let unresolved: string | undefined;
  try {
    spec = resolveTemplate(written, tctx);
  } catch (err) {
    unresolved = (err as Error).message;
  }
  const incidentId = `incident/${input.service}/${input.target}`;
  const state: DrillState = {
    drillId: input.drillId,
    runbook: input.runbook.name,
    service: input.service,
    target: input.target,
    phase: input.preApproved ? 'checking' : 'awaiting_approval',
    approvers: spec.approvers,
    refusals: [],
    timeline: [],
  };
  setHandler(drillState, () => state);
  const note = (what: string, at = now()): void => {
    state.timeline.push({ at, what });
  };
  const startedAt = now();
  const reasons: string[] = [];
  const report = (result: DrillReport['result'], extra: Partial<DrillReport> = {}): Promise<DrillReport> => file(input, state, { startedAt, result, reasons, ...extra });
  const allowed = input.runbook.definition.settings.allowed_executables ?? [];
  if (unresolved !== undefined) {
    reasons.push(`the drill's references cannot be resolved: ${unresolved}`);
    return report('aborted');
  }

  const pre = input.preApproved;
  const vouched = pre ? (await verify.verifyDecision({ purpose: 'decision', incidentId: pre.scheduleId, step: DRILL_SCHEDULE_STEP, verdict: 'approve', by: pre.by, channel: pre.channel, reason: pre.reason, ...(pre.signature ? { signature: pre.signature } : {}) })).vouched : false;
  if (pre && vouched) {
    state.approval = { preApproved: { by: pre.by, at: pre.at, reason: pre.reason, scheduleId: pre.scheduleId } };
    note(`approved with schedule ${pre.scheduleId} by ${pre.by}: ${pre.reason}`, pre.at);
  } else {
    if (pre) {
      state.phase = 'awaiting_approval';
      note(`the approval of schedule ${pre.scheduleId} is not vouched for by the approval API; asking instead`);
    }
    note(`waiting for a member of ${spec.approvers.join(', ')} to approve (timeout ${spec.approval_timeout})`);
    const decision = await awaitDrillApproval(state, spec, now);
    if (decision.verdict !== 'approve') {
      reasons.push(decision.verdict === 'reject' ? `rejected by ${decision.by}: ${decision.reason}` : `nobody approved within ${spec.approval_timeout}`);
      note(reasons[0] as string);
      return report('rejected');
    }
    state.approval = { by: decision.by, at: decision.at, reason: decision.reason, channel: decision.channel };
    note(`approved by ${decision.by} through ${decision.channel}: ${decision.reason}`, decision.at);
  }

  state.phase = 'checking';
  if (await guard.incidentRunning(incidentId)) {
    reasons.push(`${incidentId} is already open: a drill does not add a fault to a real incident`);
    return report('aborted');
  }
  const before = await steadyState(spec, allowed);
  if (before.some((c) => !c.ok)) {
    reasons.push(`the starting state is not healthy: ${before.filter((c) => !c.ok).map((c) => `${c.target}: ${c.detail ?? 'failed'}`).join('; ')}`);
    return report('aborted');
  }
  note(`starting state healthy (${before.length} check(s))`);

  // The canary writes a few records first, so the fault has something to lose.
  state.phase = 'warming_up';
  let canarySeq = 1;
  const canary = { written: 0, writeFailures: 0, lastWritten: undefined as { seq: number; at: string } | undefined };
  const warmStartedAt = now();
  // A dry run plans the fault and the restore; it writes no canary and sends no load.
  const canarySpec = input.dryRun ? undefined : spec.canary;
  const loadSpec = input.dryRun ? undefined : spec.load;
  if (canarySpec) {
    const warm = await probes.canaryChunk({ drillId: input.drillId, canary: canarySpec, fromSeq: canarySeq, durationMs: WARM_UP_INTERVALS * parseDuration(canarySpec.interval) }).catch((err: unknown) => {
      reasons.push(`the canary could not write before the fault: ${(err as Error).message}`);
      return undefined;
    });
    if (!warm) return report('aborted');
    if (warm.written === 0) {
      reasons.push(`the canary wrote nothing in ${WARM_UP_INTERVALS} intervals before the fault (${warm.writeFailures} failed writes): nothing to measure the RPO by`);
      return report('aborted');
    }
    canarySeq = warm.nextSeq;
    canary.written += warm.written;
    canary.writeFailures += warm.writeFailures;
    canary.lastWritten = warm.lastWritten ?? canary.lastWritten;
    note(`canary wrote ${warm.written} record(s) before the fault`);
  }
  const writtenBeforeFault = canary.written;
  const newestBeforeFault = canary.lastWritten;
  let loadSent = 0;
  let loadFailed = 0;
  const loadProbe = loadSpec
    ? new ChunkedProbe(
        (open) => probes.loadChunk({ load: loadSpec, durationMs: CHUNK_MS, ...(open ? { openOutage: open } : {}) }),
        (r) => {
          loadSent += r.sent;
          loadFailed += r.failed;
        },
      )
    : undefined;
  loadProbe?.start();

  state.phase = 'injecting';
  const fault = await runActionWithRetry({ incidentId: input.drillId, step: drillStep('fault', spec.fault), action: spec.fault, dryRun: input.dryRun, allowedExecutables: allowed, epoch: 0, now, attempts: [] });
  if (!fault.ok) {
    reasons.push(`the fault could not be injected: ${fault.failure.message}`);
    await loadProbe?.finish();
    return report('aborted', { restored: await restore(spec, allowed, input.dryRun, input.drillId, now) });
  }
  const faultAt = typeof fault.result.output['at'] === 'string' ? fault.result.output['at'] : now();
  note(`fault injected: ${fault.result.summary}`, faultAt);
  const canaryProbe = canarySpec
    ? new ChunkedProbe(
        (open) => probes.canaryChunk({ drillId: input.drillId, canary: canarySpec, fromSeq: canarySeq, durationMs: CHUNK_MS, ...(open ? { openOutage: open } : {}) }),
        (r) => {
          canarySeq = r.nextSeq;
          canary.written += r.written;
          canary.writeFailures += r.writeFailures;
        },
      )
    : undefined;
  canaryProbe?.start();

  state.phase = 'detecting';
  let ended: DrillIncidentEnd | undefined;
  let run: DrillIncidentRun | undefined;
  // Once the fault is in, whatever goes wrong in watching or measuring, the restore below still runs.
  try {
    const detectMs = parseDuration(spec.detect_timeout);
    run = input.dryRun ? undefined : await watcher(detectMs).awaitDrillIncident({ incidentId, after: faultAt, timeoutMs: detectMs });
    if (input.dryRun) note('dry run: no fault was injected, so no incident is awaited');
    else if (!run) reasons.push(`no incident opened on ${input.target} within ${spec.detect_timeout} of the fault`);
    else ended = await watchIncident(spec, incidentId, run, input.drillId, state, note, reasons);
  } catch (err) {
    reasons.push(`watching the incident failed: ${(err as Error).message}`);
  }

  state.phase = 'measuring';
  await Promise.all([loadProbe?.finish(), canaryProbe?.finish()]);
  const serving = canarySpec
    ? await probes.canaryRead({ drillId: input.drillId, canary: canarySpec, before: faultAt }).catch((err: unknown) => {
        reasons.push(`the canary could not be read back: ${(err as Error).message}`);
        return undefined;
      })
    : undefined;
  const outages = loadProbe?.outages ?? canaryProbe?.outages ?? [];
  const probed = loadProbe !== undefined || canaryProbe !== undefined;
  const restoredAt = probed ? trafficRestoredAt(outages, faultAt) : ended?.trafficRestoredAt;
  const healedAt = ended?.status === 'resolved' ? ended.closedAt : undefined;
  const ms = (at: string | undefined): number | undefined => (at === undefined ? undefined : Math.max(0, Date.parse(at) - Date.parse(faultAt)));
  const measurements: DrillReport['measurements'] = {
    faultAt,
    ...(run ? { detectedAt: run.openedAt } : {}),
    ...(restoredAt ? { trafficRestoredAt: restoredAt, rtoMs: ms(restoredAt) } : {}),
    ...(healedAt ? { healedAt, healMs: ms(healedAt) } : {}),
    ...(loadProbe ? { failedRequests: loadFailed, requestsSent: loadSent } : {}),
    ...(canarySpec
      ? {
          canary: {
            written: canary.written,
            writeFailures: canary.writeFailures,
            ...(newestBeforeFault ? { newestBeforeFault } : {}),
            ...(serving?.newest ? { newestOnServing: serving.newest } : {}),
            ...(serving ? { presentOnServing: serving.count, lost: Math.max(0, writtenBeforeFault - serving.count) } : {}),
          },
        }
      : {}),
  };
  // Nothing of the canary's found on the serving side loses everything written since the warm-up began.
  if (serving) measurements.rpoMs = Math.max(0, Date.parse(faultAt) - Date.parse(serving.newest?.at ?? warmStartedAt));

  state.phase = 'restoring';
  const restored = await restore(spec, allowed, input.dryRun, input.drillId, now);
  note(restored.ok ? 'starting state restored' : 'the starting state was NOT restored');
  // A dry run measures nothing, so only its plan (healed, restored) is graded.
  if (input.dryRun) note('dry run: the objectives are not graded');
  const graded = gradeDrill(input.dryRun ? undefined : input.runbook.definition.objectives, measurements, { incidentStatus: input.dryRun ? 'resolved' : (ended?.status ?? 'none'), restoredOk: restored.ok });
  reasons.push(...graded.reasons);
  return report(reasons.length > 0 && graded.result === 'passed' ? 'failed' : graded.result, {
    measurements,
    grades: graded.grades,
    restored,
    ...(run && ended?.ended ? { incident: { incidentId, runId: run.runId, status: ended.status ?? '?', outcome: ended.outcome ?? '', openedAt: run.openedAt, ...(ended.closedAt ? { closedAt: ended.closedAt } : {}), auditCommand: `runbook audit ${incidentId}` } } : {}),
    ...(ended?.audit ? { incidentAudit: ended.audit } : {}),
  });
}

/** Marks the incident as a drill and waits for it to end; one that does not end in time is cancelled and given a minute to compensate. */
async function watchIncident(spec: DrillSpec, incidentId: string, run: DrillIncidentRun, drillId: string, state: DrillState, note: (what: string, at?: string) => void, reasons: string[]): Promise<DrillIncidentEnd> {
  state.incident = { incidentId, runId: run.runId };
  note(`incident ${incidentId} opened`, run.openedAt);
  await getExternalWorkflowHandle(incidentId, run.runId).signal(drillMarked, { drillId }).catch(() => note('the incident ended before it could be marked as a drill'));
  state.phase = 'healing';
  const healMs = parseDuration(spec.heal_timeout);
  const ended = await watcher(healMs).awaitIncidentEnd({ incidentId, runId: run.runId, timeoutMs: healMs });
  if (ended.ended) {
    note(`incident ended ${ended.status ?? '?'}${ended.outcome ? ` (${ended.outcome})` : ''}`, ended.closedAt);
    return ended;
  }
  reasons.push(`the incident did not end within ${spec.heal_timeout}; it was asked to cancel`);
  await reporting.cancelIncident({ incidentId, runId: run.runId });
  return watcher(CANCEL_GRACE_MS).awaitIncidentEnd({ incidentId, runId: run.runId, timeoutMs: CANCEL_GRACE_MS });
}

/** Builds the report, files it in the audit stream and returns it. */
async function file(input: DrillInput, state: DrillState, parts: Pick<DrillReport, 'startedAt' | 'result' | 'reasons'> & Partial<DrillReport>): Promise<DrillReport> {
  state.phase = 'reporting';
  const endedAt = new Date().toISOString();
  const info = workflowInfo();
  const report: DrillReport = {
    drillId: input.drillId,
    runbook: { name: input.runbook.name, version: input.runbook.version, hash: input.runbook.hash },
    service: input.service,
    target: input.target,
    dryRun: input.dryRun,
    ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
    ...(input.preApproved ? { scheduled: { scheduleId: input.preApproved.scheduleId } } : input.requestedBy?.startsWith('schedule:') ? { scheduled: { scheduleId: input.requestedBy.slice('schedule:'.length) } } : {}),
    ...(state.approval ? { approval: state.approval } : {}),
    endedAt,
    ...(input.temporalUiUrl ? { temporalUiUrl: `${input.temporalUiUrl}/namespaces/${info.namespace}/workflows/${encodeURIComponent(input.drillId)}/${info.runId}` } : {}),
    timeline: state.timeline,
    measurements: {},
    objectives: input.runbook.definition.objectives ?? {},
    grades: [],
    restored: { ok: true, steps: [], checks: [] },
    ...parts,
  };
  await reporting.publishDrillReport(report);
  state.result = report.result;
  state.phase = 'done';
  return report;
}
