import type { Server } from 'node:http';
import { buildApiApp, type ApiServerOptions } from './app';

export { DEFAULT_AUTH_FAILURES_PER_MINUTE, type ApiServerOptions } from './app';

/** Starts the approval API (api/app.ts) on loopback unless told otherwise; close it with closeHttpServer. */
export async function startApiServer(opts: ApiServerOptions): Promise<Server> {
  const app = await buildApiApp(opts);
  await app.listen({ port: opts.port, host: opts.host ?? '127.0.0.1' });
  return app.server;
}
