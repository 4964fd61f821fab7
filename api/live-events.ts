import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listIncidents } from '../incidents/list-incidents';
import { InvalidFilterError } from '../incidents/query';
import { readIncidentState } from '../incidents/read-incident';
import type { Logger } from '../observability/logger';
import { ErrorBody, GUARD_REPLIES } from './api-schemas';
import { controlBody } from './control-routes';
import type { ControlStore } from './control-store';
import { filterToQuery, IncidentFilterQuery, incidentIdFrom } from './incident-params';

/** How often each stream looks for changes. @default 1000 */
export const DEFAULT_EVENT_POLL_MS = 1_000;
/** How often an idle stream sends a comment, so proxies keep it open. @default 15000 */
export const DEFAULT_KEEP_ALIVE_MS = 15_000;
/** Streams open at once; one more gets 503. @default 100 */
export const DEFAULT_MAX_STREAMS = 100;

/** Tuning of GET /events. */
export interface LiveEventOptions {
  pollMs?: number;
  keepAliveMs?: number;
  maxStreams?: number;
}

/** What the live events need; without a control store no `control` event is sent. */
export interface LiveEventRouteOptions extends LiveEventOptions {
  client: Client;
  control: ControlStore | undefined;
  logger: Logger;
}

const EventsQuery = IncidentFilterQuery.extend({
  /** One incident to follow, `incident/<service>/<target>[/<run>]` (or the short form). */
  incident: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const STREAM_DOC = [
  'Server-sent events: `incidents` with `{"incidents":[...]}` as GET /incidents answers;',
  '`incident` with the state of the incident named by `incident`, as GET /incidents/{id} answers;',
  '`control` with the pause switch, as GET /control answers. Each is sent at connect and whenever it changes;',
  'a `: keep-alive` comment is sent while nothing changes.',
].join(' ');

/**
 * `GET /events`: the console's live updates. Each stream polls Temporal (and
 * the control bucket) on its own timer and sends an event only when what it
 * read differs from what it last sent; the poll stops when the client goes.
 * The number of streams is bounded, since every one polls.
 */
export function registerLiveEvents(scope: FastifyInstance, opts: LiveEventRouteOptions): void {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const pollMs = opts.pollMs ?? DEFAULT_EVENT_POLL_MS;
  const keepAliveMs = opts.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  const maxStreams = opts.maxStreams ?? DEFAULT_MAX_STREAMS;
  let open = 0;

  app.get('/events', {
    schema: {
      summary: 'Live updates of the incident list, one incident and the pause switch (text/event-stream)',
      querystring: EventsQuery,
      response: { 200: { description: STREAM_DOC, content: { 'text/event-stream': { schema: z.string() } } }, 400: ErrorBody, 404: ErrorBody, 503: ErrorBody, ...GUARD_REPLIES },
    },
  }, async (req, reply) => {
    const q = req.query;
    try {
      filterToQuery(q);
    } catch (err) {
      if (!(err instanceof InvalidFilterError)) throw err;
      return reply.code(400).send({ error: err.message });
    }
    const incidentId = q.incident === undefined ? undefined : incidentIdFrom(q.incident);
    if (q.incident !== undefined && !incidentId) return reply.code(404).send({ error: 'not an incident id' });
    if (open >= maxStreams) {
      reply.header('retry-after', String(Math.ceil(keepAliveMs / 1000)));
      return reply.code(503).send({ error: `too many live event streams (${maxStreams}); retry later` });
    }
    let first: Record<string, unknown> | undefined;
    if (incidentId) {
      try {
        first = (await readIncidentState(opts.client, incidentId)) as unknown as Record<string, unknown>;
      } catch (err) {
        return reply.code(err instanceof WorkflowNotFoundError ? 404 : 503).send({ error: `cannot read ${incidentId}: ${(err as Error).message}` });
      }
    }

    open += 1;
    reply.hijack();
    const res = reply.raw;
    const headers: Record<string, string | number | string[]> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value;
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.flushHeaders();

    const sent: Record<string, string> = {};
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const send = (event: string, data: unknown): void => {
      const json = JSON.stringify(data);
      // A slow client skips this round; the change is still unsent, so the next poll sends it.
      if (sent[event] === json || res.writableNeedDrain) return;
      sent[event] = json;
      res.write(`event: ${event}\ndata: ${json}\n\n`);
    };
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), keepAliveMs);
    const stop = (): void => {
      if (closed) return;
      closed = true;
      open -= 1;
      clearInterval(keepAlive);
      clearTimeout(timer);
    };
    res.on('close', stop);

    const poll = async (): Promise<void> => {
      const reads: Promise<void>[] = [
        listIncidents(opts.client, filterToQuery(q), q.limit).then((incidents) => send('incidents', { incidents })),
      ];
      if (incidentId) reads.push(readIncidentState(opts.client, incidentId).then((state) => send('incident', state)));
      if (opts.control) reads.push(opts.control.read().then((record) => send('control', controlBody(record))));
      for (const r of await Promise.allSettled(reads)) {
        if (r.status === 'rejected') opts.logger.debug('live event read failed; sent again when it succeeds', { error: (r.reason as Error).message });
      }
    };
    const loop = (): void => {
      if (closed) return;
      poll().finally(() => {
        if (!closed) timer = setTimeout(loop, pollMs);
      }).catch(() => undefined);
    };
    if (first) send('incident', first);
    loop();
  });
}
