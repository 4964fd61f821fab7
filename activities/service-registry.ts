import { InvalidSpecError, TargetNotFoundError } from './adapters/errors';
import { DEFAULT_START_TIMEOUT_MS, DEFAULT_STOP_GRACE_MS } from './adapters/process-supervisor';
import type { ServiceSpec } from '../schemas/service-spec';
import type { RegisteredService } from '../config/services';
import type { SupervisorService } from '../schemas/runbook';

/** A registered service ready for the supervisor adapter, with the timeouts to use. */
export interface ResolvedService {
  spec: ServiceSpec;
  startTimeoutMs: number;
  stopGraceMs: number;
}

/**
 * Finds the service a `supervisor` action names. An unknown name is a
 * permanent TargetNotFound: retrying cannot make it appear. Timeouts not set
 * in the registry default to the adapter's, capped by the action's deadline.
 */
export function resolveService(
  registry: Readonly<Record<string, RegisteredService>>,
  ref: SupervisorService,
  actionTimeoutMs: number,
): ResolvedService {
  if (ref.config !== undefined) {
    throw new InvalidSpecError(`supervisor.config is not supported; register ${JSON.stringify(ref.service)} in the services file`);
  }
  const entry = Object.prototype.hasOwnProperty.call(registry, ref.service) ? registry[ref.service] : undefined;
  if (entry === undefined) {
    const known = Object.keys(registry).sort();
    const hint = known.length === 0 ? 'the services file defines none' : `known: ${known.join(', ')}`;
    throw new TargetNotFoundError(`no service ${JSON.stringify(ref.service)} in the service registry (${hint})`);
  }
  const { startTimeoutMs, stopGraceMs, ...spec } = entry;
  return {
    spec: { ...spec, name: ref.service },
    startTimeoutMs: startTimeoutMs ?? Math.min(DEFAULT_START_TIMEOUT_MS, actionTimeoutMs),
    stopGraceMs: stopGraceMs ?? Math.min(DEFAULT_STOP_GRACE_MS, Math.floor(actionTimeoutMs / 2)),
  };
}
