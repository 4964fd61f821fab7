import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ensureDeployCertificates } from '../../cli/commands/certs';
import { ENV, loadConfig, type Config } from '../../config/config';
import { temporalConnectOptions } from '../../config/temporal-connection';
import type { ManagedProcess } from '../../stack/managed-process';
import { freePort } from '../../stack/ports';
import { startTemporalServer } from '../../stack/temporal-server';
import { waitFor } from '../../stack/wait-for';

/*
 * The Temporal dev server has no TLS, so a real HAProxy terminates TLS in
 * front of a real dev server: one frontend requires a client certificate
 * signed by our CA (mTLS), the other requires `authorization: Bearer <key>`
 * (an API key, as hosted Temporal takes it). Every client is built by the
 * factory the processes use, from RUNBOOK_TEMPORAL_* settings.
 */

const NAMESPACE = 'runbooks';
const API_KEY = 'tls-test-key-7f3a9c';
const dir = mkdtempSync(join(tmpdir(), 'temporal-tls-'));
const certs = join(dir, 'certs');
const otherCa = join(dir, 'other-certs');
let temporal: ManagedProcess | undefined;
let haproxy: ChildProcess | undefined;
let mtlsPort = 0;
let apiKeyPort = 0;

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function haproxyConfig(p: { backendPort: number; pem: string }): string {
  return [
    'defaults',
    '    mode http',
    '    timeout connect 2s',
    // Longer than Temporal's long polls (about a minute), so HAProxy never cuts a poll short.
    '    timeout client 5m',
    '    timeout server 5m',
    'frontend fe_mtls',
    `    bind 127.0.0.1:${mtlsPort} ssl crt ${p.pem} ca-file ${join(certs, 'ca.pem')} verify required alpn h2`,
    '    default_backend be_temporal',
    'frontend fe_api_key',
    `    bind 127.0.0.1:${apiKeyPort} ssl crt ${p.pem} alpn h2`,
    `    http-request deny deny_status 403 unless { req.hdr(authorization) -m str "Bearer ${API_KEY}" }`,
    '    default_backend be_temporal',
    'backend be_temporal',
    `    server temporal 127.0.0.1:${p.backendPort} proto h2`,
    '',
  ].join('\n');
}

/** Configuration as a process would load it from its environment. */
function configFor(port: number, env: Record<string, string>): Config {
  return loadConfig({}, { [ENV.temporalAddress]: `127.0.0.1:${port}`, [ENV.namespace]: NAMESPACE, ...env });
}

const trustOurCa = { [ENV.temporalTlsCa]: join(certs, 'ca.pem'), [ENV.temporalTlsServerName]: 'temporal' };
const clientCert = { [ENV.temporalTlsCert]: join(certs, 'client.pem'), [ENV.temporalTlsKey]: join(certs, 'client-key.pem') };

/** True when the error, or an error it wraps, is HAProxy's 403 (gRPC PERMISSION_DENIED): the key was checked and refused. */
function deniedByProxy(err: unknown): boolean {
  const seen: string[] = [];
  for (let e: unknown = err; e instanceof Error && seen.length < 5; e = e.cause) seen.push(`${e.message} ${String((e as { code?: unknown }).code ?? '')}`);
  assert.match(seen.join(' | '), /PERMISSION_DENIED|HTTP status code 403/);
  return true;
}

/** Connects and makes one call, so a refusal anywhere (handshake, HTTP) rejects. */
async function reachNamespace(config: Config): Promise<void> {
  const connection = await Connection.connect({ ...(await temporalConnectOptions(config)), connectTimeout: 3_000 });
  try {
    await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
  } finally {
    await connection.close();
  }
}

before(async () => {
  await ensureDeployCertificates(certs);
  await ensureDeployCertificates(otherCa);
  const backendPort = await freePort();
  temporal = await startTemporalServer({ stateDir: join(dir, 'state'), port: backendPort, uiPort: await freePort(), namespace: NAMESPACE, headless: true });
  mtlsPort = await freePort();
  apiKeyPort = await freePort();
  const pem = join(dir, 'haproxy-temporal.pem');
  writeFileSync(pem, readFileSync(join(certs, 'temporal-server.pem'), 'utf8') + readFileSync(join(certs, 'temporal-server-key.pem'), 'utf8'), { mode: 0o600 });
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig({ backendPort, pem }));
  const log = openSync(join(dir, 'haproxy.log'), 'a');
  haproxy = spawn('/usr/sbin/haproxy', ['-db', '-f', cfg], { stdio: ['ignore', log, log] });
  closeSync(log);
  const proxy = haproxy;
  await waitFor('haproxy to listen on both frontends', 10_000, async () => {
    if (proxy.exitCode !== null) throw new Error(`haproxy exited: ${readFileSync(join(dir, 'haproxy.log'), 'utf8')}`);
    return (await canConnect(mtlsPort)) && (await canConnect(apiKeyPort));
  }, 50);
});

after(async () => {
  if (haproxy && haproxy.exitCode === null) {
    const proxy = haproxy;
    const exited = new Promise((resolve) => proxy.once('exit', resolve));
    proxy.kill('SIGTERM');
    await exited;
  }
  await temporal?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a worker and a client connected over mTLS run a workflow to completion', async () => {
  const config = configFor(mtlsPort, { ...trustOurCa, ...clientCert });
  const options = await temporalConnectOptions(config);
  const native = await NativeConnection.connect(options);
  const connection = await Connection.connect(options);
  try {
    const taskQueue = `tls-${Math.random().toString(36).slice(2)}`;
    const worker = await Worker.create({ connection: native, namespace: NAMESPACE, taskQueue, workflowsPath: require.resolve('../fixtures/temporal-tls/workflows') });
    const client = new Client({ connection, namespace: NAMESPACE });
    const result = await worker.runUntil(client.workflow.execute('greet', { taskQueue, workflowId: `greet-${taskQueue}`, args: ['over mTLS'] }));
    assert.equal(result, 'hello over mTLS');
  } finally {
    await connection.close();
    await native.close();
  }
});

test('a client without a client certificate is refused by the mTLS frontend', async () => {
  await assert.rejects(reachNamespace(configFor(mtlsPort, trustOurCa)));
  await reachNamespace(configFor(mtlsPort, { ...trustOurCa, ...clientCert }));
});

test('a client that trusts another CA refuses the server', async () => {
  const wrongTrust = { ...trustOurCa, [ENV.temporalTlsCa]: join(otherCa, 'ca.pem') };
  await assert.rejects(reachNamespace(configFor(mtlsPort, { ...wrongTrust, ...clientCert })));
});

test('the API key is sent as a bearer token, and a wrong or missing key is refused', async () => {
  const keyFile = (name: string, key: string): string => {
    const path = join(dir, name);
    writeFileSync(path, `${key}\n`, { mode: 0o600 });
    return path;
  };
  await reachNamespace(configFor(apiKeyPort, { ...trustOurCa, [ENV.temporalApiKeyFile]: keyFile('right.key', API_KEY) }));
  await assert.rejects(reachNamespace(configFor(apiKeyPort, { ...trustOurCa, [ENV.temporalApiKeyFile]: keyFile('wrong.key', `${API_KEY}-wrong`) })), deniedByProxy);
  await assert.rejects(reachNamespace(configFor(apiKeyPort, trustOurCa)), deniedByProxy);
});
