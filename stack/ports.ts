import { createServer } from 'node:net';

/** A port the stack needs is already taken by another process. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
  constructor(
    readonly port: number,
    readonly purpose: string,
    readonly flag: string,
  ) {
    super(`port ${port} (${purpose}) is already in use; stop whatever holds it or choose another with ${flag}`);
  }
}

function tryListen(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(undefined));
    server.listen({ port, host, exclusive: true }, () => {
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : undefined;
      server.close(() => resolvePort(bound));
    });
  });
}

/**
 * Runs `start` (which picks its own ports) again when it fails with a
 * PortInUseError: another process may take a port between picking and
 * binding, and a clash then costs one more pick. Gives up after `attempts`.
 */
export async function retryOnPortClash<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= attempts) throw err;
    }
  }
}

/** Throws PortInUseError naming the port, its purpose and the flag that moves it. */
export async function assertPortFree(port: number, purpose: string, flag: string, host = '127.0.0.1'): Promise<void> {
  if ((await tryListen(port, host)) === undefined) throw new PortInUseError(port, purpose, flag);
}

/*
 * Ports for private stacks are drawn below the kernel's ephemeral range
 * (32768-60999 on Linux). Ports the kernel hands out for bind(0) and for
 * outgoing connections come from that range, and the Temporal dev server
 * takes four of its internal ports that way, so a port picked there can be
 * taken by someone else between our check and the server's bind.
 */
const PICK_LOW = 10_000;
const PICK_HIGH = 32_767;
/** Ports this process handed out lately, not handed out again while the stack that got them may still be binding. */
const handedOut = new Set<number>();
const HANDED_OUT_LIMIT = 2_000;

/** A currently free loopback port, below the ephemeral range. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  if (port === undefined) throw new Error('could not find a free port');
  return port;
}

/** Distinct free loopback ports, drawn at random below the ephemeral range and each checked by binding it. */
export async function freePorts(count: number, host = '127.0.0.1', attempts = 50 * count + 100): Promise<number[]> {
  const chosen: number[] = [];
  for (let i = 0; i < attempts && chosen.length < count; i++) {
    const port = PICK_LOW + Math.floor(Math.random() * (PICK_HIGH - PICK_LOW + 1));
    if (handedOut.has(port) || chosen.includes(port)) continue;
    if ((await tryListen(port, host)) === port) chosen.push(port);
  }
  if (chosen.length < count) throw new Error(`found only ${chosen.length} of ${count} free ports between ${PICK_LOW} and ${PICK_HIGH}`);
  for (const port of chosen) handedOut.add(port);
  if (handedOut.size > HANDED_OUT_LIMIT) for (const old of [...handedOut].slice(0, handedOut.size - HANDED_OUT_LIMIT)) handedOut.delete(old);
  return chosen;
}
