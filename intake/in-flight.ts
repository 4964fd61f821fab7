import type { JsMsg } from 'nats';

/**
 * Messages delivered to this process and not yet settled (acked, nacked or
 * terminated). While a message waits for a slot or for Temporal, a progress
 * acknowledgement keeps the server from redelivering it elsewhere, so the
 * consumer's ack wait can stay short and a crashed intake's messages come
 * back quickly. Only messages held for half a heartbeat or longer are
 * marked: the first mark still comes well within the ack wait (at most one
 * and a half heartbeats after receipt), and a backlog that moves fast costs
 * no marks at all.
 */
export class InFlight {
  /** Held messages with when each arrived; insertion order is arrival order. */
  private readonly messages = new Map<JsMsg, number>();
  private timer: NodeJS.Timeout | undefined;

  /** @param heartbeatMs how often each unsettled message is marked in progress; well under the ack wait. */
  constructor(private readonly heartbeatMs: number) {}

  /** Messages held right now. */
  get size(): number {
    return this.messages.size;
  }

  /** Starts the progress heartbeat. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const cutoff = performance.now() - this.heartbeatMs / 2;
      for (const [msg, since] of this.messages) {
        if (since > cutoff) break;
        msg.working();
      }
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /** Stops the heartbeat; messages still held are left to the server's ack wait. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Holds a freshly delivered message. */
  add(msg: JsMsg): void {
    if (!this.messages.has(msg)) this.messages.set(msg, performance.now());
  }

  /** Releases a message once it is settled, whichever way. */
  settle(msg: JsMsg): void {
    this.messages.delete(msg);
  }
}
