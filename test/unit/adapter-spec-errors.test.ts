import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { ActionContext } from '../../activities/action-context';
import { assertAllowed, runCommand } from '../../activities/adapters/command';
import { InvalidSpecError, NotAllowedError } from '../../activities/adapters/errors';
import { getServerState, setServerState } from '../../activities/adapters/haproxy';
import { postWebhook, type PostWebhookInput } from '../../activities/adapters/http-webhook';
import { probe } from '../../activities/adapters/probe';
import { runProcess } from '../../activities/adapters/process-runner';
import { startService } from '../../activities/adapters/process-supervisor';
import { syncData } from '../../activities/adapters/rsync';
import { takeSnapshot } from '../../activities/adapters/snapshots';
import { resolveSecret } from '../../activities/adapters/secrets';
import { systemctlAction } from '../../activities/adapters/systemd';
import { callCommand } from '../../activities/call-command';
import { callWebhook } from '../../activities/call-webhook';
import { runNotify } from '../../activities/notify-action';
import { toProbeSpec } from '../../activities/probe-once';
import { runServiceAction } from '../../activities/service-actions';
import { resolveService } from '../../activities/service-registry';
import { runSync } from '../../activities/sync-action';
import { runIsolate } from '../../activities/traffic-actions';
import { validateCommand } from '../../cli/commands/validate';
import type { Action, CommandSpec, Webhook } from '../../schemas/runbook';

/*
 * Every place an activity or adapter refuses a spec for good (InvalidSpec, or
 * NotAllowed for the allow-list) is listed here, with a runbook that would
 * reach it and the adapter call that refuses it. `runbook validate` must
 * refuse the same runbook first, naming the field. Sites that no runbook can
 * reach say why. A new throw site without a row fails the first test.
 */

const ROOT = path.join(__dirname, '..', '..');
const SCANNED = ['activities', 'activities/adapters'];

