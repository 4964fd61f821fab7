import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { SA } from '../../schemas/search-attributes';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { runCli } from '../helpers/cli';
import { webhookAuthorization } from '../helpers/intake-harness';
import { startTestStack, type TestStack } from '../helpers/stack';
import { temporalConnectOptions } from '../../config/temporal-connection';

let stack: TestStack;
let connection: Connection;
let client: Client;

before(async () => {
  stack = await startTestStack({ worker: true, intake: true, overrides: { runbooksDir: join(PROJECT_ROOT, 'test/fixtures/runbooks-hold') } });
  connection = await Connection.connect(await temporalConnectOptions(stack.config));
  client = new Client({ connection, namespace: stack.config.namespace });
});

after(async () => {
  await connection?.close();
  await stack?.stop();
});

test('a fault published with runbook fault becomes an incident with its search attributes', async () => {
  const published = await runCli(['fault', '--service', 'checkout', '--target', 'gpu-7', '--kind', 'node_down', '--severity', 'warning', '--json'], stack.env);
  assert.equal(published.code, 0, published.stderr);
  const { event, incidentId } = JSON.parse(published.stdout) as { event: { id: string }; incidentId: string };
  assert.equal(incidentId, 'incident/checkout/gpu-7');

  const handle = client.workflow.getHandle(incidentId);
  let attrs: Awaited<ReturnType<typeof handle.describe>>['typedSearchAttributes'] | undefined;
  await waitFor('the incident to be visible with its search attributes', 30_000, async () => {
    try {
      const d = await handle.describe();
      attrs = d.typedSearchAttributes;
      return d.status.name === 'RUNNING' && attrs.get(SA.incidentStatus) !== undefined;
    } catch {
      return false;
    }
  });
  assert.equal(attrs?.get(SA.service), 'checkout');
  assert.equal(attrs?.get(SA.target), 'gpu-7');
  assert.equal(attrs?.get(SA.faultKind), 'node_down');
  assert.equal(attrs?.get(SA.severity), 'warning');
  assert.equal(attrs?.get(SA.runbook), 'hold');

  const state = await handle.query<{ faults: { firstEventId: string; count: number } }>('state');
  assert.equal(state.faults.firstEventId, event.id);
  assert.equal(state.faults.count, 1);

  await waitFor('runbook incidents to list the incident', 30_000, async () => {
    const listed = await runCli(['incidents', '--json', '--service', 'checkout'], stack.env);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as { incidentId: string; target: string; runbook: string }[];
    return rows.some((r) => r.incidentId === incidentId && r.target === 'gpu-7' && r.runbook === 'hold');
  }, 500);
});

test('runbook fault refuses an unsafe target and names the field', async () => {
  const res = await runCli(['fault', '--service', 'checkout', '--target', 'gpu-7; reboot', '--kind', 'node_down'], stack.env);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /target/);
});

test('labels named __proto__, constructor and hasOwnProperty reach the incident from an Alertmanager alert', async () => {
  // JSON text, because an object literal's `__proto__` would set the prototype instead of a key.
  const labels = '{"alertname":"node_down","service":"protolabels","instance":"node-1","severity":"constructor","__proto__":"p","constructor":"c","hasOwnProperty":"h"}';
  const body = `{"version":"4","status":"firing","receiver":"ops","alerts":[{"status":"firing","labels":${labels},"annotations":{"__proto__":"pa"},"startsAt":"2024-05-01T12:00:00Z","fingerprint":"0123456789abcdef"}]}`;
  const res = await fetch(`http://127.0.0.1:${stack.config.intakePort}/alertmanager`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: webhookAuthorization(stack) } });
  const reply = (await res.json()) as { stored: number; rejected: unknown[] };
  assert.equal(res.status, 200, JSON.stringify(reply));
  assert.deepEqual(reply.rejected, []);

  const handle = client.workflow.getHandle('incident/protolabels/node-1');
  type Seen = { faults: { severity: string }; firstFault: { labels: Record<string, string>; annotations: Record<string, string> } };
  let state: Seen | undefined;
  await waitFor('the incident to answer its state query', 30_000, async () => {
    try {
      state = await handle.query<Seen>('state');
      return true;
    } catch {
      return false;
    }
  });
  assert.equal(state?.faults.severity, 'warning', 'an inherited name is no severity: the default applies');
  const kept = state?.firstFault.labels ?? {};
  assert.equal(Object.getOwnPropertyDescriptor(kept, '__proto__')?.value, 'p');
  assert.equal(Object.getOwnPropertyDescriptor(kept, 'constructor')?.value, 'c');
  assert.equal(Object.getOwnPropertyDescriptor(kept, 'hasOwnProperty')?.value, 'h');
  assert.equal(Object.getOwnPropertyDescriptor(state?.firstFault.annotations ?? {}, '__proto__')?.value, 'pa');
});
