import type { TemporalConnectOptions } from '../config/temporal-connection';
import type { StackInfo } from './stack-file';
import { natsHealthyAt } from './nats-server';
import { temporalHealthy } from './temporal-server';

/** Health of one component as `runbook status` shows it. */
export interface ComponentHealth {
  name: string;
  healthy: boolean;
  detail: string;
}

async function httpHealthy(url: string): Promise<ComponentHealth['detail'] | undefined> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
    const text = (await res.text()).trim();
    return res.ok ? undefined : `${res.status} ${text}`;
  } catch (err) {
    return `unreachable at ${url} (${(err as Error).message})`;
  }
}

/**
 * Checks one component of a stack by name; Temporal through `temporal`
 * (temporalConnectOptions of the caller's configuration), plainly at the
 * stack's address when not given.
 */
export async function componentHealthy(name: string, info: StackInfo, temporal?: TemporalConnectOptions): Promise<ComponentHealth> {
  switch (name) {
    case 'temporal': {
      const ok = await temporalHealthy(temporal ?? { address: info.temporalAddress }, info.namespace);
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

/** Health of every component listed in the stack file. */
export async function stackHealth(info: StackInfo, temporal?: TemporalConnectOptions): Promise<ComponentHealth[]> {
  return Promise.all(['temporal', 'nats', 'worker', 'intake', 'api'].filter((n) => n in info.components).map((n) => componentHealthy(n, info, temporal)));
}