/** `file Class: message source` for every permanent spec error thrown in the scanned folders. */
function throwSites(): string[] {
  const sites: string[] = [];
  for (const dir of SCANNED) {
    for (const name of readdirSync(path.join(ROOT, dir)).filter((n) => n.endsWith('.ts')).sort()) {
      const source = readFileSync(path.join(ROOT, dir, name), 'utf8');
      for (const m of source.matchAll(/new (InvalidSpecError|NotAllowedError)\(\s*([`'"])([\s\S]*?)\2/g)) {
        sites.push(`${dir}/${name} ${m[1]}: ${m[3]}`);
      }
    }
  }
  return sites;
}

/** What a runbook needs around the offending value. */
interface RunbookPart {
  action: Record<string, unknown>;
  step?: Record<string, unknown>;
  settings?: Record<string, unknown>;
}

interface Reachable {
  site: string;
  runbook: RunbookPart;
  /** The field `runbook validate` must name. */
  field: string;
  /** The adapter (or activity) call that refuses the same value at run time. */
  rejects: () => unknown;
}

interface Unreachable {
  site: string;
  unreachable: string;
}

type Case = Reachable | Unreachable;

const ctx = {
  req: { incidentId: 'incident/app/primary', stepId: 's', allowedExecutables: [], action: { kind: 'command' } },
  deps: { services: {}, secretSource: { env: {} } },
  timeoutMs: 1000,
  dryRun: true,
  idempotencyKey: 'incident/app/primary/s',
} as unknown as ActionContext;

const webhook = (overrides: Partial<PostWebhookInput>): PostWebhookInput => ({
  url: 'http://127.0.0.1:1/hook',
  body: {},
  timeoutMs: 1000,
  idempotencyKey: 'k',
  dryRun: true,
  ...overrides,
});
const notifyVia = (hook: Record<string, unknown>) => ({ kind: 'notify', message: 'm', webhook: { url: 'http://127.0.0.1:1/hook', ...hook } });
const command = { argv: ['/bin/true'], max_output: 100 } satisfies CommandSpec;
const haproxy = { socket: '/run/haproxy.sock', backend: 'app', server: 'primary' };
const fenced = { unfenced: true };

const CASES: Case[] = [
  {
    site: 'activities/call-command.ts NotAllowedError: this runbook allows no commands: settings.allowed_executables is empty',
    runbook: { action: { kind: 'command', argv: ['/bin/true'] }, settings: { allowed_executables: undefined } },
    field: 'steps[0].action.argv[0]',
    rejects: () => callCommand(ctx, command),
  },
  {
    site: 'activities/call-webhook.ts InvalidSpecError: webhook method ${hook.method} is not supported; only POST is',
    runbook: { action: notifyVia({ method: 'PUT' }) },
    field: 'steps[0].action.webhook.method',
    rejects: () => callWebhook(ctx, { url: 'http://127.0.0.1:1/', method: 'PUT' } as unknown as Webhook),
  },
  {
    site: 'activities/notify-action.ts InvalidSpecError: invalid NATS subject ${JSON.stringify(subject)}',
    runbook: { action: { kind: 'notify', message: 'm', nats: { subject: 'incidents.*' } } },
    field: 'steps[0].action.nats.subject',
    rejects: () => runNotify(ctx, { kind: 'notify', message: 'm', nats: { subject: 'incidents.*' } }),
  },
  {
    site: 'activities/notify-action.ts InvalidSpecError: notify needs one of webhook or nats',
    runbook: { action: { kind: 'notify', message: 'm' } },
    field: 'steps[0].action',
    rejects: () => runNotify(ctx, { kind: 'notify', message: 'm' }),
  },
  {
    site: 'activities/probe-once.ts InvalidSpecError: a probe target needs one of http, tcp or command',
    runbook: { action: { kind: 'probe', target: {} } },
    field: 'steps[0].action.target',
    rejects: () => toProbeSpec({}, 1000),
  },
  {
    site: 'activities/action-runner.ts InvalidSpecError: ${action.kind} steps are carried out by the workflow, not by runAction',
    unreachable: 'confirm and wait are valid runbook actions; the workflow runs them itself and never sends them to runAction',
  },
  {
    site: 'activities/service-actions.ts InvalidSpecError: no supervisor service',
    unreachable: 'a guard inside viaSupervisor, which is only called when the action has a supervisor',
  },
  {
    site: 'activities/service-actions.ts InvalidSpecError: ${action.kind} needs one of supervisor, systemd, command or webhook',
    runbook: { action: { kind: 'start_service' } },
    field: 'steps[0].action',
    rejects: () => runServiceAction(ctx, { kind: 'start_service', promote: false }),
  },
  {
    site: 'activities/service-registry.ts InvalidSpecError: supervisor.config is not supported; register ${JSON.stringify(ref.service)} in the services file',
    runbook: { action: { kind: 'start_service', supervisor: { service: 'app', config: '/etc/app.conf' } } },
    field: 'steps[0].action.supervisor.config',
    rejects: () => resolveService({}, { service: 'app', config: '/etc/app.conf' }, 1000),
  },
  {
    site: 'activities/sync-action.ts InvalidSpecError: sync_data needs one of rsync or command',
    runbook: { action: { kind: 'sync_data' }, step: fenced },
    field: 'steps[0].action',
    rejects: () => runSync(ctx, { kind: 'sync_data' }),
  },
  {
    site: 'activities/traffic-actions.ts InvalidSpecError: ${action.kind} needs one of haproxy, webhook or command',
    runbook: { action: { kind: 'isolate' } },
    field: 'steps[0].action',
    rejects: () => runIsolate(ctx, { kind: 'isolate' }),
  },
  {
    site: 'activities/adapters/command.ts InvalidSpecError: allow-list entry ${JSON.stringify(entry)} must be absolute or a bare name',
    runbook: { action: { kind: 'command', argv: ['bin/tool'] }, settings: { allowed_executables: ['bin/tool'] } },
    field: 'settings.allowed_executables[0]',
    rejects: () => assertAllowed('bin/tool', ['bin/tool']),
  },
  {
    site: 'activities/adapters/command.ts NotAllowedError: program ${JSON.stringify(argv0)} is not in the allow-list',
    runbook: { action: { kind: 'command', argv: ['/bin/rm', '-rf', '/'] } },
    field: 'steps[0].action.argv[0]',
    rejects: () => assertAllowed('/bin/rm', ['/bin/true']),
  },
  {
    site: 'activities/adapters/command.ts InvalidSpecError: invalid command: ${z.prettifyError(parsed.error)}',
    runbook: { action: { kind: 'command', argv: ['/bin/true'], secrets: { TOKEN: { file: 'token.txt' } } } },
    field: 'steps[0].action.secrets.TOKEN.file',
    rejects: () =>
      runCommand({ argv: ['/bin/true'], allowList: ['/bin/true'], timeoutMs: 1000, maxOutputBytes: 100, secrets: { TOKEN: { file: 'token.txt' } }, dryRun: true }),
  },
  {
    site: 'activities/adapters/command.ts NotAllowedError: argv contains a secret value; pass secrets through the environment',
    unreachable: 'secret values are read at run time; a runbook holds only references',
  },
  {
    site: 'activities/adapters/haproxy.ts InvalidSpecError: invalid HAProxy ${kind} name ${JSON.stringify(value)}',
    runbook: { action: { kind: 'isolate', haproxy: { ...haproxy, server: 'primary;reload' } } },
    field: 'steps[0].action.haproxy.server',
    rejects: () => setServerState({ ...haproxy, server: 'primary;reload', state: 'maint', dryRun: true }),
  },
  {
    site: 'activities/adapters/haproxy.ts InvalidSpecError: HAProxy socket must be an absolute path or tcp://host:port, got ${JSON.stringify(socket)}',
    runbook: { action: { kind: 'isolate', haproxy: { ...haproxy, socket: 'run/haproxy.sock' } } },
    field: 'steps[0].action.haproxy.socket',
    rejects: () => getServerState({ ...haproxy, socket: 'run/haproxy.sock' }),
  },
  {
    site: 'activities/adapters/haproxy.ts InvalidSpecError: HAProxy command must be a single line',
    unreachable: 'the adapter builds each command from names and states it has already checked',
  },
  {
    site: 'activities/adapters/haproxy.ts NotAllowedError: ${what}: ${text}',
    unreachable: "HAProxy's own answer (permission denied) to a well-formed command, known only at run time",
  },
  {
    site: 'activities/adapters/haproxy.ts InvalidSpecError: invalid server state ${JSON.stringify(input.state)}',
    runbook: { action: { kind: 'isolate', haproxy: { ...haproxy, state: 'down' } } },
    field: 'steps[0].action.haproxy.state',
    rejects: () => setServerState({ ...haproxy, state: 'down' as 'maint', dryRun: true }),
  },
  {
    site: 'activities/adapters/http-webhook.ts InvalidSpecError: webhook url ${urlProblem}',
    runbook: { action: notifyVia({ url: 'http://user:secret@hooks.example/x' }) },
    field: 'steps[0].action.webhook.url',
    rejects: () => postWebhook(webhook({ url: 'http://user:secret@hooks.example/x' })),
  },
  {
    site: 'activities/adapters/http-webhook.ts InvalidSpecError: idempotencyKey must be 1-255 printable ASCII characters',
    unreachable: 'the key is made from the incident and step ids, never written in a runbook',
  },
  {
    site: 'activities/adapters/http-webhook.ts InvalidSpecError: timeoutMs must be a positive integer',
    runbook: { action: notifyVia({}), step: { timeout: '0s' } },
    field: 'steps[0].timeout',
    rejects: () => postWebhook(webhook({ timeoutMs: 0 })),
  },
  {
    site: 'activities/adapters/http-webhook.ts InvalidSpecError: header ${JSON.stringify(name)} is invalid or reserved',
    runbook: { action: notifyVia({ headers: { 'Idempotency-Key': 'mine' } }) },
    field: 'steps[0].action.webhook.headers.Idempotency-Key',
    rejects: () => postWebhook(webhook({ headers: { 'Idempotency-Key': 'mine' } })),
  },
  {
    site: 'activities/adapters/http-webhook.ts InvalidSpecError: header values must be a single line',
    runbook: { action: notifyVia({ headers: { 'X-Team': 'ops\r\nX-Evil: 1' } }) },
    field: 'steps[0].action.webhook.headers.X-Team',
    rejects: () => postWebhook(webhook({ headers: { 'X-Team': 'ops\r\nX-Evil: 1' } })),
  },
  {
    site: 'activities/adapters/http-webhook.ts InvalidSpecError: webhook body is not JSON-serialisable',
    unreachable: 'a body read from YAML is always JSON',
  },
  {
    site: 'activities/adapters/http-webhook.ts InvalidSpecError: secret header values must be a single line',
    unreachable: 'secret values are read at run time; a runbook holds only references',
  },
  {
    site: 'activities/adapters/probe.ts InvalidSpecError: invalid probe: ${z.prettifyError(parsed.error)}',
    runbook: { action: { kind: 'probe', target: { http: { url: 'ftp://files.example/health' } } } },
    field: 'steps[0].action.target.http.url',
    rejects: () => probe({ kind: 'http', url: 'ftp://files.example/health', timeoutMs: 1000 }),
  },
  {
    site: 'activities/adapters/process-runner.ts InvalidSpecError: argv must not be empty',
    runbook: { action: { kind: 'command', argv: [] } },
    field: 'steps[0].action.argv',
    rejects: () => runProcess({ argv: [], timeoutMs: 1000, maxOutputBytes: 100 }),
  },
  {
    site: 'activities/adapters/process-supervisor.ts InvalidSpecError: invalid service: ${z.prettifyError(parsed.error)}',
    runbook: { action: { kind: 'start_service', supervisor: { service: 'app standby' } } },
    field: 'steps[0].action.supervisor.service',
    rejects: () => startService({ name: 'app standby', argv: ['/bin/true'], pidFile: '/tmp/x.pid', logFile: '/tmp/x.log' }, { dryRun: true }),
  },
  {
    site: 'activities/adapters/process-supervisor.ts InvalidSpecError: unreachable: start ran as dry-run',
    unreachable: 'an internal invariant of restartService, not a property of any spec',
  },
  {
    site: 'activities/adapters/replica-copy.ts InvalidSpecError: ${label} must be an absolute local path, got ${JSON.stringify(value)}',
    unreachable: 'replication pairs come from the replication file, not a runbook; its schema (schemas/replication-spec.ts) refuses the same paths naming the field',
  },
  {
    site: 'activities/adapters/rsync.ts InvalidSpecError: ${label} must be an absolute local path, got ${JSON.stringify(value)}',
    runbook: { action: { kind: 'sync_data', rsync: { source: 'data/', destination: '/srv/standby/' } }, step: fenced },
    field: 'steps[0].action.rsync.source',
    rejects: () => syncData({ source: 'data/', destination: '/srv/standby/', dryRun: true, timeoutMs: 1000 }),
  },
  {
    site: 'activities/adapters/rsync.ts InvalidSpecError: source and destination are the same path',
    runbook: { action: { kind: 'sync_data', rsync: { source: '/srv/data/', destination: '/srv/data' } }, step: fenced },
    field: 'steps[0].action.rsync.destination',
    rejects: () => syncData({ source: '/srv/data/', destination: '/srv/data', dryRun: true, timeoutMs: 1000 }),
  },
  {
    site: 'activities/adapters/rsync.ts InvalidSpecError: invalid exclude pattern ${JSON.stringify(pattern)}',
    unreachable: 'runbooks have no exclude patterns',
  },
  {
    site: 'activities/adapters/rsync.ts InvalidSpecError: timeoutMs must be a positive integer',
    runbook: { action: { kind: 'sync_data', rsync: { source: '/srv/a/', destination: '/srv/b/' } }, step: { ...fenced, timeout: '0ms' } },
    field: 'steps[0].timeout',
    rejects: () => syncData({ source: '/srv/a/', destination: '/srv/b/', dryRun: true, timeoutMs: 0 }),
  },
  {
    site: 'activities/adapters/snapshots.ts InvalidSpecError: ${label} must be an absolute local path, got ${JSON.stringify(value)}',
    runbook: { action: { kind: 'backup', source: 'data/', repository: '/srv/backups' } },
    field: 'steps[0].action.source',
    rejects: () => takeSnapshot({ source: 'data/', repository: '/srv/backups', key: 'k', dryRun: true, timeoutMs: 1000 }),
  },
  {
    site: 'activities/adapters/snapshots.ts InvalidSpecError: not a snapshot id: ${JSON.stringify(id)}',
    unreachable: 'snapshotTime reads the names of listed snapshot directories, which match the id pattern',
  },
  {
    site: 'activities/adapters/snapshots.ts InvalidSpecError: refusing to remove ${JSON.stringify(id)}: not a snapshot id',
    unreachable: 'retention removes only ids it listed from the repository',
  },
  {
    site: 'activities/adapters/secrets.ts InvalidSpecError: invalid secret reference: ${z.prettifyError(parsed.error)}',
    runbook: { action: notifyVia({ secret_headers: { Authorization: { file: 'secrets/token' } } }) },
    field: 'steps[0].action.webhook.secret_headers.Authorization.file',
    rejects: () => resolveSecret({ file: 'secrets/token' }, { env: {} }),
  },
  {
    site: 'activities/adapters/systemd.ts InvalidSpecError: invalid systemd unit name ${JSON.stringify(unit)}',
    runbook: { action: { kind: 'restart_service', systemd: { unit: '--all' } } },
    field: 'steps[0].action.systemd.unit',
    rejects: () => systemctlAction({ unit: '--all', action: 'restart', dryRun: true }),
  },
  {
    site: 'activities/adapters/systemd.ts InvalidSpecError: invalid systemctl action ${JSON.stringify(input.action)}',
    unreachable: 'the verb comes from the action kind (start_service, stop_service, restart_service)',
  },
];

const dir = mkdtempSync(path.join(tmpdir(), 'spec-walk-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A runbook (with a modeline, so line numbers are checked past it) whose one step carries `part`. */
function runbookText(part: RunbookPart): string {
  const settings = { allowed_executables: ['/bin/true'], ...part.settings };
  const doc = {
    name: 'spec-walk',
    version: 1,
    match: { kinds: ['node_down'] },
    settings: Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)),
    steps: [{ id: 'only', ...part.step, action: part.action as Action }],
  };
  return `# yaml-language-server: $schema=../docs/schemas/runbook.schema.json\n${stringify(doc)}`;
}

/** stderr of `runbook validate <file>`, and its exit code. */
async function validate(file: string): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await validateCommand([file], { json: false }, { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stderr };
}

/** Whether YAML line `text` is where `field` is written: its key, or the list item it indexes. */
function shows(text: string, field: string): boolean {
  if (/\[\d+\]$/.test(field)) return text.trimStart().startsWith('- ');
  return text.includes(`${field.split('.').pop() ?? field}:`) || text.trimStart().startsWith('- ');
}

describe('runbook validate refuses every spec an adapter would refuse', () => {
  test('every InvalidSpec and NotAllowed throw site in the activities has exactly one row', () => {
    const rows = CASES.map((c) => c.site);
    assert.deepEqual([...new Set(rows)].length, rows.length, 'a site is listed twice');
    assert.deepEqual([...rows].sort(), throwSites().sort());
  });

  for (const c of CASES) {
    if ('unreachable' in c) continue;
    test(`${c.site.split(' ')[0] ?? ''}: ${c.field}`, async () => {
      await assert.rejects(
        (async () => c.rejects())(),
        (err: unknown) => err instanceof InvalidSpecError || err instanceof NotAllowedError,
        'the adapter call should refuse the spec',
      );
      const text = runbookText(c.runbook);
      const file = path.join(dir, `${c.field.replace(/[^A-Za-z0-9]+/g, '_')}.yaml`);
      writeFileSync(file, text);
      const { code, stderr } = await validate(file);
      assert.equal(code, 1, `validate accepted:\n${text}`);
      const line = stderr.split('\n').find((l) => l.startsWith(`${file}:`) && l.includes(`: ${c.field}: `));
      assert.ok(line, `no error names ${c.field}:\n${stderr}`);
      assert.match(line, /^.+:\d+: \S+: .+$/);
      const at = Number(/^.+?:(\d+): /.exec(line)?.[1]);
      assert.ok(at > 1, 'the modeline on line 1 is not blamed');
      assert.ok(shows(text.split('\n')[at - 1] ?? '', c.field), `line ${at} does not show ${c.field}:\n${text}`);
    });
  }
});
