import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvalidSpecError } from '../../activities/adapters/errors';
import { getServerState, haproxyCommand, listServers, setServerState } from '../../activities/adapters/haproxy';
import { HOSTILE_NAMES } from '../helpers/hostile-input';

/*
 * A backend or server name reaches the HAProxy runtime API inside a command
 * line, so a line break or ';' in it would be a second command. A stand-in
 * runtime API socket records every byte written to it: a hostile name must
 * be refused before anything is.
 */

const dir = mkdtempSync(join(tmpdir(), 'hostile-haproxy-'));
const socket = join(dir, 'admin.sock');
const received: string[] = [];
let connections = 0;
let server: net.Server;

before(async () => {
  server = net.createServer((conn) => {
    connections++;
    conn.on('data', (chunk) => received.push(chunk.toString('utf8')));
    conn.end();
  });
  await new Promise<void>((ok) => server.listen(socket, ok));
});

after(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(dir, { recursive: true, force: true });
});

function assertNothingSent(): void {
  assert.equal(connections, 0, 'no connection was opened to the runtime API');
  assert.deepEqual(received, []);
}

describe('hostile HAProxy names are refused before any command is written', () => {
  for (const { what, value } of HOSTILE_NAMES) {
    test(`a server name with ${what}`, async () => {
      await assert.rejects(setServerState({ socket, backend: 'web', server: value, state: 'maint', dryRun: false }), InvalidSpecError);
      await assert.rejects(setServerState({ socket, backend: 'web', server: value, state: 'maint', dryRun: true }), InvalidSpecError);
      await assert.rejects(getServerState({ socket, backend: 'web', server: value }), InvalidSpecError);
      assertNothingSent();
    });

    test(`a backend name with ${what}`, async () => {
      await assert.rejects(setServerState({ socket, backend: value, server: 'node-1', state: 'drain', dryRun: false }), InvalidSpecError);
      await assert.rejects(listServers({ socket, backend: value }), InvalidSpecError);
      assertNothingSent();
    });
  }

  test('a state that is not ready, drain or maint is refused', async () => {
    await assert.rejects(setServerState({ socket, backend: 'web', server: 'node-1', state: 'maint\nshutdown sessions' as 'maint', dryRun: false }), InvalidSpecError);
    assertNothingSent();
  });

  test('a raw command with a line break is refused before connecting', () => {
    for (const command of ['show servers state web\nset server web/node-2 state maint', 'show info\r', 'show info\n']) {
      assert.throws(() => haproxyCommand({ socket }, command), InvalidSpecError);
    }
    assertNothingSent();
  });

  test('the stand-in does record what reaches it, so the assertions above can fail', async () => {
    await haproxyCommand({ socket }, 'show info');
    assert.equal(connections, 1);
    assert.deepEqual(received, ['show info\n']);
    connections = 0;
    received.length = 0;
  });
});
