import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { listIncidentsOverHttp, summarizeExecution } from '../../incidents/incident-reads-http';
import {
  decodePayload,
  encodeJsonPayload,
  enumName,
  PayloadEncodingError,
  temporalHttpClient,
  temporalHttpRequest,
  TemporalHttpError,
} from '../../platform/temporal-http';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

describe('Temporal HTTP API requests', () => {
  test('a workflow id with slashes is one path segment, and payloads are asked for in their full form', () => {
    const req = temporalHttpRequest({ address: '127.0.0.1:7243', namespace: 'runbooks' }, 'GET', ['workflows', 'incident/checkout/gpu-1']);
    assert.equal(req.url.pathname, '/api/v1/namespaces/runbooks/workflows/incident%2Fcheckout%2Fgpu-1');
    assert.equal(req.url.protocol, 'http:');
    assert.ok(req.url.searchParams.has('noPayloadShorthand'));
    assert.equal(req.body, undefined);
    assert.equal(req.headers.authorization, undefined);
  });

  test('query values are encoded, unset ones left out', () => {
    const query = `WorkflowType = 'incident' AND service = 'checkout'`;
    const req = temporalHttpRequest({ address: 'h:1', namespace: 'ns' }, 'GET', ['workflows'], { query, pageSize: 50, nextPageToken: undefined });
    assert.equal(req.url.searchParams.get('query'), query);
    assert.equal(req.url.searchParams.get('pageSize'), '50');
    assert.equal(req.url.searchParams.has('nextPageToken'), false);
    assert.doesNotMatch(req.url.search, /'| /);
  });

  test('TLS makes it https and an API key is sent as a bearer token; a body is JSON', () => {
    const req = temporalHttpRequest({ address: 'temporal:7243', namespace: 'ns', tls: true, apiKey: 'k-1' }, 'POST', ['workflows', 'w', 'signal', 's'], {}, { input: { payloads: [encodeJsonPayload(1)] } });
    assert.equal(req.url.protocol, 'https:');
    assert.equal(req.headers.authorization, 'Bearer k-1');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(req.body ?? ''), { input: { payloads: [encodeJsonPayload(1)] } });
  });
});

describe('payload decoding', () => {
  test('json/plain is JSON, as the SDK decodes it', () => {
    assert.deepEqual(decodePayload({ metadata: { encoding: b64('json/plain') }, data: b64('{"a":[1,"é"]}') }), { a: [1, 'é'] });
    assert.deepEqual(decodePayload(encodeJsonPayload({ state: { n: 2 } })), { state: { n: 2 } });
  });

  test('binary/null is undefined', () => {
    assert.equal(decodePayload({ metadata: { encoding: b64('binary/null') } }), undefined);
  });

  test('an encoding it cannot read (a codec, protobuf, none) is an error, never a guess', () => {
    for (const payload of [{ metadata: { encoding: b64('binary/encrypted') }, data: b64('xx') }, { data: b64('"x"') }, 'json']) {
      assert.throws(() => decodePayload(payload), PayloadEncodingError);
    }
  });

  test('enum values read as the SDK names them', () => {
    assert.equal(enumName('WORKFLOW_EXECUTION_STATUS_RUNNING', 'WORKFLOW_EXECUTION_STATUS_'), 'RUNNING');
    assert.equal(enumName('ContinuedAsNew', 'WORKFLOW_EXECUTION_STATUS_'), 'CONTINUED_AS_NEW');
    assert.equal(enumName('COMPLETED', 'WORKFLOW_EXECUTION_STATUS_'), 'COMPLETED');
    assert.equal(enumName(undefined, 'X_'), undefined);
  });
});

