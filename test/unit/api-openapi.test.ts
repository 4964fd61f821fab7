import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { Ajv2020 } from 'ajv/dist/2020';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApiApp } from '../../api/app';
import type { Authenticator } from '../../api/auth';
import { drillReportMsgId } from '../../audit/drill-reports';
import { createLogger } from '../../observability/logger';
import { CONTROL_BUCKET, PAUSE_KEY } from '../../schemas/control-bucket';
import { exampleDrillReport } from '../helpers/drill-report-example';
import { natsStandIn, type StandInContents } from '../helpers/nats-stand-in';
import { waitFor } from '../../stack/wait-for';

/*
 * The OpenAPI document at /openapi.json against the routes that really
 * answer: every documented operation is requested here, its answer's status
 * must be documented and its JSON body must validate against the documented
 * schema, and every route the application has must be in the document.
 * Temporal is stood in for by a client that answers like a running incident
 * (and knows no `incident/gone/…`), NATS by test/helpers/nats-stand-in.ts.
 * The live events are read from a listening server, since they never end.
 */

const INCIDENT = 'incident/checkout/node-1';
const DRILL = 'drill/checkout/node-1/failover/20261203T080000Z';
const state = { incidentId: INCIDENT, service: 'checkout', target: 'node-1', kind: 'node_down', status: 'awaiting_approval', dryRun: false, openedAt: '2026-12-03T08:00:00.000Z', epoch: 1, steps: [{ id: 'isolate' }], requests: [{ requestId: 'r-1', step: 'promote' }], compensations: [] };
const client = {
  workflow: {
    list: async function* () {
      yield { workflowId: INCIDENT, runId: 'run-1', status: { name: 'RUNNING' }, startTime: new Date(0), typedSearchAttributes: { get: () => undefined } };
    },
    count: () => Promise.resolve({ count: 1 }),
    getHandle: (id: string) => ({
      describe: () => (id.startsWith('incident/gone/') ? Promise.reject(new WorkflowNotFoundError('not found', id, undefined)) : Promise.resolve({ status: { name: 'RUNNING' } })),
      query: () => Promise.resolve(id.startsWith('drill/') ? { drillId: id, runbook: 'failover', service: 'checkout', target: 'node-1', phase: 'awaiting_approval', approvers: ['drills'], refusals: [], timeline: [] } : state),
      executeUpdate: () => Promise.resolve({ requestId: 'r-1', step: 'promote', approvals: 1, needed: 1, outcome: 'approved' }),
    }),
  },
  schedule: {
    list: async function* () {
      yield { scheduleId: 'failover/checkout/node-1/drill' };
    },
    getHandle: () => ({
      describe: () => Promise.resolve({
        scheduleId: 'failover/checkout/node-1/drill',
        memo: { managedBy: 'runbook-files', source: 'runbooks/failover.yaml' },
        action: { type: 'startWorkflow', args: [{ scheduleId: 'failover/checkout/node-1/drill', drill: true, service: 'checkout', target: 'node-1', runbook: { name: 'failover', definition: { drill: { approvers: ['drills'] }, schedule: { every: '7d' } } } }] },
        spec: { intervals: [{ every: '7d' }] },
        policies: { overlap: 'SKIP', catchupWindow: 60_000 },
        state: { paused: false },
        info: { numActionsTaken: 1, nextActionTimes: [new Date(86_400_000)], recentActions: [{ scheduledAt: new Date(0), takenAt: new Date(1_000), action: { workflow: { workflowId: 'launcher-1', firstExecutionRunId: 'run-1' } } }], runningActions: [] },
      }),
      update: () => Promise.resolve(),
    }),
  },
  withDeadline: (_deadline: number, fn: () => unknown) => fn(),
} as unknown as Client;
const auth: Authenticator = { identifyToken: (token) => Promise.resolve(token === 'good' ? 'alice' : undefined) };

const report = exampleDrillReport({ drillId: DRILL });
const nats: StandInContents = {
  kv: new Map([[PAUSE_KEY, JSON.stringify({ paused: false, by: 'bob', reason: 'done', at: '2026-12-03T08:00:00.000Z' })]]),
  deadLetters: [
    { seq: 3, originalSubject: 'faults.checkout.node_down', data: JSON.stringify({ id: 'f-1', severity: 5 }) },
    { seq: 4, originalSubject: 'faults.checkout.node_down', data: '{"id":"f-2"}' },
  ],
  audit: [{ subject: 'audit.checkout.node-1.drill.report', event: { event: 'drill.report', incidentId: DRILL, at: report.endedAt, report, msgId: drillReportMsgId(DRILL) } }],
  published: [],
};

