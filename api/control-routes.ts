import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AuditSink } from '../audit/audit-stream';
import type { Logger } from '../observability/logger';
import { ErrorBody, GUARD_REPLIES } from './api-schemas';
import { ControlBody, ControlChangeBody } from './console-data-schemas';
import type { ControlStore } from './control-store';
import { auditOperation } from './operations-audit';

/** What the control routes need; without a store (no NATS) they answer 503. */
export interface ControlRouteOptions {
  control: ControlStore | undefined;
  logger: Logger;
  audit?: AuditSink | undefined;
}

const NO_NATS = { error: 'the API has no NATS connection, so the pause switch cannot be reached' };

/** The record as the API answers it: the known fields only. */
export function controlBody(record: ControlBody): ControlBody {
  return ControlBody.parse(record);
}

/** `GET /control`, `POST /control/pause` and `POST /control/resume`: the pause switch every worker obeys. */
export function registerControlRoutes(scope: FastifyInstance, opts: ControlRouteOptions): void {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  app.get('/control', {
    schema: { summary: 'Read the pause switch', response: { 200: ControlBody, 503: ErrorBody, ...GUARD_REPLIES } },
  }, async (_req, reply) => {
    if (!opts.control) return reply.code(503).send(NO_NATS);
    try {
      return controlBody(await opts.control.read());
    } catch (err) {
      return reply.code(503).send({ error: `cannot read the pause switch: ${(err as Error).message}` });
    }
  });

  for (const paused of [true, false]) {
    app.post(paused ? '/control/pause' : '/control/resume', {
      schema: {
        summary: paused ? 'Pause all remediation: running steps finish, new ones wait' : 'Resume remediation',
        body: ControlChangeBody,
        response: { 200: ControlBody, 400: ErrorBody, 503: ErrorBody, ...GUARD_REPLIES },
      },
    }, async (req, reply) => {
      if (!opts.control) return reply.code(503).send(NO_NATS);
      const { identity, channel } = req.caller;
      const record = { paused, by: identity, reason: req.body.reason, at: new Date().toISOString(), channel };
      try {
        await opts.control.write(record);
      } catch (err) {
        return reply.code(503).send({ error: `cannot write the pause switch: ${(err as Error).message}` });
      }
      opts.logger.info(paused ? 'remediation paused' : 'remediation resumed', { identity, channel });
      await auditOperation(opts.audit, opts.logger, paused ? 'control.paused' : 'control.resumed', req.caller, { reason: req.body.reason });
      return record;
    });
  }
}
