import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { JetStreamManager, NatsConnection } from 'nats';
import { z } from 'zod';
import type { AuditSink } from '../audit/audit-stream';
import { deadLetterJson } from '../intake/dead-letter-json';
import { DeadLetterNotFoundError, getDeadLetter, listDeadLetters, NotReplayableError, replayDeadLetter } from '../intake/dead-letter-store';
import type { Logger } from '../observability/logger';
import { ErrorBody, GUARD_REPLIES } from './api-schemas';
import { DeadLetterBody, DeadLetterListBody, ReplayReplyBody, ReplayRequestBody } from './console-data-schemas';
import { auditOperation } from './operations-audit';

/** What the dead-letter routes need; without NATS they answer 503. */
export interface DeadLetterRouteOptions {
  nats: NatsConnection | undefined;
  logger: Logger;
  audit?: AuditSink | undefined;
}

const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });
const IdParams = z.object({ id: z.string() });
/** A dead letter's id is its stream sequence. */
const ID = /^[1-9]\d{0,15}$/;
const NO_NATS = { error: 'the API has no NATS connection, so the dead letters cannot be reached' };


/** `GET /dead-letters`, `GET /dead-letters/{id}` and `POST /dead-letters/{id}/replay`: fault events the intake refused. */
export function registerDeadLetterRoutes(scope: FastifyInstance, opts: DeadLetterRouteOptions): void {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  let manager: Promise<JetStreamManager> | undefined;
  const jsm = (nc: NatsConnection): Promise<JetStreamManager> => (manager ??= nc.jetstreamManager().catch((err: unknown) => {
    manager = undefined;
    throw err;
  }));
  const unavailable = (err: unknown): { error: string } => ({ error: `cannot read the dead letters: ${(err as Error).message}` });

  app.get('/dead-letters', {
    schema: { summary: 'List the newest dead letters, oldest first', querystring: ListQuery, response: { 200: DeadLetterListBody, 400: ErrorBody, 503: ErrorBody, ...GUARD_REPLIES } },
  }, async (req, reply) => {
    if (!opts.nats) return reply.code(503).send(NO_NATS);
    try {
      const letters = await listDeadLetters(await jsm(opts.nats), req.query.limit);
      return { deadLetters: letters.map((l) => deadLetterJson(l, false) as z.infer<typeof DeadLetterListBody>['deadLetters'][number]) };
    } catch (err) {
      return reply.code(503).send(unavailable(err));
    }
  });

  app.get('/dead-letters/:id', {
    schema: { summary: 'Read one dead letter with its original bytes', params: IdParams, response: { 200: DeadLetterBody, 404: ErrorBody, 503: ErrorBody, ...GUARD_REPLIES } },
  }, async (req, reply) => {
    if (!ID.test(req.params.id)) return reply.code(404).send({ error: 'not a dead letter id (its stream sequence, a positive integer)' });
    if (!opts.nats) return reply.code(503).send(NO_NATS);
    try {
      return deadLetterJson(await getDeadLetter(await jsm(opts.nats), Number(req.params.id)), true) as z.infer<typeof DeadLetterBody>;
    } catch (err) {
      if (err instanceof DeadLetterNotFoundError) return reply.code(404).send({ error: err.message });
      return reply.code(503).send(unavailable(err));
    }
  });

  app.post('/dead-letters/:id/replay', {
    schema: {
      summary: 'Publish a dead letter again on its fault subject and remove it',
      params: IdParams,
      body: ReplayRequestBody,
      response: { 200: ReplayReplyBody, 400: ErrorBody, 404: ErrorBody, 422: ErrorBody, 503: ErrorBody, ...GUARD_REPLIES },
    },
  }, async (req, reply) => {
    if (!ID.test(req.params.id)) return reply.code(404).send({ error: 'not a dead letter id (its stream sequence, a positive integer)' });
    if (!opts.nats) return reply.code(503).send(NO_NATS);
    const id = Number(req.params.id);
    let done;
    try {
      done = await replayDeadLetter(opts.nats.jetstream(), await jsm(opts.nats), id);
    } catch (err) {
      if (err instanceof DeadLetterNotFoundError) return reply.code(404).send({ error: err.message });
      // Truncated, altered, or never a fault: no retry makes it replayable.
      if (err instanceof NotReplayableError) return reply.code(422).send({ error: err.message });
      return reply.code(503).send({ error: `cannot replay dead letter ${id}: ${(err as Error).message}` });
    }
    opts.logger.info('dead letter replayed', { id, identity: req.caller.identity, channel: req.caller.channel, subject: done.subject, seq: done.seq });
    await auditOperation(opts.audit, opts.logger, 'dead_letter.replayed', req.caller, { deadLetterId: id, subject: done.subject, stream: done.stream, seq: done.seq });
    return done;
  });
}

