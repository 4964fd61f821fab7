import helmet from '@fastify/helmet';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { dotSegmentRefusal } from '../observability/request-path';
import { refuseUnread } from '../observability/refuse-unread';

/** Largest request body the API reads: decisions and approvals are a few hundred bytes. */
export const BODY_LIMIT = 16 * 1024;

/**
 * The headers every JSON answer carries (observability/http-server.ts's
 * SECURITY_HEADERS), set through helmet with nothing of its defaults: the API
 * is not a web page, so a browser may not sniff, frame, run or refer from it.
 * The console's pages widen only the content policy (api/console-routes.ts).
 */
export const API_HELMET = {
  global: true,
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginEmbedderPolicy: false,
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: false,
  originAgentCluster: false,
  referrerPolicy: { policy: 'no-referrer' as const },
  strictTransportSecurity: false,
  xContentTypeOptions: true,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xFrameOptions: { action: 'deny' as const },
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
};

/** `path: message` for each invalid field, `body` (or the part) when the whole value is wrong. */
function fieldErrors(err: FastifyError): string {
  if (!hasZodFastifySchemaValidationErrors(err)) return err.message;
  const part = err.validationContext ?? 'body';
  return err.validation
    .map((v) => {
      const path = v.instancePath.split('/').filter(Boolean).join('.');
      return `${path || part}: ${v.message}`;
    })
    .join('; ');
}

/**
 * What every route of the API shares: security headers, no caching, the
 * dot-segment refusal before anything else (routing and authentication
 * would otherwise see the normalised path), and the answers for invalid,
 * oversized and unroutable requests, all as `{ error }` JSON.
 */
export async function registerHttpPolicy(app: FastifyInstance): Promise<void> {
  await app.register(helmet, API_HELMET);
  app.addHook('onRequest', async (req, reply) => {
    const refusal = dotSegmentRefusal(req.raw.url ?? '/');
    if (refusal !== undefined) return reply.code(400).send({ error: refusal });
    return undefined;
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // Fastify would answer and close while the sender is still writing; the reset loses the 413.
      reply.hijack();
      for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) reply.raw.setHeader(name, value);
      reply.raw.setHeader('cache-control', 'no-store');
      refuseUnread(req.raw, reply.raw, 413, { error: `body larger than ${BODY_LIMIT} bytes` });
      return;
    }
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
      return reply.code(400).send({ error: 'body is not JSON' });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send({ error: `content-type ${JSON.stringify(req.headers['content-type'] ?? '')} is not accepted; send application/json` });
    if (err.validation) return reply.code(400).send({ error: fieldErrors(err) });
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    req.log.error(err);
    return reply.code(500).send({ error: err.message });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route for ${req.method} ${req.url.split('?')[0] ?? ''}` }));
}
