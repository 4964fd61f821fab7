import type { Outage } from './outages';
import type { DrillGrade, DrillMeasurements, DrillObjectives, DrillResult } from '../schemas/drill-report';
import { parseDuration } from './duration';

/*
 * Pure: how a drill is graded against its runbook's objectives. No Node APIs
 * and no zod at run time, so the drill workflow grades in its own code and a
 * replay grades the same.
 */

/** What the grading needs beyond the measurements. */
export interface DrillOutcomeFacts {
  /** The incident's closing status (`resolved`, `failed`, …); undefined when no incident opened. */
  incidentStatus: string | undefined;
  /** The restore steps and the steady-state checks after them all passed. */
  restoredOk: boolean;
}

/** The grades of a drill, its result and why it failed. */
export interface DrillVerdict {
  grades: DrillGrade[];
  result: Extract<DrillResult, 'passed' | 'failed'>;
  reasons: string[];
}

/** An outage a load probe or canary saw (engine/outages.ts keeps them). */
export type { Outage } from './outages';

/** Milliseconds as a person reads them: `850ms`, `12.3s`, `4.5m`, `2.0h`. */
export function formatMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)}s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)}m`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}

const gap = (from: string | undefined, to: string | undefined): number | undefined =>
  from === undefined || to === undefined ? undefined : Math.max(0, Date.parse(to) - Date.parse(from));

/**
 * The measurements with the durations and the lost-record count filled in
 * from the times and sequence numbers, where the drill did not set them.
 * Lost records are those between the newest before the fault and the newest
 * the serving side holds (sequence numbers are consecutive).
 */
export function deriveDurations(m: DrillMeasurements): DrillMeasurements {
  const out: DrillMeasurements = { ...m };
  const rto = m.rtoMs ?? gap(m.faultAt, m.trafficRestoredAt);
  const heal = m.healMs ?? gap(m.faultAt, m.healedAt);
  const rpo = m.rpoMs ?? gap(m.canary?.newestOnServing?.at, m.faultAt);
  if (rto !== undefined) out.rtoMs = rto;
  if (heal !== undefined) out.healMs = heal;
  if (rpo !== undefined) out.rpoMs = rpo;
  const before = m.canary?.newestBeforeFault;
  const serving = m.canary?.newestOnServing;
  if (m.canary && m.canary.lost === undefined && before && serving) out.canary = { ...m.canary, lost: Math.max(0, before.seq - serving.seq) };
  return out;
}

/**
 * When traffic came back after a fault, from the outages a probe saw: the
 * end of the latest outage that began at or after the fault or was under
 * way at it. None such: the fault time itself (no client saw it, to the
 * resolution of the probe's interval). One still open: undefined, not restored.
 */
export function trafficRestoredAt(outages: readonly Outage[], faultAt: string): string | undefined {
  const fault = Date.parse(faultAt);
  const relevant = outages.filter((o) => Date.parse(o.from) >= fault || o.to === undefined || Date.parse(o.to) > fault);
  if (relevant.length === 0) return faultAt;
  if (relevant.some((o) => o.to === undefined)) return undefined;
  let latest = relevant[0]?.to ?? faultAt;
  for (const o of relevant) if (o.to !== undefined && Date.parse(o.to) > Date.parse(latest)) latest = o.to;
  return latest;
}

/** Why a duration objective has no measurement, in words. */
function unmeasured(objective: 'rto' | 'heal' | 'rpo', label: string, m: DrillMeasurements): string {
  if (m.faultAt === undefined) return `the fault was not injected, so the ${label} could not be measured`;
  if (objective === 'rto') return 'traffic was not seen restored, so the RTO could not be measured';
  if (objective === 'heal') return 'the incident did not heal, so the heal time could not be measured';
  if (m.canary === undefined) return 'no canary was named, so the RPO could not be measured';
  return 'the serving side holds no canary record written before the fault, so the RPO could not be measured';
}

/**
 * Grades a drill: each objective the runbook sets (durations at most their
 * target, counts at most their budget; a missing measurement fails), then
 * whether the incident healed and whether the starting state was restored.
 * The drill passed only if every grade passed.
 */
export function gradeDrill(objectives: DrillObjectives | undefined, measurements: DrillMeasurements, facts: DrillOutcomeFacts): DrillVerdict {
  const m = deriveDurations(measurements);
  const grades: DrillGrade[] = [];
  const reasons: string[] = [];
  const o = objectives ?? {};

  const durations: ['rto' | 'heal' | 'rpo', string | undefined, number | undefined, string][] = [
    ['rto', o.rto, m.rtoMs, 'RTO'],
    ['heal', o.heal, m.healMs, 'time to heal'],
    ['rpo', o.rpo, m.rpoMs, 'RPO'],
  ];
  for (const [objective, target, measured, label] of durations) {
    if (target === undefined) continue;
    if (measured === undefined) {
      const why = unmeasured(objective, label, m);
      grades.push({ objective, target, measured: 'not measured', pass: false });
      reasons.push(why);
      continue;
    }
    const pass = measured <= parseDuration(target);
    grades.push({ objective, target, measured: formatMs(measured), pass });
    if (!pass) reasons.push(`the ${label} was ${formatMs(measured)}, over the objective of ${target}`);
  }

  const lost = m.canary?.lost;
  const budgets: ['failed_requests' | 'data_loss', number | undefined, number | undefined, string, string][] = [
    ['failed_requests', o.failed_requests, m.failedRequests, 'failed requests', 'no load probe was named, so failed requests could not be counted'],
    ['data_loss', o.data_loss, lost, 'canary records lost', m.canary === undefined ? 'no canary was named, so lost records could not be counted' : 'the canary could not tell how many records were lost'],
  ];
  for (const [objective, budget, measured, label, why] of budgets) {
    if (budget === undefined) continue;
    if (measured === undefined) {
      grades.push({ objective, target: String(budget), measured: 'not measured', pass: false });
      reasons.push(why);
      continue;
    }
    const pass = measured <= budget;
    grades.push({ objective, target: String(budget), measured: String(measured), pass });
    if (!pass) reasons.push(`${measured} ${label}, over the budget of ${budget}`);
  }

  const healed = facts.incidentStatus === 'resolved';
  grades.push({ objective: 'healed', target: 'resolved', measured: facts.incidentStatus ?? 'no incident', pass: healed });
  if (!healed) reasons.push(facts.incidentStatus === undefined ? 'no incident opened for the fault' : `the incident ended ${facts.incidentStatus}, not resolved`);

  grades.push({ objective: 'restored', target: 'restored', measured: facts.restoredOk ? 'restored' : 'not restored', pass: facts.restoredOk });
  if (!facts.restoredOk) reasons.push('the starting state was not restored');

  return { grades, result: grades.every((g) => g.pass) ? 'passed' : 'failed', reasons };
}
