import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { z } from 'zod';
import {
  ProbeSpec,
  type CommandProbeSpec,
  type ExpectStatus,
  type HttpProbeSpec,
  type TcpProbeSpec,
} from '../../schemas/probe-spec';
import { runCommand } from './command';
import { InvalidSpecError, isAdapterError } from './errors';

/** How much of an HTTP body is read for `bodyMatch`. @default 65536 */
export const PROBE_BODY_LIMIT_BYTES = 64 * 1024;

/** Outcome of one probe. `detail` says why it failed, or what was seen. */
export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  detail: string;
}

/** Options that come from the worker's policy rather than the probe spec. */
export interface ProbeOptions {
  /** When set, command probes must name a program in this list (rule as in runCommand). */
  commandAllowList?: readonly string[];
}

/**
 * Checks a target once. Unhealthy targets give `ok: false` and never throw;
 * only an invalid spec (or a command not in the allow-list) throws.
 */
export async function probe(input: ProbeSpec, options: ProbeOptions = {}): Promise<ProbeResult> {
  const parsed = ProbeSpec.safeParse(input);
  if (!parsed.success) throw new InvalidSpecError(`invalid probe: ${z.prettifyError(parsed.error)}`);
  const spec = parsed.data;
  switch (spec.kind) {
    case 'http':
      return probeHttp(spec);
    case 'tcp':
      return probeTcp(spec);
    case 'command':
      return probeCommand(spec, options);
  }
}

function statusExpected(status: number, expect: ExpectStatus | undefined): boolean {
  if (expect === undefined) return status >= 200 && status <= 399;
  if (typeof expect === 'number') return status === expect;
  if (Array.isArray(expect)) return expect.includes(status);
  return status >= expect.min && status <= expect.max;
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

function probeHttp(spec: HttpProbeSpec): Promise<ProbeResult> {
  const started = performance.now();
  const url = new URL(spec.url);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<ProbeResult>((resolve) => {
    let done = false;
    const finish = (ok: boolean, detail: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      const latencyMs = elapsed(started);
      if (ok && spec.maxLatencyMs !== undefined && latencyMs > spec.maxLatencyMs) {
        resolve({ ok: false, latencyMs, detail: `${detail}, but took ${latencyMs} ms (max ${spec.maxLatencyMs})` });
        return;
      }
      resolve({ ok, latencyMs, detail });
    };
    const req = client.request(url, { method: spec.method ?? 'GET', agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      if (!statusExpected(status, spec.expectStatus)) {
        finish(false, `HTTP ${status} not expected`);
        return;
      }
      if (spec.bodyMatch === undefined) {
        finish(true, `HTTP ${status}`);
        return;
      }
      const pattern = new RegExp(spec.bodyMatch);
      const chunks: Buffer[] = [];
      let size = 0;
      const check = (): void => {
        const matched = pattern.test(Buffer.concat(chunks).toString('utf8'));
        finish(matched, matched ? `HTTP ${status}, body matches` : `HTTP ${status}, body does not match /${spec.bodyMatch}/`);
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= PROBE_BODY_LIMIT_BYTES) check();
      });
      res.on('end', check);
      res.on('error', (err) => finish(false, `response error: ${err.message}`));
    });
    req.on('error', (err) => finish(false, `request failed: ${err.message}`));
    const timer = setTimeout(() => finish(false, `no answer within ${spec.timeoutMs} ms`), spec.timeoutMs);
    req.end();
  });
}

function probeTcp(spec: TcpProbeSpec): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise<ProbeResult>((resolve) => {
    const socket = net.connect({ host: spec.host, port: spec.port });
    const finish = (ok: boolean, detail: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, latencyMs: elapsed(started), detail });
    };
    const timer = setTimeout(() => finish(false, `no connection within ${spec.timeoutMs} ms`), spec.timeoutMs);
    socket.once('connect', () => finish(true, `connected to ${spec.host}:${spec.port}`));
    socket.once('error', (err) => finish(false, `connect failed: ${err.message}`));
  });
}

async function probeCommand(spec: CommandProbeSpec, options: ProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  const argv0 = spec.argv[0] as string;
  const expected = spec.expectExitCode ?? 0;
  try {
    await runCommand({
      argv: spec.argv,
      allowList: options.commandAllowList ? [...options.commandAllowList] : [argv0],
      timeoutMs: spec.timeoutMs,
      maxOutputBytes: 4096,
      dryRun: false,
    });
    return { ok: expected === 0, latencyMs: elapsed(started), detail: `exited 0${expected === 0 ? '' : `, expected ${expected}`}` };
  } catch (err) {
    if (!isAdapterError(err) || err.type === 'InvalidSpec' || err.type === 'NotAllowed') throw err;
    const exitCode = 'exitCode' in err ? (err.exitCode as number | null) : null;
    if (exitCode !== null && exitCode === expected) {
      return { ok: true, latencyMs: elapsed(started), detail: `exited ${exitCode} as expected` };
    }
    return { ok: false, latencyMs: elapsed(started), detail: err.message };
  }
}
