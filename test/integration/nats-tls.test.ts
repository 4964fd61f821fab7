import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { connectNats, type NatsConnectConfig } from '../../config/nats-connect';
import { credentialsDir, ensureNatsCredentials } from '../../config/nats-credentials';
import type { ManagedProcess } from '../../stack/managed-process';
import { startNatsServer } from '../../stack/nats-server';
import { freePorts } from '../../stack/ports';

const run = promisify(execFile);
let dir = '';
let server: ManagedProcess | undefined;
let port = 0;
let ca = '';

/** A CA and a server certificate for 127.0.0.1 / localhost signed by it, made with openssl (argv arrays, no shell). */
async function makeCertificates(into: string): Promise<void> {
  const p = (name: string): string => join(into, name);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', p('ca-key.pem'), '-out', p('ca.pem')]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', p('server-key.pem'), '-out', p('server.csr')]);
  writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca-key.pem'), '-CAcreateserial', '-days', '1', '-extfile', p('ext.cnf'), '-out', p('server.pem')]);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nats-tls-'));
  await makeCertificates(dir);
  ca = join(dir, 'ca.pem');
  const [p, monitorPort] = await freePorts(2);
  port = p ?? 0;
  const users = ensureNatsCredentials(credentialsDir(dir), 4);
  server = await startNatsServer({ stateDir: dir, port, monitorPort: monitorPort ?? 0, users, tls: { certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server-key.pem') } });
});

after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const config = (extra: Partial<NatsConnectConfig> = {}): NatsConnectConfig => ({ natsUrl: `tls://127.0.0.1:${port}`, stateDir: dir, ...extra });

test('a client given RUNBOOK_NATS_TLS_CA connects over TLS as its role', async () => {
  const nc = await connectNats(config({ natsTlsCa: ca }), 'producer', { reconnect: false });
  try {
    await nc.flush();
    assert.equal(nc.info?.tls_required, true);
  } finally {
    await nc.close();
  }
});

test('a client without the CA does not trust the server', async () => {
  await assert.rejects(connectNats(config(), 'producer', { reconnect: false, timeout: 5_000 }), /self[- ]signed|unable to verify|certificate/i);
});

test('the server refuses a plaintext client', async () => {
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString();
      // The server announces TLS in INFO; a client that answers in plaintext is told off and dropped.
      if (text.startsWith('INFO') && !text.includes('CONNECT_SENT')) {
        socket.write('CONNECT {"verbose":false,"user":"producer","pass":"x"}\r\nPING\r\n');
        text += 'CONNECT_SENT';
      }
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
  assert.match(reply, /"tls_required":true/);
  assert.doesNotMatch(reply, /PONG/);
});