let app: FastifyInstance;
let base: string;
before(async () => {
  app = await buildApiApp({ client, auth, decisionKey: randomBytes(32), logger: createLogger('openapi-test', 'error'), port: 0, registry: new Registry(), nats: natsStandIn(nats), liveEvents: { pollMs: 50 } });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

/** The first event of a live-event stream, and the stream's status and content type. */
async function firstEvent(url: string): Promise<{ status: number; contentType: string; event: string }> {
  const stop = new AbortController();
  const res = await fetch(`${base}${url}`, { headers: { authorization: 'Bearer good' }, signal: stop.signal });
  const reader = res.body?.getReader();
  let text = '';
  while (reader && !text.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  stop.abort();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', event: text };
}
after(() => app.close());

/** A request for each documented operation (OpenAPI path spelling). */
const CASES: Record<string, { url: string; payload?: unknown; status: number; stream?: boolean }> = {
  'GET /healthz': { url: '/healthz', status: 200 },
  'GET /metrics': { url: '/metrics', status: 200 },
  'GET /openapi.json': { url: '/openapi.json', status: 200 },
  'GET /incidents': { url: '/incidents?open=true&limit=5', status: 200 },
  'GET /incidents/{id}': { url: `/incidents/${encodeURIComponent(INCIDENT)}`, status: 200 },
  'GET /incidents/{service}/{target}': { url: '/incidents/checkout/node-1', status: 200 },
  'GET /incidents/{service}/{target}/{run}': { url: '/incidents/checkout/node-1/backup-20261203T0800', status: 200 },
  'POST /incidents/{id}/decisions': { url: `/incidents/${encodeURIComponent(INCIDENT)}/decisions`, payload: { verdict: 'approve', reason: 'checked', step: 'promote' }, status: 200 },
  'POST /incidents/{service}/{target}/decisions': { url: '/incidents/checkout/node-1/decisions', payload: { verdict: 'reject', reason: 'not now', step: 'promote' }, status: 200 },
  'POST /incidents/{service}/{target}/{run}/decisions': { url: '/incidents/checkout/node-1/backup-1/decisions', payload: { verdict: 'approve', reason: 'ok', step: 'promote' }, status: 200 },
  'GET /drills/{id}': { url: `/drills/${encodeURIComponent(DRILL)}`, status: 200 },
  'POST /drills/{id}/decisions': { url: `/drills/${encodeURIComponent(DRILL)}/decisions`, payload: { verdict: 'approve', reason: 'rehearse' }, status: 200 },
  'GET /console/session': { url: '/console/session', status: 401 },
  'POST /console/session': { url: '/console/session', status: 200 },
  'DELETE /console/session': { url: '/console/session', status: 200 },
  'POST /drill-schedules/{id}/approval': { url: `/drill-schedules/${encodeURIComponent('failover/checkout/node-1/drill')}/approval`, payload: { reason: 'weekly' }, status: 200 },
  'GET /control': { url: '/control', status: 200 },
  'POST /control/pause': { url: '/control/pause', payload: { reason: 'maintenance' }, status: 200 },
  'POST /control/resume': { url: '/control/resume', payload: { reason: ' maintenance over ' }, status: 200 },
  'GET /dead-letters': { url: '/dead-letters?limit=10', status: 200 },
  'GET /dead-letters/{id}': { url: '/dead-letters/3', status: 200 },
  'POST /dead-letters/{id}/replay': { url: '/dead-letters/4/replay', payload: {}, status: 200 },
  'GET /schedules': { url: '/schedules', status: 200 },
  'GET /drills': { url: '/drills', status: 200 },
  // The stand-in holds no history to build a record from; the record itself is checked on the real stack (test/integration/console-data-api.test.ts).
  'GET /incidents/{id}/audit': { url: `/incidents/${encodeURIComponent('incident/gone/node-1')}/audit`, status: 404 },
  'GET /incidents/{service}/{target}/audit': { url: '/incidents/gone/node-1/audit', status: 404 },
  'GET /incidents/{service}/{target}/{run}/audit': { url: '/incidents/gone/node-1/backup-1/audit', status: 404 },
  'GET /events': { url: `/events?incident=${encodeURIComponent(INCIDENT)}&open=true`, status: 200, stream: true },
};

interface Operation {
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
}

test('/openapi.json is an OpenAPI 3.1 document whose every operation answers as documented', async () => {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json<{ openapi: string; paths: Record<string, Record<string, Operation>> }>();
  assert.equal(doc.openapi, '3.1.0');
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  const documented: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const key = `${method.toUpperCase()} ${path}`;
      documented.push(key);
      const c = CASES[key];
      assert.ok(c, `${key} is documented but this test does not request it`);
      if (c.stream) {
        const live = await firstEvent(c.url);
        assert.equal(live.status, c.status, key);
        assert.ok(op.responses[String(live.status)]?.content?.['text/event-stream'], `${key} documents its text/event-stream answer`);
        assert.match(live.contentType, /^text\/event-stream/);
        assert.match(live.event, /^event: (incidents|incident|control)\ndata: \{/);
        continue;
      }
      const answer = await app.inject({ method: method.toUpperCase() as 'GET', url: c.url, headers: { authorization: 'Bearer good' }, ...(c.payload ? { payload: c.payload } : {}) });
      assert.equal(answer.statusCode, c.status, `${key}: ${answer.body}`);
      const documentedReply = op.responses[String(answer.statusCode)];
      assert.ok(documentedReply, `${key} answered ${answer.statusCode}, which is not documented`);
      const schema = documentedReply.content?.['application/json']?.schema;
      if (schema && String(answer.headers['content-type']).startsWith('application/json')) {
        const valid = ajv.validate(schema, answer.json());
        assert.ok(valid, `${key}: ${ajv.errorsText()}`);
      }
    }
  }
  assert.deepEqual(documented.sort(), Object.keys(CASES).sort(), 'every request here is a documented operation');
});

test('every documented operation is a real route, and guarded operations document 401 and 429', async () => {
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, Operation>> }>();
  for (const key of Object.keys(CASES)) {
    const [method, path] = key.split(' ') as [string, string];
    assert.ok(app.hasRoute({ method: method as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') }), `${key} is a real route`);
  }
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (['/healthz', '/metrics', '/openapi.json'].includes(path)) continue;
    for (const [method, op] of Object.entries(ops)) {
      // Reading the session is open: a page load without one must not count as a failed authentication.
      if (method === 'get' && path === '/console/session') continue;
      assert.ok(op.responses['401'] && op.responses['429'], `${method} ${path} documents the guard's refusals`);
    }
  }
  const unauthenticated = await app.inject({ method: 'GET', url: '/incidents' });
  assert.equal(unauthenticated.statusCode, 401);
});

test('an invalid body gets 400 naming each invalid field, as the document says', async () => {
  const res = await app.inject({ method: 'POST', url: '/incidents/checkout/node-1/decisions', headers: { authorization: 'Bearer good' }, payload: { verdict: 'maybe', reason: '' } });
  assert.equal(res.statusCode, 400);
  const error = res.json<{ error: string }>().error;
  assert.match(error, /verdict: /);
  assert.match(error, /reason: a reason is required/);
});

test('a pause and a resume write who, why and through which channel to the control bucket', async () => {
  const paused = await app.inject({ method: 'POST', url: '/control/pause', headers: { authorization: 'Bearer good' }, payload: { reason: '  deploy freeze ' } });
  assert.equal(paused.statusCode, 200);
  const stored = JSON.parse(nats.kv.get(PAUSE_KEY) ?? '{}') as Record<string, unknown>;
  assert.deepEqual({ ...stored, at: undefined }, { paused: true, by: 'alice', reason: 'deploy freeze', channel: 'http', at: undefined });
  assert.equal(CONTROL_BUCKET, 'runbook_control');
  const read = (await app.inject({ method: 'GET', url: '/control', headers: { authorization: 'Bearer good' } })).json<{ paused: boolean; by: string }>();
  assert.deepEqual([read.paused, read.by], [true, 'alice']);
  const empty = await app.inject({ method: 'POST', url: '/control/resume', headers: { authorization: 'Bearer good' }, payload: { reason: '   ' } });
  assert.equal(empty.statusCode, 400);
  assert.match(empty.json<{ error: string }>().error, /reason: a reason is required/);
});

test('a dead letter that was never a fault cannot be replayed, and a missing one is 404', async () => {
  nats.deadLetters.push({ seq: 9, originalSubject: 'http:/alertmanager', data: '{}' });
  const refused = await app.inject({ method: 'POST', url: '/dead-letters/9/replay', headers: { authorization: 'Bearer good' } });
  assert.equal(refused.statusCode, 422, refused.body);
  assert.match(refused.json<{ error: string }>().error, /did not arrive on a fault subject/);
  assert.equal((await app.inject({ method: 'GET', url: '/dead-letters/99', headers: { authorization: 'Bearer good' } })).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: '/dead-letters/0', headers: { authorization: 'Bearer good' } })).statusCode, 404);
});

test('live event streams are bounded, and a client that goes frees its slot', async () => {
  const one = await buildApiApp({ client, auth, decisionKey: randomBytes(32), logger: createLogger('openapi-test', 'error'), port: 0, registry: new Registry(), nats: natsStandIn(nats), liveEvents: { pollMs: 50, maxStreams: 1 } });
  const url = await one.listen({ port: 0, host: '127.0.0.1' });
  try {
    const first = new AbortController();
    const open = await fetch(`${url}/events`, { headers: { authorization: 'Bearer good' }, signal: first.signal });
    assert.equal(open.status, 200);
    const refused = await fetch(`${url}/events`, { headers: { authorization: 'Bearer good' } });
    assert.equal(refused.status, 503);
    assert.match((await refused.json() as { error: string }).error, /too many live event streams/);
    first.abort();
    await waitFor('the slot to be freed', 5_000, async () => {
      const again = await fetch(`${url}/events`, { headers: { authorization: 'Bearer good' } });
      await again.body?.cancel();
      return again.status === 200;
    }, 20);
  } finally {
    await one.close();
  }
});
