import type { KV, NatsConnection } from 'nats';
import { CONTROL_BUCKET, PAUSE_KEY, PauseRecord } from '../schemas/control-bucket';

/** The pause switch as the API reads and writes it. */
export interface ControlStore {
  /** The record, `{ paused: false }` when never set or deleted. */
  read(): Promise<PauseRecord>;
  write(record: PauseRecord): Promise<void>;
}

/**
 * The control bucket on the API's NATS connection, opened on first use and
 * again after a failure. A value workers cannot parse holds remediation
 * (activities/guard-activities.ts fails safe), so it reads as paused, saying why.
 */
export function natsControlStore(nc: NatsConnection): ControlStore {
  let kv: Promise<KV> | undefined;
  const bucket = (): Promise<KV> => (kv ??= nc.jetstream().views.kv(CONTROL_BUCKET).catch((err: unknown) => {
    kv = undefined;
    throw err;
  }));
  return {
    async read() {
      const entry = await (await bucket()).get(PAUSE_KEY);
      if (!entry || entry.operation !== 'PUT' || entry.length === 0) return { paused: false };
      let value: unknown;
      try {
        value = entry.json();
      } catch {
        value = undefined;
      }
      const parsed = PauseRecord.safeParse(value);
      return parsed.success ? parsed.data : { paused: true, reason: `${PAUSE_KEY} in ${CONTROL_BUCKET} is not a pause state, so workers hold remediation until it is set again` };
    },
    async write(record) {
      await (await bucket()).put(PAUSE_KEY, JSON.stringify(record));
    },
  };
}
