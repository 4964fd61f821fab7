import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { ensureDeploySecrets, type DeploySecretsResult } from '../../cli/commands/deploy-secrets';
import { ENV, loadConfig } from '../../config/config';
import { NATS_CLUSTER_NODES } from '../../config/nats-cluster-shape';
import { NATS_ROLES } from '../../config/nats-permissions';
import { PROJECT_ROOT } from '../../stack/toolchain';

/**
 * docker-compose.yml against what the processes read: every file a service
 * is told about is mounted into it, every mounted file is in the repository
 * or made by `runbook deploy-secrets`, each service's NATS user is the role
 * its entry point connects as, and each service's environment parses with
 * the same configuration loader the process uses.
 */

interface Service {
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
}
const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const ours = Object.entries(compose.services).filter(([, svc]) => svc.build !== undefined);

let generatedDir: string;
let generated: DeploySecretsResult;

before(async () => {
  generatedDir = mkdtempSync(join(tmpdir(), 'deploy-secrets-'));
  generated = await ensureDeploySecrets(generatedDir);
});

after(() => rmSync(generatedDir, { recursive: true, force: true }));

interface Mount {
  host: string;
  target: string;
  readOnly: boolean;
}

function mounts(svc: Service): Mount[] {
  return (svc.volumes ?? [])
    .filter((v) => v.startsWith('./'))
    .map((v) => {
      const [host = '', target = '', mode] = v.split(':');
      return { host, target, readOnly: mode === 'ro' };
    });
}

/** The host path behind `containerPath` in `svc` (a file mount, or a file inside a mounted directory). */
function hostPathOf(svc: Service, containerPath: string): string | undefined {
  for (const m of mounts(svc)) {
    if (m.target === containerPath) return m.host;
    if (containerPath.startsWith(`${m.target}/`)) return `${m.host}/${containerPath.slice(m.target.length + 1)}`;
  }
  return undefined;
}

