import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditSink } from '../audit/audit-stream';
import { listIncidents } from '../incidents/list-incidents';
import { InvalidFilterError } from '../incidents/query';
import { readIncidentState } from '../incidents/read-incident';
import type { Logger } from '../observability/logger';
import { DecisionReplyBody, ErrorBody, GUARD_REPLIES, IncidentListBody, IncidentStateBody, type IncidentSummaryBody } from './api-schemas';
import type { ApprovalMetrics } from './approval-metrics';
import { DecisionBody, submitDecision } from './decisions';
import { filterToQuery, ID_FORMS, IncidentFilterQuery, incidentIdOf, notAnIncident } from './incident-params';

/** What the incident routes need. */
export interface IncidentRouteOptions {
  client: Client;
  logger: Logger;
  decisionKey: Buffer;
  metrics: ApprovalMetrics;
  updateWaitMs?: number | undefined;
  audit?: AuditSink | undefined;
}

const IncidentsQuery = IncidentFilterQuery.extend({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** `GET /incidents`, `GET /incidents/{id}` and `POST /incidents/{id}/decisions`, inside the guarded scope. */
export function registerIncidentRoutes(scope: FastifyInstance, opts: IncidentRouteOptions): void {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  app.get('/incidents', {
    schema: { summary: 'List incidents, newest first', querystring: IncidentsQuery, response: { 200: IncidentListBody, 400: ErrorBody, ...GUARD_REPLIES } },
  }, async (req, reply) => {
    let query: string;
    try {
      query = filterToQuery(req.query);
    } catch (err) {
      if (!(err instanceof InvalidFilterError)) throw err;
      return reply.code(400).send({ error: err.message });
    }
    return { incidents: (await listIncidents(opts.client, query, req.query.limit)) as unknown as z.infer<typeof IncidentSummaryBody>[] };
  });

  for (const form of ID_FORMS) {
    app.get(`/incidents/${form.path}`, {
      schema: { summary: 'Read one incident', params: form.params, response: { 200: IncidentStateBody, 404: ErrorBody, 503: ErrorBody, ...GUARD_REPLIES } },
    }, async (req, reply) => {
      const incidentId = incidentIdOf(req.params);
      if (!incidentId) return notAnIncident(reply);
      try {
        return (await readIncidentState(opts.client, incidentId)) as unknown as z.infer<typeof IncidentStateBody>;
      } catch (err) {
        return reply.code(err instanceof WorkflowNotFoundError ? 404 : 503).send({ error: `cannot read ${incidentId}: ${(err as Error).message}` });
      }
    });

    app.post(`/incidents/${form.path}/decisions`, {
      schema: {
        summary: 'Approve, reject or answer an escalation of the waiting step',
        params: form.params,
        body: DecisionBody,
        response: { 200: DecisionReplyBody, 202: DecisionReplyBody, 403: DecisionReplyBody, 404: z.union([DecisionReplyBody, ErrorBody]), 409: DecisionReplyBody, 422: DecisionReplyBody, 503: DecisionReplyBody, 400: ErrorBody, ...GUARD_REPLIES },
      },
    }, async (req, reply) => {
      const incidentId = incidentIdOf(req.params);
      if (!incidentId) return notAnIncident(reply);
      const { identity, channel } = req.caller;
      const result = await submitDecision(opts.client, incidentId, identity, req.body, {
        decisionKey: opts.decisionKey,
        audit: opts.audit,
        channel,
        ...(opts.updateWaitMs !== undefined ? { updateWaitMs: opts.updateWaitMs } : {}),
      });
      if (result.body.ack) opts.metrics.decided(result.body.ack);
      opts.logger.info('decision', { incidentId, identity, channel, verdict: req.body.verdict, status: result.status, refusal: result.body.refusal });
      return reply.code(result.status as 200).send(result.body);
    });
  }
}
