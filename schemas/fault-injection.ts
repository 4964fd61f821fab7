import { z } from 'zod';
import { isRsyncPath, SERVICE_NAME } from './adapter-inputs';
import { SERVICE_NAME_RULE } from './service-spec';

/*
 * Actions that break something on purpose, for disaster-recovery drills: a
 * drill injects one of them, the ordinary incident heals it, and the drill's
 * restore steps put back what is left. Each is an action kind like any other
 * (dry-run plans it; in an incident runbook it needs approval by default),
 * declared here apart from the remediation actions so their inputs are
 * checked as strictly as a remediation's.
 */

const isTemplated = (value: string): boolean => value.includes('{{');
const NonEmpty = z.string().min(1, 'must not be empty');

/** A process kept by the worker's process supervisor, found by the pidfile of its service. */
const SupervisedProcess = z.strictObject({
  service: NonEmpty.refine((name) => isTemplated(name) || SERVICE_NAME.test(name), SERVICE_NAME_RULE),
});

/** Signals a drill may send: gone at once, asked to stop, or alive but frozen (a hang). */
export const FAULT_SIGNALS = ['SIGKILL', 'SIGTERM', 'SIGSTOP'] as const;

/** Sends a signal to a supervised service's process: SIGKILL is a crash, SIGSTOP a hang. */
export const KillProcessAction = z.strictObject({
  kind: z.literal('kill_process'),
  supervisor: SupervisedProcess,
  signal: z.enum(FAULT_SIGNALS).default('SIGKILL'),
});
export type KillProcessAction = z.infer<typeof KillProcessAction>;

/** Only an iptables binary: the argv is fixed, and this keeps it from naming any other program. */
const IPTABLES_EXECUTABLE = /^((\/[A-Za-z0-9._-]+)*\/)?ip6?tables(-nft|-legacy)?$/;

const portFields = {
  port: z.int().min(1).max(65_535),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  /** The iptables executable, run with a fixed argv and never a shell: found on the standard PATH, or an absolute path to one. */
  iptables: z.string().regex(IPTABLES_EXECUTABLE, 'must be iptables, ip6tables (-nft or -legacy), or an absolute path ending in one of them').default('iptables'),
};

/** Rejects new connections to a local port (an input rule), as a network partition would. */
export const BlockPortAction = z.strictObject({ kind: z.literal('block_port'), ...portFields });
export type BlockPortAction = z.infer<typeof BlockPortAction>;

/** Removes the rule {@link BlockPortAction} added; nothing to remove is not an error. */
export const UnblockPortAction = z.strictObject({ kind: z.literal('unblock_port'), ...portFields });
export type UnblockPortAction = z.infer<typeof UnblockPortAction>;

/** Paths a drill will never delete, whatever a runbook says. */
export const UNDELETABLE_PATHS: readonly string[] = ['/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/proc', '/root', '/sbin', '/sys', '/tmp', '/usr', '/var'];

/** Deletes a data directory with everything in it, as a lost disk would. */
export const DeleteDataAction = z.strictObject({
  kind: z.literal('delete_data'),
  path: NonEmpty.refine((p) => isTemplated(p) || isRsyncPath(p), 'must be an absolute local path').refine(
    (p) => isTemplated(p) || !UNDELETABLE_PATHS.includes(p.replace(/\/+$/, '') || '/'),
    'is a system directory a drill must not delete',
  ),
});
export type DeleteDataAction = z.infer<typeof DeleteDataAction>;

/** Every fault-injection action; a drill's `fault` is one of these or a `stop_service`. */
export const FAULT_INJECTION_ACTIONS = [KillProcessAction, BlockPortAction, UnblockPortAction, DeleteDataAction] as const;
/** Kinds a drill may inject. */
export const DRILL_FAULT_KINDS = ['kill_process', 'stop_service', 'block_port', 'delete_data'] as const;
