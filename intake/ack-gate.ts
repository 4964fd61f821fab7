import { appendFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import type { BeforeAck } from './intake-loop';

/** File the gate appends each handed-off event id to. */
export const ACK_GATE_HANDED_OFF = 'handed-off';
/** File whose appearance lets acks through. */
export const ACK_GATE_RELEASE = 'release';

/**
 * Fault-injection hook for crash tests: after Temporal accepted an event,
 * record its id in `<dir>/handed-off`, then hold the ack until
 * `<dir>/release` exists. A test can kill the intake in exactly the window
 * between handoff and ack. Wired only when `RUNBOOK_INTAKE_ACK_GATE_DIR` is set.
 */
export function fileAckGate(dir: string, pollMs = 50): BeforeAck {
  const release = join(dir, ACK_GATE_RELEASE);
  return async (event) => {
    await appendFile(join(dir, ACK_GATE_HANDED_OFF), `${event.id}\n`);
    for (;;) {
      try {
        await access(release);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, pollMs));
      }
    }
  };
}
