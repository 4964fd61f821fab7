import type { TemporalConnectOptions } from '../config/temporal-connection';
import type { StackInfo } from './stack-file';
import { natsHealthy } from './nats-server';
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
    case 'nats': {
      const ok = await natsHealthy(info.ports.natsMonitor ?? 0);
      return { name, healthy: ok, detail: ok ? `${info.natsUrl}, JetStream enabled` : `JetStream not healthy at ${info.natsMonitorUrl}` };
    }
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

/** Health of every component listed in the stack file. */
export async function stackHealth(info: StackInfo, temporal?: TemporalConnectOptions): Promise<ComponentHealth[]> {
  return Promise.all(['temporal', 'nats', 'worker', 'intake', 'api'].filter((n) => n in info.components).map((n) => componentHealthy(n, info, temporal)));
}
