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

/** Throws PortInUseError naming the port, its purpose and the flag that moves it. */
export async function assertPortFree(port: number, purpose: string, flag: string, host = '127.0.0.1'): Promise<void> {
  if ((await tryListen(port, host)) === undefined) throw new PortInUseError(port, purpose, flag);
}

/** A currently free loopback port chosen by the kernel. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const port = await tryListen(0, host);
  if (port === undefined) throw new Error('could not find a free port');
  return port;
}

/** Distinct free ports; kept bound until all are chosen so none repeats. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      const server = createServer();
      return new Promise<{ server: ReturnType<typeof createServer>; port: number }>((ok, fail) => {
        server.once('error', fail);
        server.listen({ port: 0, host }, () => {
          const addr = server.address();
          ok({ server, port: typeof addr === 'object' && addr ? addr.port : 0 });
        });
      });
    }),
  );
  await Promise.all(servers.map(({ server }) => new Promise((ok) => server.close(ok))));
  return servers.map(({ port }) => port);
}
