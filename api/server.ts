import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { fullIncidentId } from '../incidents/incident-ref';
import { listIncidents } from '../incidents/list-incidents';
import { incidentsQuery, InvalidFilterError, sinceToIso } from '../incidents/query';
import { readIncidentState } from '../incidents/read-incident';
import type { Logger } from '../observability/logger';
import { readBody, sendJson, startHttpServer, type Route } from '../observability/http-server';
import { refuseUnread } from '../observability/refuse-unread';
import { Counter, type Registry } from 'prom-client';
import { metricsRoute, registry as processRegistry } from '../observability/metrics';
import { createRateLimiter } from '../observability/rate-limit';
import { createApprovalMetrics } from './approval-metrics';
import type { AuditSink } from '../audit/audit-stream';
import type { Authenticator } from './auth';
import { DecisionBody, submitDecision } from './decisions';
import { DRILL_ID_PATTERN, DrillDecisionBody, readDrillState, submitDrillDecision } from './drill-decisions';
import { approveDrillSchedule, ScheduleApprovalBody } from './drill-schedule-approval';

/** What the approval API needs. */
export interface ApiServerOptions {
  client: Client;
  auth: Authenticator;
  logger: Logger;
  port: number;
  host?: string;
  /** The decision key every decision is signed with (config/decision-key.ts); never logged. */
  decisionKey: Buffer;
  /** See {@link submitDecision}. */
  updateWaitMs?: number;
  /** Where every decision attempt is also recorded. */
  audit?: AuditSink;
  /** The roster, read at each drill-schedule approval to check the approver's groups (workflows check the rest themselves). */
  rosterFile?: string | undefined;
  /** Registry for the approval metrics; the process registry by default. */
  registry?: Registry;
  /** Failed authentications one client address may have per minute before it gets 429. @default {@link DEFAULT_AUTH_FAILURES_PER_MINUTE} */
  authFailuresPerMinute?: number;
  /** Clock for the failed-authentication limit (ms). @default Date.now */
  now?: () => number;
}

/** @default 10 failed authentications per client address per minute. */
export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 10;

const BODY_LIMIT = 16 * 1024;

/** The body checked against `schema`, or undefined once an error has been answered (too large, not JSON, or naming each invalid field). */
async function readValidBody<T>(req: IncomingMessage, res: ServerResponse, schema: z.ZodType<T>): Promise<T | undefined> {
  const json = await readJsonBody(req, res);
  if (json === undefined) return undefined;
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  sendJson(res, 400, { error: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
  return undefined;
}

/** The JSON body, or undefined once an error has been answered (too large, not JSON). */
async function readJsonBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  // A declared size over the limit is refused without buffering any of it; either way the connection is closed once the sender is done.
  const declared = Number(req.headers['content-length'] ?? NaN);
  const raw = declared > BODY_LIMIT ? undefined : await readBody(req, BODY_LIMIT);
  if (!raw) {
    refuseUnread(req, res, 413, { error: `body larger than ${BODY_LIMIT} bytes` });
    return undefined;
  }
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    sendJson(res, 400, { error: 'body is not JSON' });
    return undefined;
  }
}

/** `/incidents/<service>/<target>[/<run>][/decisions]` or with the full id URL-encoded. */
function parseIncidentPath(pathname: string): { incidentId: string; decisions: boolean } | undefined {
  if (!pathname.startsWith('/incidents/')) return undefined;
  let rest = pathname.slice('/incidents/'.length);
  const decisions = rest.endsWith('/decisions');
  if (decisions) rest = rest.slice(0, -'/decisions'.length);
  let id: string;
  try {
    id = fullIncidentId(decodeURIComponent(rest));
  } catch {
    return undefined;
  }
  // A scheduled run's incident has a third segment: incident/<service>/<target>/<runbook>-<time>.
  return /^incident\/[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)?$/.test(id) ? { incidentId: id, decisions } : undefined;
}

