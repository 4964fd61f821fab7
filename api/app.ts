import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { NatsConnection } from 'nats';
import type { Registry } from 'prom-client';
import type { AuditSink } from '../audit/audit-stream';
import type { Logger } from '../observability/logger';
import { registry as processRegistry } from '../observability/metrics';
import { createApprovalMetrics } from './approval-metrics';
import type { Authenticator } from './auth';
import { registerAuditRoutes } from './audit-routes';
import { registerAuthGuard, type GuardOptions } from './auth-guard';
import { registerConsolePages, registerConsoleSessionRoutes } from './console-routes';
import { createConsoleSessions, type ConsoleSessions } from './console-sessions';
import { registerControlRoutes } from './control-routes';
import { natsControlStore } from './control-store';
import { registerDeadLetterRoutes } from './dead-letter-routes';
import { registerDrillRoutes } from './drill-routes';
import { BODY_LIMIT, registerHttpPolicy } from './http-policy';
import { registerIncidentRoutes } from './incident-routes';
import { registerLiveEvents, type LiveEventOptions } from './live-events';
import { registerOpenRoutes } from './open-routes';
import { registerScheduleRoutes } from './schedule-routes';

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
  /** Failed authentications one client address may have per window before it gets 429. @default {@link DEFAULT_AUTH_FAILURES_PER_MINUTE} */
  authFailuresPerMinute?: number;
  /** The window those failures are counted in (ms). @default 60000 */
  authFailureWindowMs?: number;
  /** Console sign-ins; a fresh in-memory set by default. */
  sessions?: ConsoleSessions;
  /** Where the console links each incident in the Temporal UI; no link when unset. */
  temporalUiUrl?: string | undefined;
  /** The Temporal namespace, for those links. @default 'default' */
  namespace?: string;
  /**
   * The API's NATS connection (role `api`): the pause switch, dead letters,
   * drill reports and the audit stream's events for audit records. Without
   * it those routes answer 503 (audit records come from the history alone).
   */
  nats?: NatsConnection | undefined;
  /** Tuning of GET /events. */
  liveEvents?: LiveEventOptions;
}

/** @default 10 failed authentications per client address per minute. */
export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 10;

/**
 * The approval API as a Fastify application: request and response bodies
 * checked by our zod schemas (400 names each invalid field), the OpenAPI
 * document made from the same schemas, the console's pages at `/`, security headers by helmet, and
 * failed-authentication limits by @fastify/rate-limit. `/healthz`,
 * `/metrics` and `/openapi.json` are open; everything else is guarded.
 */
export async function buildApiApp(opts: ApiServerOptions): Promise<FastifyInstance> {
  const registry = opts.registry ?? processRegistry;
  // JSON.parse makes `__proto__` an own key (nothing is polluted), and every body schema is strict, so the 400 names the key.
  const app = Fastify({ bodyLimit: BODY_LIMIT, logger: false, return503OnClosing: true, forceCloseConnections: true, onProtoPoisoning: 'ignore', onConstructorPoisoning: 'ignore' });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await registerHttpPolicy(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'self-healing-runbooks approval API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: 'runbook_session' } } },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(cookie);
  await app.register(csrf, { sessionPlugin: '@fastify/cookie', cookieOpts: { httpOnly: true, sameSite: 'strict', path: '/', signed: false } });
  await app.register(rateLimit, { global: false });
  registerOpenRoutes(app, registry);
  const guard: GuardOptions = {
    auth: opts.auth,
    sessions: opts.sessions ?? createConsoleSessions(),
    logger: opts.logger,
    registry,
    failuresPerWindow: opts.authFailuresPerMinute ?? DEFAULT_AUTH_FAILURES_PER_MINUTE,
    windowMs: opts.authFailureWindowMs ?? 60_000,
  };
  const consoleOpts = { guard, temporalUiUrl: opts.temporalUiUrl, namespace: opts.namespace ?? 'default' };
  registerConsolePages(app, consoleOpts);
  const metrics = createApprovalMetrics(registry, opts.client);
  const control = opts.nats ? natsControlStore(opts.nats) : undefined;
  await app.register(async (guarded) => {
    registerAuthGuard(guarded, guard);
    registerConsoleSessionRoutes(guarded, consoleOpts);
    registerIncidentRoutes(guarded, { client: opts.client, logger: opts.logger, decisionKey: opts.decisionKey, metrics, updateWaitMs: opts.updateWaitMs, audit: opts.audit });
    registerDrillRoutes(guarded, { client: opts.client, logger: opts.logger, decisionKey: opts.decisionKey, audit: opts.audit, rosterFile: opts.rosterFile });
    registerControlRoutes(guarded, { control, logger: opts.logger, audit: opts.audit });
    registerDeadLetterRoutes(guarded, { nats: opts.nats, logger: opts.logger, audit: opts.audit });
    registerScheduleRoutes(guarded, { client: opts.client });
    registerAuditRoutes(guarded, { client: opts.client, nats: opts.nats, logger: opts.logger });
    registerLiveEvents(guarded, { client: opts.client, control, logger: opts.logger, ...opts.liveEvents });
  });
  return app;
}
