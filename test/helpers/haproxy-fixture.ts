import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../stack/ports';
import { waitFor, WaitTimeoutError } from '../../stack/wait-for';

/** One small backend server the fixture runs in this process. */
export interface FixtureServer {
  name: string;
  port: number;
}

/** A running haproxy in front of two node http servers. */
export interface HaproxyFixture {
  dir: string;
  configPath: string;
  /** Unix stats socket (level admin). */
  socketPath: string;
  /** `tcp://127.0.0.1:PORT` stats listener (level admin), when requested. */
  tcpSocket: string | undefined;
  frontendPort: number;
  backend: string;
  servers: readonly FixtureServer[];
  /** Stops haproxy and the backend servers and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of startHaproxyFixture. */
export interface HaproxyFixtureOptions {
  tcpStats?: boolean;
  haproxyPath?: string;
  startTimeoutMs?: number;
}

async function startNamedServer(name: string): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end(name);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { server, port: (server.address() as net.AddressInfo).port };
}

function canConnect(options: net.NetConnectOpts): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(options);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function renderConfig(p: {
  socketPath: string;
  tcpStatsPort: number | undefined;
  frontendPort: number;
  backend: string;
  servers: readonly FixtureServer[];
}): string {
  return [
    'global',
    `    stats socket ${p.socketPath} mode 600 level admin`,
    ...(p.tcpStatsPort === undefined ? [] : [`    stats socket ipv4@127.0.0.1:${p.tcpStatsPort} level admin`]),
    'defaults',
    '    mode http',
    '    timeout connect 2s',
    '    timeout client 5s',
    '    timeout server 5s',
    'frontend fe_app',
    `    bind 127.0.0.1:${p.frontendPort}`,
    `    default_backend ${p.backend}`,
    `backend ${p.backend}`,
    '    balance roundrobin',
    ...p.servers.map((s) => `    server ${s.name} 127.0.0.1:${s.port} check inter 500ms`),
    '',
  ].join('\n');
}

/**
 * Starts a real haproxy (foreground, `-db`) with a generated config in a temp
 * dir and waits until both its stats socket and its frontend accept connections.
 */
export async function startHaproxyFixture(options: HaproxyFixtureOptions = {}): Promise<HaproxyFixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'haproxy-fixture-'));
  const backends = await Promise.all(['s1', 's2'].map(async (name) => ({ name, ...(await startNamedServer(name)) })));
  const servers = backends.map(({ name, port }) => ({ name, port }));
  const socketPath = path.join(dir, 'admin.sock');
  const configPath = path.join(dir, 'haproxy.cfg');
  const logPath = path.join(dir, 'haproxy.log');
  const frontendPort = await freePort();
  const tcpStatsPort = options.tcpStats ? await freePort() : undefined;
  const backend = 'be_app';
  await writeFile(configPath, renderConfig({ socketPath, tcpStatsPort, frontendPort, backend, servers }));

  const logFd = openSync(logPath, 'a');
  const child = spawn(options.haproxyPath ?? '/usr/sbin/haproxy', ['-db', '-f', configPath], {
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
  });
  child.once('error', () => undefined);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    }
    await Promise.all(
      backends.map(
        ({ server }) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitFor('haproxy to become ready', options.startTimeoutMs ?? 10_000, async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`haproxy exited during start-up:\n${await readFile(logPath, 'utf8').catch(() => '')}`);
      return (
        (await canConnect({ path: socketPath })) &&
        (await canConnect({ host: '127.0.0.1', port: frontendPort })) &&
        (tcpStatsPort === undefined || (await canConnect({ host: '127.0.0.1', port: tcpStatsPort })))
      );
    }, 50);
  } catch (err) {
    await stop();
    throw err instanceof WaitTimeoutError ? new Error('haproxy did not become ready in time') : err;
  }

  return {
    dir,
    configPath,
    socketPath,
    tcpSocket: tcpStatsPort === undefined ? undefined : `tcp://127.0.0.1:${tcpStatsPort}`,
    frontendPort,
    backend,
    servers,
    stop,
  };
}