/**
 * The approval API: `GET /incidents`, `GET /incidents/{id}`,
 * `POST /incidents/{id}/decisions`, `GET /drills/{id}`,
 * `POST /drills/{id}/decisions` and `POST /drill-schedules/{id}/approval`,
 * each behind a bearer token; `/healthz`
 * and `/metrics` are open and say nothing of tokens or identities. Failed
 * authentications are limited per client address: once an address has used
 * its allowance it gets 429 with Retry-After on every guarded request, and
 * its token is not even looked at, so guessing gains nothing; successful
 * requests spend none of the allowance. A path with a `.` or `..` segment is refused with
 * 400 before anything else, health and auth included: which routes are open
 * is itself decided by the path, so a path that normalises into another one
 * must not reach that decision. The refusal names only the sent path.
 */
export function apiRoutes(opts: ApiServerOptions): Route[] {
  const { client, auth, logger } = opts;
  const registry = opts.registry ?? processRegistry;
  const metrics = createApprovalMetrics(registry, client);
  const perMinute = opts.authFailuresPerMinute ?? DEFAULT_AUTH_FAILURES_PER_MINUTE;
  const failures = createRateLimiter({ capacity: perMinute, refillPerSecond: perMinute / 60, ...(opts.now ? { now: opts.now } : {}) });
  const refused = new Counter({
    name: 'runbook_api_auth_refused_total',
    help: 'Requests to the approval API refused before authentication succeeded: invalid_token (401) or rate_limited (429, too many failures from one address).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const guarded: Route = async (req, res, url) => {
    if (url.pathname !== '/incidents' && !url.pathname.startsWith('/incidents/') && !url.pathname.startsWith('/drills/') && !url.pathname.startsWith('/drill-schedules/')) return false;
    const address = req.socket.remoteAddress ?? 'unknown';
    const allowance = failures.peek(address);
    if (!allowance.allowed) {
      refused.inc({ reason: 'rate_limited' });
      res.setHeader('retry-after', String(allowance.retryAfterSeconds));
      sendJson(res, 429, { error: `too many failed authentications from this address; retry after ${allowance.retryAfterSeconds} s` });
      return true;
    }
    const identity = await auth.identify(req);
    if (!identity) {
      failures.take(address);
      refused.inc({ reason: 'invalid_token' });
      logger.warn('request with a missing or unknown bearer token refused', { address, path: url.pathname });
      res.setHeader('www-authenticate', 'Bearer');
      sendJson(res, 401, { error: 'a valid bearer token is required' });
      return true;
    }
    if (url.pathname.startsWith('/drills/')) return drillRoute(req, res, url, identity);
    if (url.pathname.startsWith('/drill-schedules/')) return scheduleApprovalRoute(req, res, url, identity);
    if (url.pathname === '/incidents') {
      if (req.method !== 'GET') return false;
      const p = url.searchParams;
      let query: string;
      try {
        const since = p.get('since');
        query = incidentsQuery({
          ...(p.get('service') ? { service: p.get('service') ?? '' } : {}),
          ...(p.get('status') ? { status: p.get('status') ?? '' } : {}),
          ...(since ? { since: sinceToIso(since, new Date()) } : {}),
          open: p.get('open') === 'true',
        });
      } catch (err) {
        if (!(err instanceof InvalidFilterError)) throw err;
        sendJson(res, 400, { error: err.message });
        return true;
      }
      sendJson(res, 200, { incidents: await listIncidents(client, query, Math.min(Number(p.get('limit') ?? 100) || 100, 1000)) });
      return true;
    }
    const target = parseIncidentPath(url.pathname);
    if (!target) {
      sendJson(res, 404, { error: 'not an incident id' });
      return true;
    }
    if (!target.decisions && req.method === 'GET') {
      try {
        sendJson(res, 200, await readIncidentState(client, target.incidentId));
      } catch (err) {
        sendJson(res, err instanceof WorkflowNotFoundError ? 404 : 503, { error: `cannot read ${target.incidentId}: ${(err as Error).message}` });
      }
      return true;
    }
    if (!target.decisions || req.method !== 'POST') return false;
    const body = await readValidBody(req, res, DecisionBody);
    if (body === undefined) return true;
    const reply = await submitDecision(client, target.incidentId, identity, body, { decisionKey: opts.decisionKey, audit: opts.audit, ...(opts.updateWaitMs !== undefined ? { updateWaitMs: opts.updateWaitMs } : {}) });
    if (reply.body.ack) metrics.decided(reply.body.ack);
    logger.info('decision', { incidentId: target.incidentId, identity, verdict: body.verdict, status: reply.status, refusal: reply.body.refusal });
    sendJson(res, reply.status, reply.body);
    return true;
  };
  const drillRoute = async (req: IncomingMessage, res: ServerResponse, url: URL, identity: string): Promise<boolean> => {
    const decisions = url.pathname.endsWith('/decisions');
    let drillId: string;
    try {
      drillId = decodeURIComponent(url.pathname.slice('/drills/'.length, decisions ? -'/decisions'.length : undefined));
    } catch {
      drillId = '';
    }
    if (!DRILL_ID_PATTERN.test(drillId)) {
      sendJson(res, 404, { error: 'not a drill id (drill/<service>/<target>/<runbook>/<stamp>, URL-encoded)' });
      return true;
    }
    if (!decisions && req.method === 'GET') {
      try {
        sendJson(res, 200, await readDrillState(client, drillId));
      } catch (err) {
        sendJson(res, err instanceof WorkflowNotFoundError ? 404 : 503, { error: `cannot read ${drillId}: ${(err as Error).message}` });
      }
      return true;
    }
    if (!decisions || req.method !== 'POST') return false;
    const body = await readValidBody(req, res, DrillDecisionBody);
    if (body === undefined) return true;
    const reply = await submitDrillDecision(client, drillId, identity, body, { decisionKey: opts.decisionKey, audit: opts.audit });
    logger.info('drill decision', { drillId, identity, verdict: body.verdict, status: reply.status, refusal: reply.body.refusal });
    sendJson(res, reply.status, reply.body);
    return true;
  };
  const scheduleApprovalRoute = async (req: IncomingMessage, res: ServerResponse, url: URL, identity: string): Promise<boolean> => {
    if (!url.pathname.endsWith('/approval') || req.method !== 'POST') return false;
    let scheduleId = '';
    try {
      scheduleId = decodeURIComponent(url.pathname.slice('/drill-schedules/'.length, -'/approval'.length));
    } catch {
      // Answered below as not a schedule id.
    }
    if (!/^[a-z][a-z0-9_-]{0,63}\/[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+\/drill$/.test(scheduleId)) {
      sendJson(res, 404, { error: 'not a drill schedule id (<runbook>/<service>/<target>/drill, URL-encoded)' });
      return true;
    }
    const body = await readValidBody(req, res, ScheduleApprovalBody);
    if (body === undefined) return true;
    const reply = await approveDrillSchedule(client, scheduleId, identity, body, { decisionKey: opts.decisionKey, rosterFile: opts.rosterFile, audit: opts.audit });
    logger.info('drill schedule approval', { scheduleId, identity, status: reply.status, refusal: reply.body.refusal });
    sendJson(res, reply.status, reply.body);
    return true;
  };
  const health: Route = (req, res, url) => {
    if (url.pathname !== '/healthz') return false;
    sendJson(res, 200, { ok: true });
    return true;
  };
  return [health, metricsRoute(registry), guarded];
}

/** Starts the approval API on loopback. */
export function startApiServer(opts: ApiServerOptions): Promise<Server> {
  return startHttpServer(opts.port, apiRoutes(opts), opts.host);
}
