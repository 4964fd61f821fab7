import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { loadRunbookText } from '../engine/load-runbook';
import { snapshotOf } from '../intake/intake-loop';
import { incidentIdFor, ServiceId } from '../schemas/identifiers';
import { FaultEvent, faultSubjectFor } from '../schemas/fault-event';
import type { IncidentInput, RunbookSnapshot } from '../schemas/incident-input';

/** The service every benchmark fault names. */
export const BENCH_SERVICE = 'bench';
/** The fault kind the benchmark runbooks match. */
export const BENCH_KIND = 'bench_fault';
/** Subject benchmark faults are published on. */
export const BENCH_SUBJECT = faultSubjectFor({ service: ServiceId.parse(BENCH_SERVICE), kind: BENCH_KIND });

/**
 * A runbook of `steps` no-op command steps (`true`), matching the bench
 * service. The benchmark workers replace the action activity with a no-op, so
 * each step costs the interpreter's bookkeeping plus one activity round trip.
 */
export function noopRunbookYaml(steps: number, name = 'bench-noop'): string {
  const lines = runbookHead(name);
  for (let i = 1; i <= steps; i++) {
    lines.push(`  - id: step_${i}`, '    action:', '      kind: command', '      argv: ["true"]');
  }
  return `${lines.join('\n')}\n`;
}

/** The lines of a benchmark runbook up to its steps: name, match on the bench service, `true` allowed. */
export function runbookHead(name: string): string[] {
  return [
    `name: ${name}`,
    'version: 1',
    'match:',
    `  kinds: [${BENCH_KIND}]`,
    `  services: [${BENCH_SERVICE}]`,
    'settings:',
    '  allowed_executables: ["true"]',
    'steps:',
  ];
}

/** Parses a benchmark runbook into the snapshot an incident carries; throws on an invalid one. */
export function snapshotFromYaml(yaml: string): RunbookSnapshot {
  const loaded = loadRunbookText(yaml, 'bench-runbook.yaml');
  if (!loaded.ok) throw new Error(`benchmark runbook is invalid: ${loaded.errors.map((e) => e.message).join('; ')}`);
  return snapshotOf(loaded);
}

/** Writes a runbook into a fresh directory the intake can load; returns the directory. */
export function writeRunbookDir(dir: string, yaml: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'bench.yaml'), yaml);
  return dir;
}

/** A valid firing fault for `target`, as a monitor would publish it. */
export function benchFault(id: string, target: string, service = BENCH_SERVICE): FaultEvent {
  return FaultEvent.parse({ id, source: 'bench', service, target, kind: BENCH_KIND, severity: 'warning', observedAt: new Date().toISOString() });
}

const encoder = new TextEncoder();

/** A fault's wire form. */
export function encodeFault(event: FaultEvent): Uint8Array {
  return encoder.encode(JSON.stringify(event));
}

/** The workflow input the intake would build for this fault and runbook. */
export function incidentInputFor(event: FaultEvent, runbook: RunbookSnapshot): IncidentInput {
  return { incidentId: incidentIdFor(event.service, event.target), fault: event, runbook, dryRun: false };
}

/**
 * When the server recorded a workflow as started (epoch ms, sub-millisecond),
 * read from the first event of its history; undefined while it does not exist.
 */
export async function workflowStartedAtMs(client: Client, namespace: string, workflowId: string): Promise<number | undefined> {
  try {
    const res = await client.workflowService.getWorkflowExecutionHistory({ namespace, execution: { workflowId }, maximumPageSize: 1 });
    const time = res.history?.events?.[0]?.eventTime;
    return time ? eventTimeMs(time) : undefined;
  } catch {
    return undefined;
  }
}

/** A history event's timestamp as epoch milliseconds, keeping its sub-millisecond part. */
export function eventTimeMs(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(t?.seconds ?? 0) * 1_000 + (t?.nanos ?? 0) / 1e6;
}
