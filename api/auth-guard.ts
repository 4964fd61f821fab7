import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../observability/logger';
import { bearerToken, type Authenticator } from './auth';
import { SESSION_COOKIE, type ConsoleSessions } from './console-sessions';

/** Who is asking, and through which channel their decisions are recorded. */
export interface Caller {
  identity: string;
  /** `http` for a bearer token (CLI, scripts), `console` for a signed-in console session. */
  channel: 'http' | 'console';
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
}

/** What the guard needs. */
export interface GuardOptions {
  auth: Authenticator;
  sessions: ConsoleSessions;
  logger: Logger;
  registry: Registry;
  /** Failed authentications one address may have per window before it gets 429. */
  failuresPerWindow: number;
  windowMs: number;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Authenticates every route registered in `scope`: a bearer token, or the
 * console's session cookie (whose unsafe requests must also carry the CSRF
 * token the session was given). Failed authentications are counted per
 * client address by @fastify/rate-limit; an address that has used its
 * allowance gets 429 on every guarded request until the window ends, and its
 * token is not even looked at, so guessing gains nothing. Successful
 * requests spend none of the allowance.
 */
export function registerAuthGuard(scope: FastifyInstance, opts: GuardOptions): void {
  const refused = new Counter({
    name: 'runbook_api_auth_refused_total',
    help: 'Requests to the approval API refused before authentication succeeded: invalid_token (401) or rate_limited (429, too many failures from one address).',
    labelNames: ['reason'],
    registers: [opts.registry],
  });
  const failures = scope.createRateLimit({ max: opts.failuresPerWindow, timeWindow: opts.windowMs, keyGenerator: (req) => req.ip });
  scope.decorateRequest('caller', null as unknown as Caller);
  scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const seen = await failures(req, { increment: false });
    if (!seen.isAllowed && seen.remaining === 0 && seen.ttl > 0) {
      refused.inc({ reason: 'rate_limited' });
      reply.header('retry-after', String(seen.ttlInSeconds));
      return reply.code(429).send({ error: `too many failed authentications from this address; retry after ${seen.ttlInSeconds} s` });
    }
    const caller = await callerOf(req, opts);
    if (!caller) {
      await failures(req);
      refused.inc({ reason: 'invalid_token' });
      opts.logger.warn('request with a missing or unknown bearer token refused', { address: req.ip, path: req.url.split('?')[0] });
      reply.header('www-authenticate', 'Bearer');
      return reply.code(401).send({ error: 'a valid bearer token is required' });
    }
    req.caller = caller;
    return undefined;
  });
  // A cookie is sent by the browser whoever made the page; the CSRF token only by our own pages.
  scope.addHook('onRequest', (req, reply, done) => {
    if (req.caller.channel === 'console' && UNSAFE.has(req.method)) scope.csrfProtection(req, reply, done);
    else done();
  });
}

/** The caller a request authenticates as: its bearer token, else its console session. */
export async function callerOf(req: FastifyRequest, opts: Pick<GuardOptions, 'auth' | 'sessions'>): Promise<Caller | undefined> {
  const bearer = bearerToken(req.raw);
  if (bearer) {
    const identity = await opts.auth.identifyToken(bearer);
    return identity ? { identity, channel: 'http' } : undefined;
  }
  const session = req.cookies[SESSION_COOKIE];
  const token = session ? opts.sessions.token(session) : undefined;
  const identity = token ? await opts.auth.identifyToken(token) : undefined;
  return identity ? { identity, channel: 'console' } : undefined;
}
