import { chownSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ensureDecisionKey } from '../../config/decision-key';
import { CertificateError } from '../../platform/tls-certificates';
import { ensureWebhookToken } from '../../stack/webhook-token';
import { parseFlags, type CliCommand } from '../command';
import { CliError } from '../context';
import { ensureDeployCertificates } from './certs';
import { writeNatsDeployCredentials } from './nats-credentials';

const USAGE = 'runbook deploy-secrets [--dir deploy] [--owner UID]';

/**
 * Where each secret lands under the deployment directory. docker-compose.yml
 * mounts these paths, and test/unit/docker-compose-secrets.test.ts checks
 * that every file it mounts is either in the repository or made here. Each
 * directory is mounted only into the services that need it: the worker sees
 * `config/` (roster, decision key) but not the NATS passwords of other roles
 * or the webhook token.
 */
export const DEPLOY_SECRET_DIRS = { certs: 'certs', nats: 'nats', config: 'config', intake: 'intake' } as const;

/** What `runbook deploy-secrets` made or kept, as paths relative to its directory. */
export interface DeploySecretsResult {
  dir: string;
  files: string[];
}

/**
 * Makes every secret docker-compose.yml needs, keeping those that exist: the
 * CA and TLS certificates, one NATS password per role with the server's
 * auth include, the decision key and the Alertmanager receiver's token.
 * Idempotent; delete a file and run it again to rotate that one secret.
 */
export async function ensureDeploySecrets(dir: string): Promise<DeploySecretsResult> {
  await ensureDeployCertificates(join(dir, DEPLOY_SECRET_DIRS.certs));
  writeNatsDeployCredentials(join(dir, DEPLOY_SECRET_DIRS.nats));
  ensureDecisionKey(join(dir, DEPLOY_SECRET_DIRS.config, 'decision.key'));
  const intakeDir = join(dir, DEPLOY_SECRET_DIRS.intake);
  mkdirSync(intakeDir, { recursive: true, mode: 0o700 });
  ensureWebhookToken(intakeDir);
  const files = Object.values(DEPLOY_SECRET_DIRS).flatMap((sub) => filesIn(join(dir, sub)).map((f) => relative(dir, f)));
  return { dir, files: files.sort() };
}

/** The files in a deployment subdirectory (keys, passwords and tokens are 0600; certificates are public). */
function filesIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.map((n) => join(dir, n)).filter((f) => statSync(f).isFile());
}

/** `runbook deploy-secrets`: everything docker-compose.yml mounts that must not be in the repository. */
export const deploySecretsCommand: CliCommand = {
  name: 'deploy-secrets',
  summary: 'make the certificates, NATS passwords, decision key and webhook token docker-compose needs (keeps existing files)',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(args, { dir: { type: 'string' }, owner: { type: 'string' } }, USAGE);
    if (positionals.length > 0) throw new CliError(`unexpected argument ${JSON.stringify(positionals[0])}\nusage: ${USAGE}`);
    const owner = values.owner === undefined ? undefined : Number(values.owner);
    if (owner !== undefined && !(Number.isInteger(owner) && owner >= 0)) throw new CliError(`--owner must be a numeric user id\nusage: ${USAGE}`);
    const dir = resolve(values.dir ?? 'deploy');
    const result = await ensureDeploySecrets(dir).catch((err: unknown) => {
      throw err instanceof CertificateError ? new CliError(err.message) : err;
    });
    for (const file of result.files) {
      // The containers run as another user; giving them the file keeps its 0600 mode intact.
      if (owner !== undefined) chownSync(join(dir, file), owner, -1);
      process.stdout.write(`${file}\n`);
    }
    process.stderr.write(
      `secrets in ${dir} (keys, passwords and tokens mode 0600)${owner === undefined ? '; the containers read them as uid 1000: run again with --owner 1000 as root, or chown them' : `, owned by uid ${owner}`}\n`,
    );
    return 0;
  },
};
