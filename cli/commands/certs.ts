import { resolve } from 'node:path';
import { CertificateError, ensureCertificates, type CertificateSetResult, type CertificateSpec } from '../../platform/tls-certificates';
import { NATS_CLUSTER_NODES } from '../../config/nats-cluster-shape';
import { parseFlags, type CliCommand } from '../command';
import { CliError } from '../context';

const USAGE = 'runbook certs [--dir deploy/certs] [--days 365] [--force]';

/** Where `runbook certs` writes by default; docker-compose.yml mounts this directory. */
export const DEFAULT_CERTS_DIR = 'deploy/certs';

/** Names every server certificate is valid for besides its compose service name. */
const LOCAL_NAMES = { dns: ['localhost'], ips: ['127.0.0.1'] } as const;

/**
 * The deployment's certificates, signed by one private CA (`ca.pem`): the
 * Temporal and NATS servers under their compose service names, and the
 * client certificate our processes, the Temporal UI and the admin tools
 * present. Temporal's server certificate also authenticates its own
 * internode connections, so it is a client certificate too.
 */
export const DEPLOY_CERTIFICATES: readonly CertificateSpec[] = [
  { name: 'temporal-server', commonName: 'temporal', dns: ['temporal', ...LOCAL_NAMES.dns], ips: LOCAL_NAMES.ips, usage: ['serverAuth', 'clientAuth'] },
  // Each node of the cluster serves clients and dials the others' routes with it, so it is valid for every node name and as a client.
  { name: 'nats-server', commonName: 'nats', dns: ['nats', ...NATS_CLUSTER_NODES, ...LOCAL_NAMES.dns], ips: LOCAL_NAMES.ips, usage: ['serverAuth', 'clientAuth'] },
  { name: 'client', commonName: 'runbook', usage: ['clientAuth'] },
];

/** Makes the deployment's CA and certificates in `dir`, keeping existing files unless `force`. */
export function ensureDeployCertificates(dir: string, opts: { force?: boolean; days?: number } = {}): Promise<CertificateSetResult> {
  return ensureCertificates({ dir, caName: 'self-healing-runbooks CA', ...opts }, DEPLOY_CERTIFICATES);
}

/** `runbook certs`: the CA, server and client certificates for a TLS deployment (docs/deploy.md). */
export const certsCommand: CliCommand = {
  name: 'certs',
  summary: 'make the CA, Temporal/NATS server and client certificates for docker-compose (keeps existing files)',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(args, { dir: { type: 'string' }, days: { type: 'string' }, force: { type: 'boolean' } }, USAGE);
    if (positionals.length > 0) throw new CliError(`unexpected argument ${JSON.stringify(positionals[0])}\nusage: ${USAGE}`);
    const days = values.days === undefined ? undefined : Number(values.days);
    if (days !== undefined && !Number.isInteger(days)) throw new CliError(`--days must be a whole number of days\nusage: ${USAGE}`);
    const dir = resolve(values.dir ?? DEFAULT_CERTS_DIR);
    const result = await ensureDeployCertificates(dir, { ...(values.force ? { force: true } : {}), ...(days !== undefined ? { days } : {}) }).catch((err: unknown) => {
      throw err instanceof CertificateError ? new CliError(err.message) : err;
    });
    for (const name of result.created) process.stdout.write(`created ${name}\n`);
    for (const name of result.kept) process.stdout.write(`kept    ${name}\n`);
    process.stderr.write(`certificates in ${dir}; keys are mode 0600${result.created.length === 0 ? '; nothing to do (pass --force to replace them all)' : ''}\n`);
    return 0;
  },
};
