import type { JsMsg } from 'nats';

/**
 * Messages delivered to this process and not yet settled (acked, nacked or
 * terminated). While a message waits for a slot or for Temporal, a progress
 * acknowledgement keeps the server from redelivering it elsewhere, so the
 * consumer's ack wait can stay short and a crashed intake's messages come
 * back quickly.
 */
export class InFlight {
  private readonly messages = new Set<JsMsg>();
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
      for (const msg of this.messages) msg.working();
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
    this.messages.add(msg);
  }

  /** Releases a message once it is settled, whichever way. */
  settle(msg: JsMsg): void {
    this.messages.delete(msg);
  }
}
