import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';

/**
 * The demo service: answers predictions from the model files in its own data
 * directory, the state a failover has to carry to the standby. Files are read
 * on every request so a sync shows at once.
 */

/** The model file each instance serves from its data directory. */
export const MODEL_FILE = 'model.json';

/** A polynomial model: y = bias + Σ weights[i]·x^(i+1). */
export const Model = z.object({
  version: z.int().positive(),
  bias: z.number(),
  weights: z.array(z.number()).min(1),
});
export type Model = z.infer<typeof Model>;

/** What `/predict` answers. */
export const Prediction = z.object({ instance: z.string(), modelVersion: z.int(), x: z.number(), y: z.number() });
export type Prediction = z.infer<typeof Prediction>;

/** Evaluates the model at x. */
export function predict(model: Model, x: number): number {
  return model.weights.reduce((sum, w, i) => sum + w * x ** (i + 1), model.bias);
}

async function loadModel(dataDir: string): Promise<Model> {
  return Model.parse(JSON.parse(await readFile(join(dataDir, MODEL_FILE), 'utf8')));
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Starts the model server; resolves once it listens. */
export async function startModelServer(opts: { name: string; port: number; dataDir: string }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    loadModel(opts.dataDir).then(
      (model) => {
        if (url.pathname === '/health') return send(res, 200, { ok: true, instance: opts.name, modelVersion: model.version });
        if (url.pathname === '/predict') {
          const x = Number(url.searchParams.get('x') ?? '0');
          if (!Number.isFinite(x)) return send(res, 400, { error: 'x must be a number' });
          const body: Prediction = { instance: opts.name, modelVersion: model.version, x, y: predict(model, x) };
          return send(res, 200, body);
        }
        return send(res, 404, { error: 'not found' });
      },
      (err: unknown) => send(res, 503, { ok: false, instance: opts.name, error: `model unavailable: ${(err as Error).message}` }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', resolve);
  });
  return server;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { name: { type: 'string' }, port: { type: 'string' }, 'data-dir': { type: 'string' } },
    strict: true,
  });
  const port = Number(values.port);
  if (!values.name || !values['data-dir'] || !Number.isInteger(port) || port <= 0) {
    throw new Error('usage: model-server --name NAME --port PORT --data-dir DIR');
  }
  const server = await startModelServer({ name: values.name, port, dataDir: values['data-dir'] });
  process.stdout.write(`${values.name} serving predictions on 127.0.0.1:${port} from ${values['data-dir']}\n`);
  const stop = (): void => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`model-server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
