import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { closeHttpServer, startHttpServer } from '../../observability/http-server';
import { refuseUnread, type DrainBounds } from '../../observability/refuse-unread';
import { freePorts } from '../../stack/ports';
import { waitFor } from '../../stack/wait-for';

/*
 * A refusal answered before the body is read, seen from a raw socket so the
 * test decides when each byte of the body is sent.
 */

let server: Server;
let port = 0;

before(async () => {
  [port = 0] = await freePorts(1);
  const bounds: Record<string, DrainBounds> = { '/slow': { maxMs: 200 }, '/small': { maxBytes: 64 * 1024 }, '/patient': { maxMs: 60_000 } };
  server = await startHttpServer(port, [(req, res, url) => {
    refuseUnread(req, res, 413, { error: 'too big' }, bounds[url.pathname] ?? {});
    return true;
  }]);
});

after(async () => {
  if (server) await closeHttpServer(server);
});

const REPLY = '{"error":"too big"}';

/** A raw connection that records what came back and how it ended. */
function open(): { socket: Socket; received: () => string; ended: () => boolean; closed: () => boolean } {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  let ended = false;
  let closed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('end', () => (ended = true));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  return { socket, received: () => text, ended: () => ended, closed: () => closed };
}

const head = (path: string, length: number | 'chunked'): string =>
  `POST ${path} HTTP/1.1\r\nhost: test\r\n${length === 'chunked' ? 'transfer-encoding: chunked' : `content-length: ${length}`}\r\n\r\n`;

test('the refusal is answered before the body is sent, and the connection ends only once the body is done', async () => {
  const c = open();
  c.socket.write(`${head('/patient', 100_000)}${'x'.repeat(10)}`);
  await waitFor('the whole refusal', 5_000, () => c.received().endsWith(REPLY), 10);
  assert.match(c.received(), /^HTTP\/1\.1 413 /);
  assert.match(c.received(), /\r\nconnection: close\r\n/i);
  assert.equal(c.ended(), false, 'the connection stays open while the body is still coming');
  c.socket.write('x'.repeat(100_000 - 10));
  await waitFor('the server to end the connection', 5_000, () => c.ended(), 10);
  c.socket.destroy();
});

test('a sender that stops halfway is cut off after the time bound', async () => {
  const c = open();
  c.socket.write(`${head('/slow', 100_000)}${'x'.repeat(10)}`);
  await waitFor('the connection to be closed', 5_000, () => c.closed(), 10);
  assert.ok(c.received().endsWith(REPLY), 'the refusal was read first');
});

test('a sender that goes on past the byte bound is cut off', async () => {
  const c = open();
  c.socket.write(head('/small', 'chunked'));
  const chunk = `${(16 * 1024).toString(16)}\r\n${'x'.repeat(16 * 1024)}\r\n`;
  let sent = 0;
  const GIVE_UP = 1024 * 1024 * 1024;
  while (!c.closed() && sent < GIVE_UP) {
    if (!c.socket.write(chunk)) await new Promise((ok) => c.socket.once('drain', ok).once('close', ok));
    sent += chunk.length;
  }
  assert.ok(c.closed(), 'closed long before a gigabyte was sent');
});

test('a declared length beyond the bound is not waited for', async () => {
  const c = open();
  c.socket.write(head('/small', 17 * 1024 * 1024));
  await waitFor('the server to end the connection', 5_000, () => c.ended(), 10);
  assert.ok(c.received().endsWith(REPLY));
  c.socket.destroy();
});

test('a request with no body is answered and closed at once', async () => {
  const c = open();
  c.socket.write(head('/patient', 0));
  await waitFor('the server to end the connection', 5_000, () => c.ended(), 10);
  assert.ok(c.received().endsWith(REPLY));
  c.socket.destroy();
});
