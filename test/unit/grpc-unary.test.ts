import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createSecureServer, createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { GrpcStatusError, grpcChannel } from '../../platform/grpc-unary';
import { ensureCertificates } from '../../platform/tls-certificates';
import { freePort } from '../../stack/ports';

/*
 * Unary calls against a node:http2 server that speaks gRPC's framing:
 * length-prefixed messages, the status in trailers (or in the headers of a
 * trailers-only answer), the message percent-encoded.
 */

let server: Http2Server;
let address = '';
const seen: { headers: IncomingHttpHeaders; body: Buffer }[] = [];

function frame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

function answer(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer): void {
  const path = headers[':path'];
  if (path === '/svc/Echo') {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(frame(Buffer.concat([Buffer.from('echo:'), body.subarray(5)])));
  } else if (path === '/svc/Hang') {
    // Never answers: the caller's deadline has to end the call.
  } else if (path === '/svc/Missing') {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': encodeURIComponent('workflow not found for ID: incident/a/b') }, { endStream: true });
  } else {
    stream.respond({ ':status': 404 }, { endStream: true });
  }
}

before(async () => {
  server = createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ headers, body });
      answer(stream, headers, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('a call sends one framed message with gRPC headers, the API key and metadata, and resolves with the answer', async () => {
  const channel = await grpcChannel({ address, apiKey: 'k-1', metadata: { 'temporal-namespace': 'runbooks' } });
  try {
    const reply = await channel.unary('/svc/Echo', Buffer.from('hi'));
    assert.equal(reply.toString(), 'echo:hi');
    const call = seen.at(-1);
    assert.equal(call?.headers['content-type'], 'application/grpc');
    assert.equal(call?.headers.te, 'trailers');
    assert.equal(call?.headers.authorization, 'Bearer k-1');
    assert.equal(call?.headers['temporal-namespace'], 'runbooks');
    assert.deepEqual([...(call?.body.subarray(0, 5) ?? [])], [0, 0, 0, 0, 2]);
  } finally {
    channel.close();
  }
});

test('a trailers-only error is a GrpcStatusError with the code and the decoded message', async () => {
  const channel = await grpcChannel({ address });
  try {
    await assert.rejects(channel.unary('/svc/Missing', Buffer.alloc(0)), (err: Error) => err instanceof GrpcStatusError && err.code === 5 && err.details === 'workflow not found for ID: incident/a/b');
    await assert.rejects(channel.unary('/svc/Nope', Buffer.alloc(0)), { message: 'HTTP 404 without a gRPC status' });
  } finally {
    channel.close();
  }
});

test('a server that is not there fails the connect', async () => {
  await assert.rejects(grpcChannel({ address: `127.0.0.1:${await freePort()}` }), /ECONNREFUSED/);
});

test('over mutual TLS the call checks the server against the CA and name given and presents the client certificate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-grpc-tls-'));
  const tlsServer = await (async () => {
    await ensureCertificates({ dir, caName: 'grpc test CA' }, [
      { name: 'server', commonName: 'temporal', dns: ['temporal'], usage: ['serverAuth'] },
      { name: 'client', commonName: 'runbook-cli', usage: ['clientAuth'] },
    ]);
    const file = (name: string): Buffer => readFileSync(join(dir, name));
    const s = createSecureServer({ ca: file('ca.pem'), cert: file('server.pem'), key: file('server-key.pem'), requestCert: true, rejectUnauthorized: true });
    s.on('stream', (stream, headers) => {
      const peer = (stream.session?.socket as TLSSocket | undefined)?.getPeerCertificate();
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.resume();
      stream.on('end', () => stream.end(frame(Buffer.from(`${String(headers[':path'])} from ${peer?.subject?.CN ?? '?'}`))));
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return { s, file, address: `127.0.0.1:${(s.address() as AddressInfo).port}` };
  })();
  try {
    const { file } = tlsServer;
    const channel = await grpcChannel({ address: tlsServer.address, tls: { ca: file('ca.pem'), cert: file('client.pem'), key: file('client-key.pem'), servername: 'temporal' } });
    try {
      assert.equal((await channel.unary('/svc/Echo', Buffer.alloc(0))).toString(), '/svc/Echo from runbook-cli');
    } finally {
      channel.close();
    }
    await assert.rejects(async () => {
      const wrongName = await grpcChannel({ address: tlsServer.address, tls: { ca: file('ca.pem'), cert: file('client.pem'), key: file('client-key.pem'), servername: 'elsewhere' } });
      wrongName.close();
    }, /altnames|does not match/i);
  } finally {
    await new Promise<void>((resolve) => tlsServer.s.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a call the server never answers fails at its deadline, which the server is told too, and names what it waited for', async () => {
  const channel = await grpcChannel({ address, callTimeoutMs: 200 });
  try {
    await assert.rejects(channel.unary('/svc/Hang', Buffer.from('x')), (err: Error) => {
      assert.match(err.message, /no answer to \/svc\/Hang from 127\.0\.0\.1:\d+ within 200 ms/);
      return true;
    });
    assert.equal(seen.at(-1)?.headers['grpc-timeout'], '200m');
  } finally {
    channel.close();
  }
});
