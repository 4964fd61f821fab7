import type { JetStreamClient } from 'nats';
import { sendJson, type Route } from '../observability/http-server';
import type { Logger } from '../observability/logger';
import type { RateLimiter } from '../observability/rate-limit';
import type { AlertmanagerMapping } from '../schemas/alertmanager';
import { alertmanagerRoute } from './alertmanager-receiver';
import type { IntakeMetrics } from './metrics';
import type { WebhookAuthenticator } from './webhook-auth';

/** What the intake's HTTP routes need. */
export interface IntakeHttpDeps {
  js: JetStreamClient;
  logger: Logger;
  metrics: Pick<IntakeMetrics, 'alerts' | 'webhookUnauthorized' | 'webhookRateLimited'>;
  mapping: AlertmanagerMapping;
  /** Who may post to the receiver. */
  auth: WebhookAuthenticator;
  /** Requests per client address on the receiver. */
  limiter: RateLimiter;
  /** The server's `max_payload`, which bounds a dead letter. */
  maxPayload?: () => number;
  /** Undefined when healthy, else why not. */
  problem: () => string | undefined;
}

/** /healthz (open, and says nothing about the credential) and the Alertmanager receiver (POST /alertmanager). */
export function intakeHttpRoutes(deps: IntakeHttpDeps): Route[] {
  const health: Route = (_req, res, url) => {
    if (url.pathname !== '/healthz') return false;
    const problem = deps.problem();
    sendJson(res, problem === undefined ? 200 : 503, problem === undefined ? { healthy: true } : { healthy: false, problem });
    return true;
  };
  const receiver = alertmanagerRoute({
    js: deps.js,
    mapping: deps.mapping,
    logger: deps.logger.child({ route: 'alertmanager' }),
    metrics: deps.metrics,
    auth: deps.auth,
    limiter: deps.limiter,
    ...(deps.maxPayload ? { maxPayload: deps.maxPayload } : {}),
  });
  return [health, receiver];
}
