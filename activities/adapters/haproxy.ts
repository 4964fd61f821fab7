import net from 'node:net';
import { isHaproxyName, parseHaproxySocket } from '../../schemas/adapter-inputs';
import {
  HaproxyError,
  InvalidSpecError,
  NotAllowedError,
  TargetNotFoundError,
  TimeoutError,
  VerificationFailedError,
} from './errors';

/** Socket I/O deadline for one runtime API command. @default 5000 */
export const DEFAULT_HAPROXY_TIMEOUT_MS = 5000;
/** How long a state change may take to read back as applied. @default 2000 */
export const DEFAULT_VERIFY_TIMEOUT_MS = 2000;

/** Administrative state as set through `set server ... state`. */
export type AdminState = 'ready' | 'drain' | 'maint';
/** Operational state as decided by health checks (or 'up' when unchecked). */
export type OperationalState = 'down' | 'starting' | 'up' | 'stopping';

// srv_admin_state bits: forced/inherited/config/resolution/hostname maintenance, forced/inherited drain.
const ADMIN_MAINT_MASK = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
const ADMIN_DRAIN_MASK = 0x08 | 0x10;
const OPERATIONAL: readonly OperationalState[] = ['down', 'starting', 'up', 'stopping'];

/**
 * Where the runtime API listens: an absolute unix socket path, or
 * `tcp://host:port` for a `stats socket ipv4@...` listener.
 */
export interface HaproxyEndpoint {
  socket: string;
  timeoutMs?: number;
}

/** One server as read from `show servers state`. */
export interface ServerStatus {
  backend: string;
  server: string;
  admin: AdminState;
  operational: OperationalState;
  /** Raw srv_admin_state bit field, kept for audit. */
  adminFlags: number;
  address: string;
  port: number | null;
  weight: number;
}

/** Input of setServerState. */
export interface SetServerStateInput extends HaproxyEndpoint {
  backend: string;
  server: string;
  state: AdminState;
  dryRun: boolean;
  verifyTimeoutMs?: number;
}

/** Outcome of setServerState; in dry-run nothing is sent but the current state is read. */
export type SetServerStateResult =
  | { dryRun: false; previous: AdminState; current: AdminState; changed: boolean; verified: boolean }
  | { dryRun: true; previous: AdminState; wouldChange: boolean; plan: string };

function assertName(kind: string, value: string): void {
  if (!isHaproxyName(value)) {
    throw new InvalidSpecError(`invalid HAProxy ${kind} name ${JSON.stringify(value)}`);
  }
}

function connectOptions(socket: string): net.NetConnectOpts {
  const address = parseHaproxySocket(socket);
  if (address === undefined) {
    throw new InvalidSpecError(`HAProxy socket must be an absolute path or tcp://host:port, got ${JSON.stringify(socket)}`);
  }
  return address;
}

/**
 * Sends one runtime API command and returns the whole answer. HAProxy closes
 * a non-interactive connection after answering, which marks the end.
 */
