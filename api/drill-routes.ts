import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditSink } from '../audit/audit-stream';
import type { Logger } from '../observability/logger';
import { DrillDecisionReplyBody, DrillStateBody, ErrorBody, GUARD_REPLIES, ScheduleApprovalReplyBody } from './api-schemas';
import { DRILL_ID_PATTERN, DrillDecisionBody, readDrillState, submitDrillDecision } from './drill-decisions';
import { approveDrillSchedule, ScheduleApprovalBody } from './drill-schedule-approval';

/** What the drill routes need. */
export interface DrillRouteOptions {
  client: Client;
  logger: Logger;
  decisionKey: Buffer;
  audit?: AuditSink | undefined;
  rosterFile?: string | undefined;
}

const DrillParams = z.object({ id: z.string() });
const SCHEDULE_ID = /^[a-z][a-z0-9_-]{0,63}\/[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+\/drill$/;
const NOT_A_DRILL = 'not a drill id (drill/<service>/<target>/<runbook>/<stamp>, URL-encoded)';

/** `GET /drills/{id}`, `POST /drills/{id}/decisions` and `POST /drill-schedules/{id}/approval`, inside the guarded scope. */
export function registerDrillRoutes(scope: FastifyInstance, opts: DrillRouteOptions): void {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  app.get('/drills/:id', {
    schema: { summary: 'Read one drill', params: DrillParams, response: { 200: DrillStateBody, 404: ErrorBody, 503: ErrorBody, ...GUARD_REPLIES } },
  }, async (req, reply) => {
    const drillId = req.params.id;
    if (!DRILL_ID_PATTERN.test(drillId)) return reply.code(404).send({ error: NOT_A_DRILL });
    try {
      return (await readDrillState(opts.client, drillId)) as unknown as z.infer<typeof DrillStateBody>;
    } catch (err) {
      return reply.code(err instanceof WorkflowNotFoundError ? 404 : 503).send({ error: `cannot read ${drillId}: ${(err as Error).message}` });
    }
  });

  app.post('/drills/:id/decisions', {
    schema: { summary: 'Approve or reject a drill waiting to start', params: DrillParams, body: DrillDecisionBody, response: { 200: DrillDecisionReplyBody, 403: DrillDecisionReplyBody, 404: z.union([DrillDecisionReplyBody, ErrorBody]), 409: DrillDecisionReplyBody, 422: DrillDecisionReplyBody, 503: DrillDecisionReplyBody, 400: ErrorBody, ...GUARD_REPLIES } },
  }, async (req, reply) => {
    const drillId = req.params.id;
    if (!DRILL_ID_PATTERN.test(drillId)) return reply.code(404).send({ error: NOT_A_DRILL });
    const { identity, channel } = req.caller;
    const result = await submitDrillDecision(opts.client, drillId, identity, req.body, { decisionKey: opts.decisionKey, audit: opts.audit, channel });
    opts.logger.info('drill decision', { drillId, identity, channel, verdict: req.body.verdict, status: result.status, refusal: result.body.refusal });
    return reply.code(result.status as 200).send(result.body);
  });

  app.post('/drill-schedules/:id/approval', {
    schema: { summary: 'Approve a drill schedule, so its drills start without asking', params: DrillParams, body: ScheduleApprovalBody, response: { 200: ScheduleApprovalReplyBody, 403: ScheduleApprovalReplyBody, 404: z.union([ScheduleApprovalReplyBody, ErrorBody]), 409: ScheduleApprovalReplyBody, 400: ErrorBody, ...GUARD_REPLIES } },
  }, async (req, reply) => {
    const scheduleId = req.params.id;
    if (!SCHEDULE_ID.test(scheduleId)) return reply.code(404).send({ error: 'not a drill schedule id (<runbook>/<service>/<target>/drill, URL-encoded)' });
    const result = await approveDrillSchedule(opts.client, scheduleId, req.caller.identity, req.body, { decisionKey: opts.decisionKey, rosterFile: opts.rosterFile, audit: opts.audit, channel: req.caller.channel });
    opts.logger.info('drill schedule approval', { scheduleId, identity: req.caller.identity, status: result.status, refusal: result.body.refusal });
    return reply.code(result.status as 200).send(result.body);
  });
}
