import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { Ajv2020 } from 'ajv/dist/2020';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApiApp } from '../../api/app';
import type { Authenticator } from '../../api/auth';
import { createLogger } from '../../observability/logger';

/*
 * The OpenAPI document at /openapi.json against the routes that really
 * answer: every documented operation is requested here, its answer's status
 * must be documented and its JSON body must validate against the documented
 * schema, and every route the application has must be in the document.
 * Temporal is stood in for by a client that answers like a running incident.
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
      describe: () => Promise.resolve({ status: { name: 'RUNNING' } }),
      query: () => Promise.resolve(id.startsWith('drill/') ? { drillId: id, runbook: 'failover', service: 'checkout', target: 'node-1', phase: 'awaiting_approval', approvers: ['drills'], refusals: [], timeline: [] } : state),
      executeUpdate: () => Promise.resolve({ requestId: 'r-1', step: 'promote', approvals: 1, needed: 1, outcome: 'approved' }),
    }),
  },
  schedule: {
    getHandle: () => ({
      describe: () => Promise.resolve({ action: { type: 'startWorkflow', args: [{ scheduleId: 'failover/checkout/node-1/drill', drill: true, service: 'checkout', target: 'node-1', runbook: { name: 'failover', definition: { drill: { approvers: ['drills'] } } } }] } }),
      update: () => Promise.resolve(),
    }),
  },
  withDeadline: (_deadline: number, fn: () => unknown) => fn(),
} as unknown as Client;
const auth: Authenticator = { identifyToken: (token) => Promise.resolve(token === 'good' ? 'alice' : undefined) };

let app: FastifyInstance;
before(async () => {
  app = await buildApiApp({ client, auth, decisionKey: randomBytes(32), logger: createLogger('openapi-test', 'error'), port: 0, registry: new Registry() });
  await app.ready();
});
after(() => app.close());

/** A request for each documented operation (OpenAPI path spelling). */
const CASES: Record<string, { url: string; payload?: unknown; status: number }> = {
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