describe('incident summaries from the HTTP API', () => {
  const keyword = (value: string) => ({ metadata: { encoding: b64('json/plain'), type: b64('Keyword') }, data: b64(JSON.stringify(value)) });

  test('an execution becomes the same summary listIncidents gives', () => {
    const summary = summarizeExecution({
      execution: { workflowId: 'incident/checkout/gpu-1', runId: 'r-1' },
      type: { name: 'incident' },
      startTime: '2026-12-03T08:00:01.123456789Z',
      status: 'WORKFLOW_EXECUTION_STATUS_RUNNING',
      searchAttributes: { indexedFields: { service: keyword('checkout'), target: keyword('gpu-1'), incidentStatus: keyword('remediating'), BuildIds: keyword('x') } },
    });
    assert.deepEqual(summary, {
      incidentId: 'incident/checkout/gpu-1',
      runId: 'r-1',
      workflowStatus: 'RUNNING',
      incidentStatus: 'remediating',
      service: 'checkout',
      target: 'gpu-1',
      faultKind: undefined,
      severity: undefined,
      runbook: undefined,
      startTime: '2026-12-03T08:00:01.123Z',
      closeTime: undefined,
    });
  });
});

describe('a client against a server', () => {
  let server: Server;
  const seen: { method: string; url: URL; auth: string | undefined }[] = [];
  let address = '';
  const execution = (n: number) => ({ execution: { workflowId: `incident/app/n-${n}`, runId: `r-${n}` }, startTime: '2026-12-03T08:00:00Z', status: 'WORKFLOW_EXECUTION_STATUS_RUNNING' });

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push({ method: req.method ?? '', url, auth: req.headers.authorization });
      res.setHeader('content-type', 'application/json');
      if (url.pathname === '/api/v1/namespaces/ns/workflows') {
        // Two executions a page, five in all; the token names the next page.
        const page = Number(Buffer.from(url.searchParams.get('nextPageToken') ?? 'MA==', 'base64').toString());
        const executions = [0, 1].map((i) => page * 2 + i).filter((n) => n < 5).map(execution);
        const next = page * 2 + 2 < 5 ? Buffer.from(String(page + 1)).toString('base64') : undefined;
        res.end(JSON.stringify({ executions, ...(next ? { nextPageToken: next } : {}) }));
      } else if (url.pathname === '/api/v1/namespaces/gone/workflows') {
        res.statusCode = 404;
        res.end(JSON.stringify({ code: 5, message: 'Namespace gone is not found.' }));
      } else {
        res.statusCode = 404;
        res.end('Not Found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('the list follows page tokens up to the limit, on one kept-alive client', async () => {
    const client = temporalHttpClient({ address, namespace: 'ns', apiKey: 'secret-key' });
    try {
      const all = await listIncidentsOverHttp(client, `WorkflowType = 'incident'`, 50);
      assert.deepEqual(all.map((i) => i.incidentId), [0, 1, 2, 3, 4].map((n) => `incident/app/n-${n}`));
      seen.length = 0;
      const three = await listIncidentsOverHttp(client, `WorkflowType = 'incident'`, 3);
      assert.equal(three.length, 3);
      assert.equal(seen.length, 2, 'stops asking once it has the limit');
      assert.equal(seen[0]?.url.searchParams.get('pageSize'), '3');
      assert.equal(seen[0]?.auth, 'Bearer secret-key');
    } finally {
      client.close();
    }
  });

  test("an error answer rejects with the server's message and gRPC code", async () => {
    const client = temporalHttpClient({ address, namespace: 'gone' });
    try {
      await assert.rejects(listIncidentsOverHttp(client, 'x', 1), (err: unknown) => {
        assert.ok(err instanceof TemporalHttpError);
        assert.equal(err.code, 5);
        assert.equal(err.httpStatus, 404);
        assert.equal(err.message, 'Namespace gone is not found.');
        return true;
      });
      await assert.rejects(client.call('GET', ['elsewhere']), (err: unknown) => err instanceof TemporalHttpError && err.code === undefined && /HTTP 404 Not Found/.test(err.message));
    } finally {
      client.close();
    }
  });

  test('a server that does not answer in time is an error naming the address', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const at = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const client = temporalHttpClient({ address: at, namespace: 'ns', timeoutMs: 200 });
    try {
      await assert.rejects(client.call('GET', ['workflows']), new RegExp(`no answer from ${at} within 200 ms`));
    } finally {
      client.close();
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
