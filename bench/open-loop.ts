import { epochNowMs } from '../platform/epoch-clock';

export { epochNowMs };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Fires `count` operations at a fixed rate without waiting for earlier ones to
 * finish (open loop), so a slow system does not slow the load down and hide
 * its own latency. `fire` gets the index and the intended start time (epoch
 * ms); latencies should be measured from that time. Resolves when every
 * operation has settled; rejects with the first failure.
 */
export async function openLoop(count: number, ratePerSecond: number, fire: (i: number, intendedMs: number) => Promise<void>): Promise<void> {
  if (!(ratePerSecond > 0)) throw new RangeError(`rate must be positive, got ${ratePerSecond}`);
  const interval = 1_000 / ratePerSecond;
  const start = epochNowMs();
  const running: Promise<void>[] = [];
  let firstError: unknown;
  for (let i = 0; i < count; i++) {
    const due = start + i * interval;
    // Timers may fire a little early; wait again until the intended time has really come.
    for (let wait = due - epochNowMs(); wait > 0; wait = due - epochNowMs()) await sleep(Math.max(1, wait));
    running.push(
      fire(i, due).catch((err: unknown) => {
        firstError ??= err;
      }),
    );
  }
  await Promise.all(running);
  if (firstError !== undefined) throw firstError;
}
