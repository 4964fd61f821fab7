import { ENV } from '../config/config';
import { freePorts } from './ports';

/**
 * Environment that gives a private embedded stack (`runbook up`) a free
 * loopback port for each of its servers, so it runs beside any other.
 */
export async function freeStackPortEnv(): Promise<NodeJS.ProcessEnv> {
  const keys = [ENV.temporalPort, ENV.temporalUiPort, ENV.temporalHttpPort, ENV.natsPort, ENV.natsMonitorPort, ENV.intakePort, ENV.workerMetricsPort, ENV.apiPort];
  const ports = await freePorts(keys.length);
  return Object.fromEntries(keys.map((key, i) => [key, String(ports[i])]));
}