/** Where a `./deploy/...` host path exists: in the repository, or among the files `runbook deploy-secrets` made. */
function provenance(host: string): 'repository' | 'generated' | undefined {
  const rel = host.replace(/^\.\/deploy\//, '');
  if (generated.files.includes(rel)) return 'generated';
  if (existsSync(join(generatedDir, rel)) && statSync(join(generatedDir, rel)).isDirectory() && existsSync(join(PROJECT_ROOT, host))) return 'repository';
  if (existsSync(join(PROJECT_ROOT, host))) return 'repository';
  return undefined;
}

/** Variables whose value names a file the process opens. */
const FILE_VARIABLES = Object.values(ENV).filter((name) => /_(FILE|CA|CERT|KEY|CREDS)$/.test(name));

test('every file a service is told about is mounted into it, from the repository or from runbook deploy-secrets', () => {
  for (const [name, svc] of ours) {
    for (const variable of FILE_VARIABLES) {
      const path = svc.environment?.[variable];
      if (path === undefined) continue;
      const host = hostPathOf(svc, path);
      assert.ok(host, `${name}: ${variable}=${path} is not mounted`);
      assert.ok(provenance(host), `${name}: ${variable} reads ${host}, which neither the repository nor runbook deploy-secrets provides`);
    }
  }
});

test('every file mounted from deploy/ exists in the repository or is made by runbook deploy-secrets, and secrets are mounted read-only', () => {
  for (const [name, svc] of Object.entries(compose.services)) {
    for (const m of mounts(svc).filter((mount) => mount.host.startsWith('./deploy/'))) {
      const from = provenance(m.host);
      assert.ok(from, `${name} mounts ${m.host}, which nothing provides`);
      if (from === 'generated' && !m.host.endsWith('.pem')) assert.ok(m.readOnly, `${name} mounts the secret ${m.host} writable`);
    }
  }
});

test('a secret is mounted only into the services that need it', () => {
  const holders = (file: string): string[] =>
    Object.entries(compose.services)
      .filter(([, svc]) => mounts(svc).some((m) => m.host === `./deploy/${file}` || `./deploy/${file}`.startsWith(`${m.host}/`)))
      .map(([name]) => name)
      .sort();
  assert.deepEqual(holders('intake/intake-webhook.token'), ['intake-1', 'intake-2']);
  assert.deepEqual(holders('config/decision.key'), ['api', 'worker-1', 'worker-2']);
  assert.deepEqual(holders('nats/auth.conf'), [...NATS_CLUSTER_NODES]);
  assert.deepEqual(holders('nats/route.password'), [], 'the route password reaches the nodes only inside their route includes');
  for (const node of NATS_CLUSTER_NODES) assert.deepEqual(holders(`nats/cluster-${node}.conf`), [node], `${node}'s route include`);
  assert.deepEqual(holders('certs/ca-key.pem'), [], 'the CA key stays on the host');
  for (const role of NATS_ROLES) {
    const users = ours.filter(([, svc]) => svc.environment?.[ENV.natsUser] === role).map(([name]) => name).sort();
    assert.deepEqual(holders(`nats/${role}.password`), users, `nats/${role}.password`);
  }
});

test("each service's NATS user is the role its entry point connects as, with that role's password", () => {
  for (const [name, svc] of ours) {
    const env = svc.environment ?? {};
    if (env[ENV.natsUrl] === undefined) continue;
    const role = env[ENV.natsUser];
    assert.ok(role && (NATS_ROLES as readonly string[]).includes(role), `${name}: ${ENV.natsUser}=${role ?? ''} is not a NATS role`);
    assert.equal(hostPathOf(svc, env[ENV.natsPasswordFile] ?? ''), `./deploy/nats/${role}.password`, `${name} reads the ${role} password`);
    const entry = (svc.command?.[1] ?? '').replace(/^dist\//, '').replace(/\.js$/, '.ts');
    const source = readFileSync(join(PROJECT_ROOT, entry), 'utf8');
    assert.ok(source.includes(`connectNats(config, '${role}'`), `${entry} connects to NATS as ${role}`);
  }
});

test('NATS serves TLS with the mounted certificates and the users runbook deploy-secrets generates', () => {
  const conf = readFileSync(join(PROJECT_ROOT, 'deploy', 'nats-server.conf'), 'utf8');
  const include = /^include\s+(\S+)/m.exec(conf)?.[1];
  assert.ok(include, 'nats-server.conf includes the users');
  for (const node of NATS_CLUSTER_NODES) {
    const nats = compose.services[node];
    assert.ok(nats, node);
    for (const [, file] of conf.matchAll(/(?:cert_file|key_file|ca_file):\s*"([^"]+)"/g)) {
      assert.ok(file && hostPathOf(nats, file), `${node}: nats-server.conf reads ${file ?? ''}, which is not mounted`);
    }
    assert.equal(hostPathOf(nats, posix.join('/etc/nats', include)), './deploy/nats/auth.conf', `${node} mounts the users`);
  }
  const auth = readFileSync(join(generatedDir, 'nats', 'auth.conf'), 'utf8');
  for (const [, svc] of ours) {
    const role = svc.environment?.[ENV.natsUser];
    if (role) assert.match(auth, new RegExp(`user:\\s*"?${role}"?`), `auth.conf has the ${role} user`);
  }
  assert.doesNotMatch(auth, /password:\s*"(?!\$2a\$)/, 'auth.conf holds bcrypt hashes only');
  for (const role of NATS_ROLES) {
    assert.ok(!auth.includes(readFileSync(join(generatedDir, 'nats', `${role}.password`), 'utf8').trim()), `auth.conf does not hold the ${role} password`);
  }
  for (const [name, svc] of ours) {
    const url = svc.environment?.[ENV.natsUrl];
    if (url) assert.match(url, /^tls:\/\//, `${name} connects to NATS over TLS`);
  }
});

test("each service's environment parses with the configuration loader its process uses", () => {
  for (const [name, svc] of ours) {
    const env = svc.environment ?? {};
    const config = loadConfig({}, env);
    assert.equal(config.mode, 'production', name);
    if (name === 'worker' || name === 'api') assert.ok(config.rosterFile, `${name} has a roster, which production requires`);
  }
  for (const name of ['intake-1', 'intake-2']) {
    const intake = loadConfig({}, compose.services[name]?.environment ?? {});
    assert.notEqual(intake.intakeWebhookAuth, 'none', name);
    assert.ok(intake.intakeWebhookTokenFile, `${name}: the Alertmanager receiver has a credential`);
  }
});

test('the services without a login of their own listen on loopback only', () => {
  const published = (name: string): string[] => compose.services[name]?.ports ?? [];
  assert.ok(published('temporal-ui').every((p) => p.startsWith('127.0.0.1:')), 'Temporal UI');
  for (const node of NATS_CLUSTER_NODES) {
    const monitoring = published(node).filter((p) => p.endsWith(':8222'));
    assert.ok(monitoring.length > 0 && monitoring.every((p) => p.startsWith('127.0.0.1:')), `${node} monitoring`);
  }
});

test('runbook deploy-secrets keeps what exists: a second run changes no file', async () => {
  const before = generated.files.map((f) => readFileSync(join(generatedDir, f), 'utf8'));
  const again = await ensureDeploySecrets(generatedDir);
  assert.deepEqual(again.files, generated.files);
  assert.deepEqual(
    again.files.map((f) => readFileSync(join(generatedDir, f), 'utf8')),
    before,
  );
  for (const f of again.files.filter((file) => !file.endsWith('.pem') || file.endsWith('-key.pem'))) {
    assert.equal(statSync(join(generatedDir, f)).mode & 0o077, 0, `${f} is private`);
  }
});
