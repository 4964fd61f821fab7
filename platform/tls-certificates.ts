import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/*
 * A private CA and the certificates it signs, made with the openssl command
 * (argv arrays, never a shell string). EC P-256 keys, which Go, rustls,
 * Node and HAProxy all accept. Keys are written 0600 into a private temporary
 * directory first and renamed into place, so a half-written set never
 * replaces a good one.
 */

const run = promisify(execFile);

/** One certificate signed by the CA: `<name>.pem` and `<name>-key.pem`. */
export interface CertificateSpec {
  name: string;
  commonName: string;
  /** Subject alternative names; servers need the names clients dial. */
  dns?: readonly string[];
  ips?: readonly string[];
  usage: readonly ('serverAuth' | 'clientAuth')[];
}

/** Options of {@link ensureCertificates}. */
export interface CertificateSetOptions {
  dir: string;
  /** Common name of the CA certificate. */
  caName: string;
  /** Replace every existing file (a new CA, so every certificate is reissued). */
  force?: boolean;
  /** Validity of the certificates it signs; default 365 days (the CA gets ten times that). */
  days?: number;
  opensslPath?: string;
}

/** What {@link ensureCertificates} did, as file names relative to the directory. */
export interface CertificateSetResult {
  created: string[];
  kept: string[];
}

/** The certificate set could not be made; the message says why. */
export class CertificateError extends Error {
  override name = 'CertificateError';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;
const IP = /^[0-9a-fA-F:.]{2,45}$/;

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

function checkSpec(spec: CertificateSpec): void {
  for (const value of [spec.name, spec.commonName, ...(spec.dns ?? [])]) {
    if (!NAME.test(value)) throw new CertificateError(`certificate ${JSON.stringify(spec.name)}: ${JSON.stringify(value)} is not a plain DNS name`);
  }
  for (const ip of spec.ips ?? []) if (!IP.test(ip)) throw new CertificateError(`certificate ${spec.name}: ${JSON.stringify(ip)} is not an IP address`);
}

function leafExtensions(spec: CertificateSpec): string {
  const sans = [...(spec.dns ?? []).map((d) => `DNS:${d}`), ...(spec.ips ?? []).map((ip) => `IP:${ip}`)];
  return [
    '[leaf]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    `extendedKeyUsage = ${spec.usage.join(', ')}`,
    ...(sans.length > 0 ? [`subjectAltName = ${sans.join(', ')}`] : []),
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n');
}

const CA_CONFIG = [
  '[req]',
  'distinguished_name = dn',
  'prompt = no',
  '[dn]',
  '[ca]',
  'basicConstraints = critical, CA:TRUE, pathlen:0',
  'keyUsage = critical, keyCertSign, cRLSign',
  'subjectKeyIdentifier = hash',
  '',
].join('\n');

/**
 * Makes whatever of the CA (`ca.pem`, `ca-key.pem`) and the certificates is
 * missing in `dir`, keeping the files that exist unless `force`. A new CA
 * reissues every certificate, since the old ones no longer chain to it.
 */
export async function ensureCertificates(opts: CertificateSetOptions, specs: readonly CertificateSpec[]): Promise<CertificateSetResult> {
  specs.forEach(checkSpec);
  if (!NAME.test(opts.caName.replace(/ /g, '-'))) throw new CertificateError(`CA name ${JSON.stringify(opts.caName)} must be letters, digits, spaces, dots and dashes`);
  const days = opts.days ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new CertificateError(`validity must be 1-3650 days, got ${days}`);
  const openssl = async (args: string[]): Promise<void> => {
    try {
      await run(opts.opensslPath ?? 'openssl', args);
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw new CertificateError('openssl is not installed (or not on PATH)');
      throw new CertificateError(`openssl ${args[0] ?? ''} failed: ${(e.stderr ?? e.message).trim()}`);
    }
  };

  await mkdir(opts.dir, { recursive: true });
  const file = (name: string): string => join(opts.dir, name);
  const haveCa = !opts.force && (await exists(file('ca.pem')));
  const todo: CertificateSpec[] = [];
  const kept: string[] = haveCa ? ['ca.pem'] : [];
  for (const spec of specs) {
    const have = haveCa && (await exists(file(`${spec.name}.pem`))) && (await exists(file(`${spec.name}-key.pem`)));
    if (have) kept.push(`${spec.name}.pem`, `${spec.name}-key.pem`);
    else todo.push(spec);
  }
  if (haveCa && todo.length === 0) return { created: [], kept };
  if (haveCa && !(await exists(file('ca-key.pem')))) {
    throw new CertificateError(`${file('ca-key.pem')} is missing, so ${todo.map((s) => `${s.name}.pem`).join(', ')} cannot be signed by ${file('ca.pem')}; restore it, or pass --force to make a new CA and reissue everything`);
  }

  const work = await mkdtemp(join(opts.dir, '.certs-'));
  try {
    await chmod(work, 0o700);
    const caKey = haveCa ? file('ca-key.pem') : join(work, 'ca-key.pem');
    const caCert = haveCa ? file('ca.pem') : join(work, 'ca.pem');
    const created: string[] = [];
    if (!haveCa) {
      await writeFile(join(work, 'ca.cnf'), CA_CONFIG);
      await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', caKey]);
      await openssl(['req', '-x509', '-new', '-key', caKey, '-sha256', '-days', String(days * 10), '-subj', `/CN=${opts.caName}`, '-config', join(work, 'ca.cnf'), '-extensions', 'ca', '-out', caCert]);
      created.push('ca.pem', 'ca-key.pem');
    }
    for (const spec of todo) {
      const key = join(work, `${spec.name}-key.pem`);
      const csr = join(work, `${spec.name}.csr`);
      const ext = join(work, `${spec.name}.cnf`);
      await writeFile(ext, leafExtensions(spec));
      await writeFile(join(work, 'req.cnf'), CA_CONFIG);
      await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
      await openssl(['req', '-new', '-key', key, '-subj', `/CN=${spec.commonName}`, '-config', join(work, 'req.cnf'), '-out', csr]);
      await openssl([
        'x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
        '-days', String(days), '-sha256', '-extfile', ext, '-extensions', 'leaf', '-out', join(work, `${spec.name}.pem`),
      ]);
      created.push(`${spec.name}.pem`, `${spec.name}-key.pem`);
    }
    for (const name of created) {
      const from = join(work, name);
      await chmod(from, name.endsWith('-key.pem') ? 0o600 : 0o644);
      await rename(from, file(name));
    }
    return { created, kept };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
