import type { LatencyWindow, LoadStats } from './load-generator';

/** One line of the scenario's timeline. */
export interface TimelineEntry {
  at: number;
  what: string;
}

/** A runbook step as the report shows it. */
export interface StepSummary {
  id: string;
  kind: string;
  status: string;
  attempts: number;
  summary?: string;
}

/** The incident one fault injection opened. */
export interface IncidentSummary {
  incidentId: string;
  runId: string;
  status: string;
  outcome?: string;
  openedAt: number;
  closedAt?: number;
  steps: StepSummary[];
  /** A guard or escalation that stopped automation and asked a human. */
  escalation?: string;
  /** Time the runbook's own approval (fail-back) waited for its answer. */
  approvalWaitMs?: number;
  /** Temporal Web UI page of this run, when the stack has a UI. */
  uiUrl?: string;
  auditCommand: string;
  /** The incident's final state as JSON, kept in the demo directory. */
  recordFile?: string;
}

/** One fault injection and what followed. */
export interface RoundReport {
  injection: string;
  injectedAt: number;
  /** When the prober published the fault. */
  detectedAt?: number;
  incident?: IncidentSummary;
  /** Requests through HAProxy that failed between the injection and the incident's end. */
  failedRequests: number;
  /** First successful request after the last failed one; undefined when none failed. */
  trafficRestoredAt?: number;
  /** The incident closed healed. */
  healedAt?: number;
  /** Request latency before the injection, and from it to the incident's end (fail-back included). */
  latency?: { steady: LatencyWindow | null; failover: LatencyWindow | null };
  /** Data restored from a backup: the snapshot and how old its data was when restored (the data lost). */
  recoveryPoint?: RecoveryPoint;
}

/** What a restore from backup gave back. */
export interface RecoveryPoint {
  snapshot: string;
  createdAt: string;
  ageSeconds: number;
}

/** Everything a scenario reports at its end. */
export interface DemoReport {
  scenario: string;
  description: string;
  rounds: RoundReport[];
  timeline: TimelineEntry[];
  load: LoadStats;
  /** Primary and standby data directories compared file by file (SHA-256). */
  data?: { identical: boolean; files: number; digest: string };
  servers: Record<string, { admin: string; operational: string }>;
  /** One line: what the scenario shows. */
  verdict: string;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`;
}

function offset(at: number, zero: number): string {
  const d = (at - zero) / 1000;
  return `${d >= 0 ? '+' : '-'}${Math.abs(d).toFixed(2).padStart(6)}s`;
}

function roundLines(r: RoundReport, index: number, many: boolean): string[] {
  const lines = [many ? `Round ${index + 1}: ${r.injection}` : `Results: ${r.injection}`];
  const since = (t: number | undefined): number | undefined => (t === undefined ? undefined : t - r.injectedAt);
  lines.push(`  time to detect            ${seconds(since(r.detectedAt))}`);
  lines.push(`  time to traffic restored  ${r.failedRequests === 0 ? 'no request failed' : seconds(since(r.trafficRestoredAt))}`);
  const wait = r.incident?.approvalWaitMs;
  const nothingToHeal = r.incident?.status === 'false_alarm' || r.incident?.outcome === 'recovered';
  const healed = r.healedAt === undefined ? (nothingToHeal ? 'nothing to heal' : 'not healed') : `${seconds(since(r.healedAt))}${wait ? ` (${seconds(wait)} of it waiting for approval)` : ''}`;
  lines.push(`  time to fully healed      ${healed}`);
  lines.push(`  failed requests           ${r.failedRequests}`);
  const { steady, failover } = r.latency ?? {};
  if (steady && failover) {
    const added = Math.max(0, failover.p99Ms - steady.p99Ms);
    lines.push(`  added latency (p99)       ${added} ms: p99 ${failover.p99Ms} ms (max ${failover.maxMs} ms) over ${failover.requests} requests during failover, p99 ${steady.p99Ms} ms steady`);
  }
  if (r.recoveryPoint) {
    const rp = r.recoveryPoint;
    lines.push(`  recovery point            snapshot ${rp.snapshot} (taken ${rp.createdAt}): data ${rp.ageSeconds} s old when restored`);
  }
  const inc = r.incident;
  if (!inc) {
    lines.push('  incident                  none opened');
    return lines;
  }
  lines.push(`  incident                  ${inc.incidentId}  ${inc.status}${inc.outcome ? ` (${inc.outcome})` : ''}`);
  if (inc.escalation) lines.push(`  asked a human             ${inc.escalation}`);
  for (const s of inc.steps) {
    const attempts = s.attempts > 0 ? `${s.attempts} attempt${s.attempts === 1 ? '' : 's'}` : '';
    lines.push(`    ${s.id.padEnd(16)} ${s.status.padEnd(16)} ${attempts.padEnd(10)} ${s.summary ?? ''}`.trimEnd());
  }
  lines.push(`  Temporal UI               ${inc.uiUrl ?? '(the stack runs without the Web UI)'}`);
  lines.push(`  audit                     ${inc.auditCommand}`);
  if (inc.recordFile) lines.push(`  final state               ${inc.recordFile}`);
  return lines;
}

/** The report as printed at the end of `runbook demo`. */
export function renderReport(report: DemoReport): string {
  const zero = report.rounds[0]?.injectedAt ?? report.timeline[0]?.at ?? 0;
  const lines = [`Scenario ${report.scenario}: ${report.description}`, '', 'Timeline (t=0 at the first fault injection)'];
  for (const e of [...report.timeline].sort((a, b) => a.at - b.at)) lines.push(`  ${offset(e.at, zero)}  ${e.what}`);
  lines.push('');
  report.rounds.forEach((r, i) => lines.push(...roundLines(r, i, report.rounds.length > 1), ''));
  const l = report.load;
  lines.push(`Load through HAProxy        ${l.sent} requests, ${l.ok} ok, ${l.failed} failed, ${l.stale} from a stale model`);
  const served = Object.entries(l.byInstance).map(([k, v]) => `${k} ${v}`).join(', ');
  if (served) lines.push(`  answered by               ${served}`);
  if (report.data) {
    lines.push(`Data                        ${report.data.identical ? 'identical' : 'DIFFERENT'} on primary and standby (${report.data.files} files, digest ${report.data.digest})`);
  }
  const servers = Object.entries(report.servers).map(([name, s]) => `${name} ${s.admin}/${s.operational}`).join(', ');
  lines.push(`HAProxy                     ${servers}`);
  lines.push('', report.verdict);
  return lines.join('\n');
}
