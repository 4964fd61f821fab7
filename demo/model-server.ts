import { appendFile, readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { CanaryQuery, CanaryRecord, firstIssue, readCanary, type CanaryReading } from '../schemas/canary';

/**
 * The demo service: answers predictions from the model files in its own data
 * directory, the state a failover has to carry to the standby. Files are read
 * on every request so a sync shows at once. Drills' canary records are kept in
 * the same directory, so replication, backups and restores carry them as they
 * carry the model.
 */

/** The model file each instance serves from its data directory. */
export const MODEL_FILE = 'model.json';

/** The drills' write canary, one JSON record a line, in the data directory. */
export const CANARY_FILE = 'canary.jsonl';

/** Largest canary POST body accepted; a record is well under 300 bytes. */
const CANARY_BODY_LIMIT = 4_096;

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

/** A canary request the server refuses, with the status it answers. */
class BadRequest extends Error {
  override name = 'BadRequest';
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // An oversized body is read to its end and dropped, so the 413 still reaches the client.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= CANARY_BODY_LIMIT) chunks.push(chunk);
    });
    req.on('end', () => (size > CANARY_BODY_LIMIT ? reject(new BadRequest(`body: larger than ${CANARY_BODY_LIMIT} bytes`, 413)) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

async function writeCanary(dataDir: string, req: http.IncomingMessage): Promise<CanaryRecord> {
  const text = await readBody(req);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BadRequest('body: must be a JSON object');
  }
  const parsed = CanaryRecord.safeParse(json);
  if (!parsed.success) throw new BadRequest(firstIssue(parsed.error));
  // No mkdir: a data directory that is gone (a lost disk) must fail the write, not be recreated.
  await appendFile(join(dataDir, CANARY_FILE), `${JSON.stringify(parsed.data)}\n`);
  return parsed.data;
}

async function readCanaryFile(dataDir: string): Promise<CanaryRecord[]> {
  const text = await readFile(join(dataDir, CANARY_FILE), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  // A line cut short (a copy taken mid-write) is skipped rather than failing every read.
  return text.split('\n').flatMap((line) => {
    if (line === '') return [];
    try {
      const r = CanaryRecord.safeParse(JSON.parse(line));
      return r.success ? [r.data] : [];
    } catch {
      return [];
    }
  });
}

async function handleCanary(opts: { name: string; dataDir: string }, req: http.IncomingMessage, url: URL, res: http.ServerResponse): Promise<void> {
  if (req.method === 'POST') {
    const record = await writeCanary(opts.dataDir, req);
    return send(res, 201, { instance: opts.name, seq: record.seq, at: record.at });
  }
  if (req.method !== 'GET') return send(res, 405, { error: 'method: use GET or POST' });
  const query = CanaryQuery.safeParse({ drill: url.searchParams.get('drill') ?? undefined, before: url.searchParams.get('before') ?? undefined });
  if (!query.success) throw new BadRequest(firstIssue(query.error));
  const body: CanaryReading = { instance: opts.name, ...readCanary(await readCanaryFile(opts.dataDir), query.data) };
  return send(res, 200, body);
}

/** Starts the model server; resolves once it listens. */
export async function startModelServer(opts: { name: string; port: number; dataDir: string }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/canary') {
      handleCanary(opts, req, url, res).catch((err: unknown) => {
        if (err instanceof BadRequest) return send(res, err.status, { error: err.message });
        return send(res, 503, { ok: false, instance: opts.name, error: `canary unavailable: ${(err as Error).message}` });
      });
      return;
    }
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
