import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { z } from 'zod';

/**
 * What anyone may read: health, metrics and the API's own description. None
 * of them says anything of tokens, identities, hosts or versions.
 */
export function registerOpenRoutes(scope: FastifyInstance, registry: Registry): void {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  app.get('/healthz', { schema: { summary: 'Liveness', response: { 200: z.object({ ok: z.literal(true) }) } } }, () => ({ ok: true as const }));
  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text format)', response: { 200: z.string() } } }, async (_req, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
  app.get('/openapi.json', { schema: { summary: 'This API as an OpenAPI 3.1 document', response: { 200: z.looseObject({ openapi: z.string() }) } } }, () => app.swagger() as unknown as { openapi: string });
}
