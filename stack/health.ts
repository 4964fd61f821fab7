import type { TemporalConnectOptions } from '../config/temporal-connection';
import { httpGet } from '../platform/http-get';
import type { TemporalHttpClient } from '../platform/temporal-http';
import type { HealthCheck, StackInfo } from './stack-file';
import { natsHealthy, natsHealthyAt } from './nats-server';
import { postgresReady } from './postgres';
import { temporalHealthy, temporalHttpHealthy } from './temporal-server';

/** Health of one component as `runbook status` shows it. */
export interface ComponentHealth {
  name: string;
  healthy: boolean;
  detail: string;
}

async function httpHealthy(url: string): Promise<ComponentHealth['detail'] | undefined> {
  try {
    const res = await httpGet(`${url}/healthz`, 1_000);
    return res.ok ? undefined : `${res.status} ${res.text.trim()}`;
  } catch (err) {
    return `unreachable at ${url} (${(err as Error).message})`;
  }
}

/** How to reach Temporal for its check: over the HTTP API when `http` is given, else gRPC with `grpc` (plainly at the recorded address when not given). */
export interface TemporalProbe {
  grpc?: TemporalConnectOptions;
  http?: TemporalHttpClient;
}

function temporalServes(probe: TemporalProbe, address: string, namespace: string): Promise<boolean> {
  return probe.http ? temporalHttpHealthy(probe.http) : temporalHealthy(probe.grpc ?? { address }, namespace);
}

/** Runs a recorded check: what the cluster stack writes beside each of its components. */
export async function checkHealth(name: string, check: HealthCheck, namespace: string, temporal: TemporalProbe = {}): Promise<ComponentHealth> {
  switch (check.kind) {
    case 'http': {
      const problem = await httpHealthy(check.url);
      return { name, healthy: problem === undefined, detail: problem ?? `${check.url} healthy` };
    }
    case 'temporal': {
      const ok = await temporalServes(temporal, check.address, namespace);
      return { name, healthy: ok, detail: ok ? `${check.address}, namespace ${namespace}` : `not serving namespace ${namespace} at ${check.address}` };
    }
    case 'nats': {
      const ok = await natsHealthy(check.monitorPort);
      return { name, healthy: ok, detail: ok ? `${check.url}, JetStream enabled` : `JetStream not healthy at http://127.0.0.1:${check.monitorPort}` };
    }
    case 'postgres': {
      const ok = await postgresReady(check.port);
      return { name, healthy: ok, detail: ok ? `127.0.0.1:${check.port} accepting connections` : `not accepting connections on 127.0.0.1:${check.port}` };
    }
  }
}

/**
 * Checks one component of a stack: by its recorded check when it has one,
 * otherwise by name; Temporal through `temporal`
 * (temporalConnectOptions of the caller's configuration), plainly at the
 * stack's address when not given.
 */
export async function componentHealthy(name: string, info: StackInfo, temporal: TemporalProbe = {}): Promise<ComponentHealth> {
  const check = info.components[name]?.health;
  if (check) return checkHealth(name, check, info.namespace, temporal);
  switch (name) {
    case 'temporal': {
      const ok = await temporalServes(temporal, info.temporalAddress, info.namespace);
      return { name, healthy: ok, detail: ok ? `${info.temporalAddress}, namespace ${info.namespace}` : `not serving namespace ${info.namespace} at ${info.temporalAddress}` };
    }
    case 'nats':
      return natsHealth(info);
    case 'worker':
    case 'intake': {
      const url = name === 'worker' ? info.workerUrl : info.intakeUrl;
      const problem = await httpHealthy(url);
      return { name, healthy: problem === undefined, detail: problem ?? `${url} healthy` };
    }
    case 'api': {
      const url = `http://127.0.0.1:${info.ports.api ?? 0}`;
      const problem = await httpHealthy(url);
      return { name, healthy: problem === undefined, detail: problem ?? `${url} healthy (approval API)` };
    }
    default:
      return { name, healthy: false, detail: 'unknown component' };
  }
}

/**
 * NATS's health: one server, or every node of a cluster (`natsMonitorUrl` a
 * comma-separated list). A cluster stays healthy while a majority of its
 * nodes is up, because JetStream keeps its R3 streams then; the nodes down are
 * named either way.
 */
export async function natsHealth(info: Pick<StackInfo, 'natsUrl' | 'natsMonitorUrl'>): Promise<ComponentHealth> {
  const urls = info.natsMonitorUrl.split(',').map((u) => u.trim()).filter(Boolean);
  const up = await Promise.all(urls.map((u) => natsHealthyAt(u)));
  const down = urls.filter((_, i) => !up[i]);
  if (urls.length <= 1) {
    const ok = down.length === 0 && urls.length === 1;
    return { name: 'nats', healthy: ok, detail: ok ? `${info.natsUrl}, JetStream enabled` : `JetStream not healthy at ${info.natsMonitorUrl}` };
  }
  const healthy = urls.length - down.length > urls.length / 2;
  const nodes = `${urls.length - down.length}/${urls.length} nodes healthy`;
  return { name: 'nats', healthy, detail: down.length === 0 ? `${info.natsUrl}, JetStream enabled, ${nodes}` : `${nodes}; not healthy at ${down.join(', ')}` };
}


const EMBEDDED_ORDER = ['temporal', 'nats', 'worker', 'intake', 'api'];

/** Health of every component listed in the stack file: the embedded stack's in their fixed order, the rest as recorded. */
export async function stackHealth(info: StackInfo, temporal: TemporalProbe = {}): Promise<ComponentHealth[]> {
  const names = info.kind === 'cluster' ? Object.keys(info.components) : [...EMBEDDED_ORDER.filter((n) => n in info.components), ...Object.keys(info.components).filter((n) => !EMBEDDED_ORDER.includes(n))];
  return Promise.all(names.map((n) => componentHealthy(n, info, temporal)));
}
