import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import type { NatsRole } from '../../config/nats-permissions';
import { ENV } from '../../config/config';
import { FAULTS_STREAM, INTAKE_CONSUMER } from '../../intake/streams';
import { faultSubjectFor, type FaultEventInput } from '../../schemas/fault-event';
import { startComponentProcess } from '../../stack/component-process';
import type { ManagedProcess } from '../../stack/managed-process';
import { waitFor } from '../../stack/wait-for';
import type { TestStack } from './stack';

const encoder = new TextEncoder();

/** A fault event body for tests; every field can be overridden. */
export function testFault(overrides: Partial<Record<keyof FaultEventInput, unknown>> & { id: string }): FaultEventInput {
  return {
    source: 'intake-test',
    service: 'checkout',
    target: 'node-1',
    kind: 'intake_test',
    severity: 'warning',
    observedAt: new Date().toISOString(),
    ...overrides,
  } as FaultEventInput;
}

/** Publishes a fault as a producer does: on its subject, with its id as Nats-Msg-Id unless `msgId` is false. */
export async function publishFault(nc: NatsConnection, event: FaultEventInput, msgId = true): Promise<{ seq: number; duplicate: boolean }> {
  const subject = faultSubjectFor({ service: event.service as never, kind: event.kind });
  const opts = msgId ? { msgID: event.id } : {};
  const ack = await nc.jetstream().publish(subject, encoder.encode(JSON.stringify(event)), opts);
  return { seq: ack.seq, duplicate: ack.duplicate };
}

/** Publishes raw bytes on a subject, as a broken producer might. */
export async function publishRaw(nc: NatsConnection, subject: string, data: Uint8Array | string): Promise<number> {
  const ack = await nc.jetstream().publish(subject, typeof data === 'string' ? encoder.encode(data) : data);
  return ack.seq;
}

/**
 * A NATS connection to the test stack that keeps reconnecting (servers may be
 * restarted), as `admin` by default: tests inspect streams and consumers.
 */
export function natsFor(stack: TestStack, role: NatsRole = 'admin'): Promise<NatsConnection> {
  return stack.natsConnect(role, { name: `intake-test-${role}`, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
}

/** Workflow ids of incidents whose id starts with `incident/<service>/`, open or closed. */
export async function incidentIds(client: Client, service: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'incident' AND WorkflowId STARTS_WITH 'incident/${service}/'` })) ids.push(wf.workflowId);
  return ids.sort();
}

/** The incident's absorbed-fault ledger, or undefined while it cannot answer. */
export async function faultsOf(client: Client, incidentId: string): Promise<{ count: number; severity: string } | undefined> {
  try {
    const state = await client.workflow.getHandle(incidentId).query<{ faults: { count: number; severity: string } }>('state');
    return state.faults;
  } catch {
    return undefined;
  }
}

/** Consumer backlog as the server sees it. */
export async function consumerBacklog(nc: NatsConnection): Promise<{ pending: number; unacked: number }> {
  const info = await (await nc.jetstreamManager()).consumers.info(FAULTS_STREAM, INTAKE_CONSUMER);
  return { pending: info.num_pending, unacked: info.num_ack_pending };
}

/** Waits until the intake consumer has nothing pending and nothing unacknowledged. */
export async function waitForDrained(nc: NatsConnection, timeoutMs: number): Promise<void> {
  await waitFor('the intake consumer to be drained', timeoutMs, async () => {
    const b = await consumerBacklog(nc).catch(() => undefined);
    return b !== undefined && b.pending === 0 && b.unacked === 0;
  }, 200);
}

/** Sample values of one metric from a Prometheus text page, keyed by the label set text (`{outcome="started"}`). */
export function metricSamples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\w+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

/** One sample of a metric at an intake's /metrics, 0 when absent. */
export async function metricValue(intakePort: number, name: string, labels = ''): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${intakePort}/metrics`, { signal: AbortSignal.timeout(2_000) });
  return metricSamples(await res.text(), name).get(labels) ?? 0;
}

/** Starts one more intake process against the stack, on its own HTTP port, and waits until it is healthy. */
export function startIntake(stack: TestStack, name: string, port: number, extraEnv: NodeJS.ProcessEnv = {}): Promise<ManagedProcess> {
  return startComponentProcess({
    name,
    entry: 'workers/intake.ts',
    env: { ...stack.env, [ENV.intakePort]: String(port), ...extraEnv },
    logDir: join(stack.config.stateDir, 'logs'),
    healthPort: port,
  });
}

/** The Authorization header the test stack's Alertmanager receiver takes (its generated bearer token). */
export function webhookAuthorization(stack: TestStack): string {
  const file = stack.config.intakeWebhookTokenFile;
  if (!file) throw new Error('the test stack has no webhook token file');
  return `Bearer ${readFileSync(file, 'utf8').trim()}`;
}
