import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { signalProcessGroup } from '../../platform/process-group';
import type { ManagedProcess } from '../../stack/managed-process';

/** Whether a process with this pid exists (a zombie counts until reaped). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills a process's whole group at once, as a crash would, and waits until it is gone. */
export async function crash(proc: ManagedProcess): Promise<void> {
  signalProcessGroup(proc.pid, 'SIGKILL');
  await proc.exited;
}

/** The body of `GET /` on a loopback port, on a fresh connection each time. */
export function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, agent: false, timeout: 3000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      })
      .on('error', reject);
  });
}

// A stand-in service: answers `GET /health` with `healthy <pid>` and any
// other path with `pid <pid>`, on the port given as its first argument.
const PID_SERVER = `
const http = require('node:http');
http.createServer((req, res) => res.end(req.url === '/health' ? 'healthy ' + process.pid : 'pid ' + process.pid))
  .listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * Writes the stand-in service program to `dir/server.js` and returns its path;
 * each test gets its own copy, so its path finds that test's processes only.
 */
export async function writePidServer(dir: string): Promise<string> {
  const file = path.join(dir, 'server.js');
  await writeFile(file, PID_SERVER);
  return file;
}
