import { InvalidSpecError } from './adapters/errors';
import { probe } from './adapters/probe';
import type { ProbeSpec } from '../schemas/probe-spec';
import { parseDuration } from '../schemas/runbook';
import type { ProbeAction, ProbeTarget, VerifyAction } from '../schemas/runbook';
import { ProbeUnhealthyError } from './action-errors';
import { performed } from './action-context';
import { probeData } from './data-probe';
import type { ProbeOutcome, ProbeRequest, ActionResult } from './types';

/** Runbook HTTP probes accept any 2xx unless they name a status. */
const ANY_2XX = { min: 200, max: 299 };

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Translates a runbook probe target (snake_case, substring body match) into the adapter's spec. */
export function toProbeSpec(target: ProbeTarget, timeoutMs: number): ProbeSpec {
  if (target.http) {
    const h = target.http;
    return {
      kind: 'http',
      url: h.url,
      expectStatus: h.expect_status ?? ANY_2XX,
      ...(h.body_match === undefined ? {} : { bodyMatch: escapeRegExp(h.body_match) }),
      ...(h.max_latency === undefined ? {} : { maxLatencyMs: parseDuration(h.max_latency) }),
      timeoutMs,
    };
  }
  if (target.tcp) return { kind: 'tcp', host: target.tcp.host, port: target.tcp.port, timeoutMs };
  if (target.command) {
    return { kind: 'command', argv: target.command.argv, expectExitCode: target.command.expect_exit_code, timeoutMs };
  }
  // A data target never gets here: probeOnce checks it without the adapter.
  throw new InvalidSpecError('a probe target needs one of http, tcp or command');
}

/** Names a target for messages without any credentials a URL may carry. */
export function describeTarget(target: ProbeTarget): string {
  if (target.http) {
    try {
      const url = new URL(target.http.url);
      return `${url.origin}${url.pathname}`;
    } catch {
      return 'http target';
    }
  }
  if (target.tcp) return `tcp ${target.tcp.host}:${target.tcp.port}`;
  if (target.data) return `data ${target.data.path}`;
  return `command ${target.command?.argv[0] ?? ''}`;
}

// The adapter reports the HTTP status and exit code only in its detail text,
// in the fixed forms "HTTP 503 ..." and "[argv0 ]exited 3 ...".
function statusOf(detail: string): number | undefined {
  const m = /^HTTP (\d{3})\b/.exec(detail);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function exitCodeOf(detail: string, argv0: string): number | undefined {
  const rest = detail.startsWith(`${argv0} exited `) ? detail.slice(argv0.length + 1) : detail;
  const m = /^exited (\d+)\b/.exec(rest);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** Checks a target once. Unhealthy is `ok: false`; only a bad spec or a forbidden command throws. */
export async function probeOnce(req: ProbeRequest): Promise<ProbeOutcome> {
  if (req.target.data) return probeData(req.target.data);
  const result = await probe(toProbeSpec(req.target, req.timeoutMs), { commandAllowList: req.allowedExecutables });
  const outcome: ProbeOutcome = { ok: result.ok, latency_ms: result.latencyMs, detail: result.detail };
  if (req.target.http) {
    const status = statusOf(result.detail);
    if (status !== undefined) outcome.status = status;
  }
  if (req.target.command) {
    const exitCode = exitCodeOf(result.detail, req.target.command.argv[0] ?? '');
    if (exitCode !== undefined) outcome.exit_code = exitCode;
  }
  return outcome;
}

/**
 * A `probe` or `verify` step. Both report the outcome as output; `verify`
 * also fails (retryably, type ProbeUnhealthy) when the target is unhealthy,
 * so the step's retry policy gives the fix time to take.
 */
export async function runProbeAction(action: ProbeAction | VerifyAction, allowedExecutables: string[]): Promise<ActionResult> {
  const outcome = await probeOnce({ target: action.target, timeoutMs: parseDuration(action.timeout), allowedExecutables });
  const what = describeTarget(action.target);
  if (action.kind === 'verify' && !outcome.ok) {
    throw new ProbeUnhealthyError(`verify ${what}: ${outcome.detail}`);
  }
  const state = outcome.ok ? 'healthy' : 'unhealthy';
  return performed(`${action.kind} ${what}: ${state} (${outcome.detail}, ${outcome.latency_ms} ms)`, { ...outcome });
}
