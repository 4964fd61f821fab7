import { z } from 'zod';
import { isAbsolutePath, SERVICE_NAME } from './adapter-inputs';
import { Argv } from './command-spec';
import { ProbeSpec } from './probe-spec';

const AbsolutePath = z.string().refine(isAbsolutePath, 'must be an absolute path');

/** Human wording of the service name rule. */
export const SERVICE_NAME_RULE = 'must be a service name: 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit';

/** Name of a supervised program: the key in the services file and a runbook's `supervisor.service`. */
export const ServiceName = z.string().regex(SERVICE_NAME, SERVICE_NAME_RULE);
export type ServiceName = z.infer<typeof ServiceName>;

/**
 * A long-running program on a bare host, tracked by a pidfile. It runs in its
 * own session (process group), with stdout and stderr appended to `logFile`
 * and only the environment given here (PATH defaults to the adapter's DEFAULT_PATH).
 */
export const ServiceSpec = z.strictObject({
  name: ServiceName,
  argv: Argv,
  cwd: AbsolutePath.optional(),
  env: z.record(z.string(), z.string()).optional(),
  pidFile: AbsolutePath,
  logFile: AbsolutePath,
  health: ProbeSpec.optional(),
});
export type ServiceSpec = z.infer<typeof ServiceSpec>;

/** One entry of the services file: a process spec without its name (the key is the name). */
export const ServiceEntry = ServiceSpec.omit({ name: true }).extend({
  /** How long a start may take to become healthy. @default 15000 */
  startTimeoutMs: z.number().int().positive().optional(),
  /** Time between SIGTERM and SIGKILL when stopping. @default 10000 */
  stopGraceMs: z.number().int().positive().optional(),
});
export type ServiceEntry = z.infer<typeof ServiceEntry>;

/** The whole services file: service name → entry. */
export const ServicesFile = z.record(ServiceName, ServiceEntry);
export type ServicesFile = z.infer<typeof ServicesFile>;
