import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { NatsConnection } from 'nats';
import { z } from 'zod';
import { AuditRecord } from '../audit/audit-record';
import { readAuditEvents, type AuditEvent } from '../audit/audit-stream';
import { fetchAuditRecord } from '../audit/build-audit';
import { drillSummary, listDrillReports } from '../audit/drill-reports';
import { sdkIncidentReads } from '../incidents/read-incident';
import type { Logger } from '../observability/logger';
import { ErrorBody, GUARD_REPLIES } from './api-schemas';
import { DrillReportListBody } from './console-data-schemas';
import { ID_FORMS, incidentIdOf, notAnIncident } from './incident-params';

/** What the audit routes need; without NATS an audit record is built from the history alone, as the CLI does. */
export interface AuditRouteOptions {
  client: Client;
  nats: NatsConnection | undefined;
  logger: Logger;
}

const DrillsQuery = z.object({ runbook: z.string().min(1).optional(), service: z.string().min(1).optional() });

/** `GET /incidents/{id}/audit` (in each spelling of the id) and `GET /drills`: records kept in the audit stream. */
export function registerAuditRoutes(scope: FastifyInstance, opts: AuditRouteOptions): void {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  for (const form of ID_FORMS) {
    app.get(`/incidents/${form.path}/audit`, {
      schema: { summary: 'Read an incident\'s audit record, as runbook audit --json prints it', params: form.params, response: { 200: AuditRecord, 404: ErrorBody, 503: ErrorBody, ...GUARD_REPLIES } },
    }, async (req, reply) => {
      const incidentId = incidentIdOf(req.params);
      if (!incidentId) return notAnIncident(reply);
      let events: AuditEvent[] = [];
      if (opts.nats) {
        events = await readAuditEvents(opts.nats, incidentId).catch((err: unknown) => {
          opts.logger.warn('audit stream not read; the record is built from the history alone', { incidentId, error: (err as Error).message });
          return [];
        });
      }
      try {
        return await fetchAuditRecord(sdkIncidentReads(opts.client), incidentId, events);
      } catch (err) {
        return reply.code(err instanceof WorkflowNotFoundError ? 404 : 503).send({ error: `cannot read ${incidentId}: ${(err as Error).message}` });
      }
    });
  }

  app.get('/drills', {
    schema: { summary: 'List past drills from their reports in the audit stream, newest first', querystring: DrillsQuery, response: { 200: DrillReportListBody, 400: ErrorBody, 503: ErrorBody, ...GUARD_REPLIES } },
  }, async (req, reply) => {
    if (!opts.nats) return reply.code(503).send({ error: 'the API has no NATS connection, so the drill reports cannot be read' });
    try {
      const { reports } = await listDrillReports(opts.nats, { ...(req.query.runbook ? { runbook: req.query.runbook } : {}), ...(req.query.service ? { service: req.query.service } : {}) });
      return { reports: reports.map((r) => ({ ...drillSummary(r), at: r.endedAt, grades: r.grades, measurements: r.measurements })) };
    } catch (err) {
      return reply.code(503).send({ error: `cannot read the drill reports: ${(err as Error).message}` });
    }
  });
}
