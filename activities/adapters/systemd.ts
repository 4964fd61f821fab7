import { SYSTEMD_UNIT } from '../../schemas/adapter-inputs';
import { CommandFailedError, InvalidSpecError, TimeoutError, VerificationFailedError } from './errors';
import { runProcess, tailForMessage } from './process-runner';

/** @default '/usr/bin/systemctl' */
export const DEFAULT_SYSTEMCTL_PATH = '/usr/bin/systemctl';
/** Deadline of one systemctl call. @default 60000 */
export const DEFAULT_SYSTEMCTL_TIMEOUT_MS = 60_000;
/** How long the unit may take to reach the wanted state after the action. @default 10000 */
export const DEFAULT_SYSTEMD_VERIFY_TIMEOUT_MS = 10_000;

/** A lifecycle action on one unit. */
export type SystemctlAction = 'start' | 'stop' | 'restart';

/** Input of systemctlAction. */
export interface SystemctlActionInput {
  unit: string;
  action: SystemctlAction;
  dryRun: boolean;
  systemctlPath?: string;
  timeoutMs?: number;
  verifyTimeoutMs?: number;
}

/** `previous` and `current` are what `systemctl is-active` printed (active, inactive, failed...). */
export type SystemctlActionResult =
  | { dryRun: false; previous: string; current: string; changed: boolean; verified: true }
  | { dryRun: true; previous: string; plan: string };

interface Call {
  systemctlPath?: string;
  timeoutMs?: number;
}

async function systemctl(call: Call, args: string[]) {
  const outcome = await runProcess({
    argv: [call.systemctlPath ?? DEFAULT_SYSTEMCTL_PATH, ...args],
    timeoutMs: call.timeoutMs ?? DEFAULT_SYSTEMCTL_TIMEOUT_MS,
    maxOutputBytes: 8 * 1024,
    env: { LC_ALL: 'C' },
  });
  if (outcome.timedOut) throw new TimeoutError(`systemctl ${args.join(' ')} did not finish in time`);
  return outcome;
}

function assertUnit(unit: string): void {
  if (!SYSTEMD_UNIT.test(unit)) throw new InvalidSpecError(`invalid systemd unit name ${JSON.stringify(unit)}`);
}

/** What `systemctl is-active <unit>` prints; its non-zero exit for inactive units is expected. */
export async function unitActiveState(input: Call & { unit: string }): Promise<string> {
  assertUnit(input.unit);
  const outcome = await systemctl(input, ['is-active', input.unit]);
  const state = outcome.stdout.trim().split('\n')[0]?.trim() ?? '';
  if (state === '') {
    throw new CommandFailedError(`systemctl is-active ${input.unit} printed nothing${tailForMessage(outcome.stderr)}`, {
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
    });
  }
  return state;
}

const isStopped = (state: string): boolean => state === 'inactive' || state === 'failed' || state === 'unknown';

/**
 * Runs `systemctl <action> <unit>` and then polls `systemctl is-active <unit>`
 * until it shows the expected state. start of an active unit and stop of a
 * stopped one do nothing; restart always acts. Idempotent in effect: a
 * repeat ends in the same unit state (a second restart is only a blip).
 */
export async function systemctlAction(input: SystemctlActionInput): Promise<SystemctlActionResult> {
  assertUnit(input.unit);
  if (!['start', 'stop', 'restart'].includes(input.action)) {
    throw new InvalidSpecError(`invalid systemctl action ${JSON.stringify(input.action)}`);
  }
  const previous = await unitActiveState(input);
  const alreadyThere =
    (input.action === 'start' && previous === 'active') || (input.action === 'stop' && isStopped(previous));

  if (input.dryRun) {
    const plan = alreadyThere
      ? `${input.unit} is already ${previous}; nothing to ${input.action}`
      : `would run systemctl ${input.action} ${input.unit} (now ${previous})`;
    return { dryRun: true, previous, plan };
  }
  if (alreadyThere) return { dryRun: false, previous, current: previous, changed: false, verified: true };

  const outcome = await systemctl(input, [input.action, input.unit]);
  if (outcome.exitCode !== 0) {
    throw new CommandFailedError(
      `systemctl ${input.action} ${input.unit} exited ${outcome.exitCode ?? outcome.signal}${tailForMessage(outcome.stderr)}`,
      { exitCode: outcome.exitCode, signal: outcome.signal, stdout: outcome.stdout, stderr: outcome.stderr },
    );
  }

  const wanted = (state: string): boolean => (input.action === 'stop' ? isStopped(state) : state === 'active');
  const deadline = Date.now() + (input.verifyTimeoutMs ?? DEFAULT_SYSTEMD_VERIFY_TIMEOUT_MS);
  for (;;) {
    const current = await unitActiveState(input);
    if (wanted(current)) return { dryRun: false, previous, current, changed: true, verified: true };
    if ((input.action !== 'stop' && current === 'failed') || Date.now() >= deadline) {
      throw new VerificationFailedError(`${input.unit} is ${current} after systemctl ${input.action}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
