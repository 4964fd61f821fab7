import { readFile } from 'node:fs/promises';
import { ConfigError, ENV, type Config } from './config';

/** TLS settings in the shape both `Connection.connect` and `NativeConnection.connect` take. */
export interface TemporalTlsOptions {
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
  serverNameOverride?: string;
}

/**
 * Options for `Connection.connect`, `Connection.lazy` and
 * `NativeConnection.connect`; spread them and add call-specific ones such as
 * `connectTimeout`. They hold key material: never log them.
 */
export interface TemporalConnectOptions {
  address: string;
  tls?: TemporalTlsOptions | true;
  apiKey?: string;
}

/** The configuration a Temporal connection is built from. */
export type TemporalConnectionConfig = Pick<
  Config,
  'temporalAddress' | 'temporalTls' | 'temporalTlsCa' | 'temporalTlsCert' | 'temporalTlsKey' | 'temporalTlsServerName' | 'temporalApiKeyFile'
>;

type FileSetting = 'temporalTlsCa' | 'temporalTlsCert' | 'temporalTlsKey' | 'temporalApiKeyFile';

async function readSetting(config: TemporalConnectionConfig, key: FileSetting): Promise<Buffer | undefined> {
  const path = config[key];
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`${ENV[key]}: cannot read ${path} (${code})`);
  }
}

/** The API key as sent: one line, surrounding white space (a trailing newline) dropped. */
function apiKeyFrom(raw: Buffer, path: string): string {
  const key = raw.toString('utf8').trim();
  // A key with white space inside would make a malformed (or split) authorization header; the key itself is never quoted.
  if (key.length === 0 || /\s/.test(key)) throw new ConfigError(`${ENV.temporalApiKeyFile}: ${path} must hold one API key on one line`);
  return key;
}

/**
 * The one place a Temporal connection's address and security are decided, for
 * every process and command. Certificate, key and API key files are read here,
 * at connect time, so a rotated file takes effect on the next connection; an
 * unreadable file is a ConfigError naming the variable and the path.
 */
export async function temporalConnectOptions(config: TemporalConnectionConfig): Promise<TemporalConnectOptions> {
  if (!config.temporalTls) return { address: config.temporalAddress };
  const [ca, crt, key, apiKey] = await Promise.all([
    readSetting(config, 'temporalTlsCa'),
    readSetting(config, 'temporalTlsCert'),
    readSetting(config, 'temporalTlsKey'),
    readSetting(config, 'temporalApiKeyFile'),
  ]);
  const tls: TemporalTlsOptions = {
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(config.temporalTlsServerName ? { serverNameOverride: config.temporalTlsServerName } : {}),
  };
  return {
    address: config.temporalAddress,
    tls: Object.keys(tls).length > 0 ? tls : true,
    ...(apiKey && config.temporalApiKeyFile ? { apiKey: apiKeyFrom(apiKey, config.temporalApiKeyFile) } : {}),
  };
}
