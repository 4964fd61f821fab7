import type { IncomingMessage, ServerResponse } from 'node:http';

/** @default 16 MiB of a refused body read and dropped before the connection is closed on the sender. */
export const DEFAULT_DRAIN_BYTES = 16 * 1024 * 1024;

/** @default 5 s for the sender of a refused body to finish before the connection is closed on it. */
export const DEFAULT_DRAIN_MS = 5_000;

/** How much of a refused body is read before giving up on the sender. */
export interface DrainBounds {
  /** @default {@link DEFAULT_DRAIN_BYTES} */
  maxBytes?: number;
  /** @default {@link DEFAULT_DRAIN_MS} */
  maxMs?: number;
}

/**
 * Answers with a JSON refusal a request whose body (the rest of it, if
 * some was read) will not be used, and closes the connection once the
 * sender is done. The whole answer is written at once, but the connection is
 * only ended after the rest of the body has been read and dropped: closing
 * it while the sender is still writing makes the kernel reset it, and the
 * reset discards the answer the sender has not read yet (the sender then
 * sees EPIPE or ECONNRESET instead of the status). Past `maxBytes` more
 * body, or `maxMs`, or when the declared Content-Length is already beyond
 * that, the connection is closed regardless: a sender that never stops
 * gets no more of our time.
 */
export function refuseUnread(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, bounds: DrainBounds = {}): void {
  const maxBytes = bounds.maxBytes ?? DEFAULT_DRAIN_BYTES;
  const maxMs = bounds.maxMs ?? DEFAULT_DRAIN_MS;
  const text = JSON.stringify(body);
  res.setHeader('connection', 'close');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  const declared = Number(req.headers['content-length'] ?? NaN);
  // Nothing more to wait for, or more than would be waited for: `connection: close` ends it now.
  if (req.readableEnded || req.destroyed || declared > maxBytes) {
    res.end(text);
    return;
  }
  res.write(text);
  let drained = 0;
  const stop = (): void => {
    clearTimeout(timer);
    req.off('data', onData).off('end', onEnd).off('close', stop).off('error', stop);
  };
  const giveUp = (): void => {
    stop();
    res.end();
    req.socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    drained += chunk.length;
    if (drained > maxBytes) giveUp();
  };
  const onEnd = (): void => {
    stop();
    res.end();
  };
  const timer = setTimeout(giveUp, maxMs);
  req.on('data', onData).once('end', onEnd).once('close', stop).once('error', stop);
  req.resume();
}
