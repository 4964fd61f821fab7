import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { DEFAULT_CERTS_DIR, DEPLOY_CERTIFICATES } from '../../cli/commands/certs';
import { ENV, loadConfig } from '../../config/config';
import { PROJECT_ROOT } from '../../stack/toolchain';

interface Service {
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test?: string[] };
}
const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const service = (name: string): Service => {
  const svc = compose.services[name];
  assert.ok(svc, `service ${name}`);
  return svc;
};

/** Files `runbook certs` writes, as the compose file names them on the host. */
const generated = new Set(['ca.pem', ...DEPLOY_CERTIFICATES.flatMap((c) => [`${c.name}.pem`, `${c.name}-key.pem`])].map((f) => `./${DEFAULT_CERTS_DIR}/${f}`));

/** The host file mounted at `containerPath` in `svc`, which must be one `runbook certs` makes. */
function mountedCert(svc: string, containerPath: string): string {
  const mount = service(svc).volumes?.find((v) => v.split(':')[1] === containerPath);
  assert.ok(mount, `${svc} mounts ${containerPath}`);
  const [host, , mode] = mount.split(':');
  assert.ok(host && generated.has(host), `${svc} mounts ${host}, which runbook certs makes`);
  assert.equal(mode, 'ro', `${svc} mounts ${host} read-only`);
  return host;
}

test('Temporal serves TLS with the generated server certificate and requires client certificates', () => {
  const env = service('temporal').environment ?? {};
  assert.equal(env.TEMPORAL_TLS_REQUIRE_CLIENT_AUTH, 'true');
  assert.match(mountedCert('temporal', env.TEMPORAL_TLS_FRONTEND_CERT ?? ''), /temporal-server\.pem$/);
  assert.match(mountedCert('temporal', env.TEMPORAL_TLS_FRONTEND_KEY ?? ''), /temporal-server-key\.pem$/);
  assert.match(mountedCert('temporal', env.TEMPORAL_TLS_CLIENT1_CA_CERT ?? ''), /ca\.pem$/);
  assert.equal(env.TEMPORAL_TLS_FRONTEND_SERVER_NAME, 'temporal', 'a name the server certificate is valid for');
  assert.ok(DEPLOY_CERTIFICATES.find((c) => c.name === 'temporal-server')?.dns?.includes('temporal'));
  const health = service('temporal').healthcheck?.test ?? [];
  for (const flag of ['--tls-ca-path', '--tls-cert-path', '--tls-key-path']) mountedCert('temporal', health[health.indexOf(flag) + 1] ?? '');
});

test('the setup job and the UI present the client certificate', () => {
  const setup = service('temporal-setup').environment ?? {};
  for (const name of ['SETUP_TLS_CA', 'SETUP_TLS_CERT', 'SETUP_TLS_KEY']) mountedCert('temporal-setup', setup[name] ?? '');
  assert.match(readFileSync(join(PROJECT_ROOT, 'deploy', 'temporal-setup.sh'), 'utf8'), /--tls-cert-path "\$SETUP_TLS_CERT"/);
  const ui = service('temporal-ui').environment ?? {};
  for (const name of ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY']) mountedCert('temporal-ui', ui[name] ?? '');
  assert.equal(ui.TEMPORAL_TLS_SERVER_NAME, 'temporal');
});

test('our services connect to Temporal over mTLS with the mounted client certificate', () => {
  for (const svc of ['worker-1', 'worker-2', 'intake-1', 'intake-2', 'api']) {
    const env = service(svc).environment ?? {};
    assert.match(mountedCert(svc, env[ENV.temporalTlsCa] ?? ''), /\/ca\.pem$/);
    assert.match(mountedCert(svc, env[ENV.temporalTlsCert] ?? ''), /\/client\.pem$/);
    assert.match(mountedCert(svc, env[ENV.temporalTlsKey] ?? ''), /\/client-key\.pem$/);
    const config = loadConfig({}, env);
    assert.equal(config.temporalTls, true, `${svc} uses TLS`);
    assert.equal(config.temporalTlsServerName, 'temporal');
  }
});