export function haproxyCommand(endpoint: HaproxyEndpoint, command: string): Promise<string> {
  if (/[\r\n]/.test(command)) throw new InvalidSpecError('HAProxy command must be a single line');
  const options = connectOptions(endpoint.socket);
  const timeoutMs = endpoint.timeoutMs ?? DEFAULT_HAPROXY_TIMEOUT_MS;
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const conn = net.connect(options);
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new TimeoutError(`HAProxy at ${endpoint.socket} did not answer ${JSON.stringify(command)} within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.once('connect', () => conn.write(`${command}\n`));
    conn.on('data', (chunk: Buffer) => chunks.push(chunk));
    conn.once('error', (cause) => {
      clearTimeout(timer);
      reject(new HaproxyError(`HAProxy runtime API at ${endpoint.socket}: ${cause.message}`, { cause }));
    });
    conn.once('close', (hadError) => {
      clearTimeout(timer);
      if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

function failOnErrorAnswer(answer: string, what: string): void {
  const text = answer.trim();
  if (text === '') return;
  if (/^(No such (server|backend)|Can't find backend)/i.test(text)) {
    throw new TargetNotFoundError(`${what}: ${text}`);
  }
  if (/permission denied/i.test(text)) throw new NotAllowedError(`${what}: ${text}`);
  throw new HaproxyError(`${what}: ${text}`);
}

function parseServersState(answer: string, backend: string): ServerStatus[] {
  const lines = answer.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const header = lines.find((l) => l.startsWith('#'));
  if (header === undefined) failOnErrorAnswer(answer, `show servers state ${backend}`);
  const columns = (header ?? '').replace(/^#\s*/, '').split(/\s+/);
  const col = (row: string[], name: string): string => {
    const value = row[columns.indexOf(name)];
    if (value === undefined) throw new HaproxyError(`unexpected "show servers state" output: no ${name} column`);
    return value;
  };
  return lines
    .filter((l) => !l.startsWith('#') && /\s/.test(l))
    .map((line) => {
      const row = line.split(/\s+/);
      const adminFlags = Number(col(row, 'srv_admin_state'));
      const op = OPERATIONAL[Number(col(row, 'srv_op_state'))];
      const port = columns.includes('srv_port') ? Number(col(row, 'srv_port')) : NaN;
      return {
        backend: col(row, 'be_name'),
        server: col(row, 'srv_name'),
        admin: adminFlags & ADMIN_MAINT_MASK ? 'maint' : adminFlags & ADMIN_DRAIN_MASK ? 'drain' : 'ready',
        operational: op ?? 'down',
        adminFlags,
        address: col(row, 'srv_addr'),
        port: Number.isInteger(port) && port > 0 ? port : null,
        weight: Number(col(row, 'srv_uweight')),
      } satisfies ServerStatus;
    });
}

/** Every server of a backend with its admin and operational state. */
export async function listServers(input: HaproxyEndpoint & { backend: string }): Promise<ServerStatus[]> {
  assertName('backend', input.backend);
  const answer = await haproxyCommand(input, `show servers state ${input.backend}`);
  return parseServersState(answer, input.backend);
}

/** The state of one server; TargetNotFoundError when the backend or server is unknown. */
export async function getServerState(
  input: HaproxyEndpoint & { backend: string; server: string },
): Promise<ServerStatus> {
  assertName('server', input.server);
  const servers = await listServers(input);
  const found = servers.find((s) => s.server === input.server);
  if (found === undefined) throw new TargetNotFoundError(`no server ${input.backend}/${input.server}`);
  return found;
}

/**
 * Servers of the backend that are ready and up, i.e. actually taking traffic.
 * Callers use it to refuse draining the last one.
 */
export async function countActiveServers(input: HaproxyEndpoint & { backend: string }): Promise<number> {
  const servers = await listServers(input);
  return servers.filter((s) => s.admin === 'ready' && s.operational === 'up').length;
}

/**
 * Puts a server in ready, drain or maint state and reads it back. A server
 * already in that state is left alone (`changed: false`). Throws
 * VerificationFailedError when the read-back never shows the wanted state.
 * Idempotent: it sets a state, never toggles one, so a retry is harmless.
 */
export async function setServerState(input: SetServerStateInput): Promise<SetServerStateResult> {
  assertName('backend', input.backend);
  assertName('server', input.server);
  if (!['ready', 'drain', 'maint'].includes(input.state)) {
    throw new InvalidSpecError(`invalid server state ${JSON.stringify(input.state)}`);
  }
  const target = `${input.backend}/${input.server}`;
  const before = await getServerState(input);
  const previous = before.admin;

  if (input.dryRun) {
    const wouldChange = previous !== input.state;
    const plan = wouldChange
      ? `would send "set server ${target} state ${input.state}" (now ${previous}, ${before.operational})`
      : `server ${target} is already ${previous}; nothing to do`;
    return { dryRun: true, previous, wouldChange, plan };
  }
  if (previous === input.state) {
    return { dryRun: false, previous, current: previous, changed: false, verified: true };
  }

  const answer = await haproxyCommand(input, `set server ${target} state ${input.state}`);
  failOnErrorAnswer(answer, `set server ${target} state ${input.state}`);

  const deadline = Date.now() + (input.verifyTimeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS);
  for (;;) {
    const current = (await getServerState(input)).admin;
    if (current === input.state) return { dryRun: false, previous, current, changed: true, verified: true };
    if (Date.now() >= deadline) {
      throw new VerificationFailedError(`server ${target} reads back as ${current} after setting ${input.state}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits until HAProxy's checks see the server up (or in slowstart), e.g.
 * after it left maintenance for drain. Throws VerificationFailedError with
 * the last state seen when the deadline passes first.
 */
export async function waitServerUp(
  input: HaproxyEndpoint & { backend: string; server: string },
  timeoutMs: number,
): Promise<ServerStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await getServerState(input);
    if (current.operational === 'up' || current.operational === 'starting') return current;
    if (Date.now() >= deadline) {
      throw new VerificationFailedError(
        `server ${input.backend}/${input.server} still reads ${current.admin}/${current.operational} after ${timeoutMs} ms of health checks`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
