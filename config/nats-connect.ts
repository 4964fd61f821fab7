import { resolve } from 'node:path';
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import { ENV, natsServerList, type Config } from './config';
import { NatsCredentialError, readSecretFile, resolveNatsCredential } from './nats-credentials';
import { inboxPrefix, type NatsRole } from './nats-permissions';

/** The parts of the configuration a NATS connection is made from. */
export type NatsConnectConfig = Pick<Config, 'natsUrl' | 'stateDir' | 'natsCreds' | 'natsUser' | 'natsPasswordFile' | 'natsTlsCa' | 'natsTlsCert' | 'natsTlsKey'>;

/** Connection options a caller may add (name, timeouts, reconnect policy); auth, TLS and inbox come from the role. */
export type NatsConnectExtras = Omit<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token' | 'authenticator' | 'tls' | 'inboxPrefix'>;

/**
 * The nats.js options for connecting as `role`: its credential (see
 * resolveNatsCredential), its own inbox prefix (the server lets it read only
 * `_INBOX_<role>.>`), TLS when a CA or client certificate is configured, and
 * every server of the (comma-separated) URL list, so a client fails over to
 * another node of a cluster; long-lived processes pass `reconnect` options.
 * Throws NatsCredentialError naming the variable or file when a credential is
 * missing; the error never contains the secret.
 */
export function natsConnectOptions(config: NatsConnectConfig, role: NatsRole, extras: NatsConnectExtras = {}): ConnectionOptions {
  const credential = resolveNatsCredential(config, role);
  const auth: Partial<ConnectionOptions> =
    credential.kind === 'creds'
      ? { authenticator: credsAuthenticator(new TextEncoder().encode(readSecretFile(resolve(credential.file), ENV.natsCreds))) }
      : { user: credential.user, pass: readSecretFile(resolve(credential.passwordFile), credential.source) };
  if (Boolean(config.natsTlsCert) !== Boolean(config.natsTlsKey)) {
    throw new NatsCredentialError(`${ENV.natsTlsCert} and ${ENV.natsTlsKey} go together; set both for mutual TLS or neither`);
  }
  const tls =
    config.natsTlsCa || config.natsTlsCert
      ? {
          ...(config.natsTlsCa ? { caFile: resolve(config.natsTlsCa) } : {}),
          ...(config.natsTlsCert && config.natsTlsKey ? { certFile: resolve(config.natsTlsCert), keyFile: resolve(config.natsTlsKey) } : {}),
        }
      : undefined;
  return { ...extras, servers: natsServerList(config.natsUrl), ...auth, ...(tls ? { tls } : {}), inboxPrefix: inboxPrefix(role) };
}

/**
 * Connects to NATS as `role`: the one way every process and command reaches
 * NATS, so credentials, TLS and inbox prefixes are the same everywhere.
 */
export function connectNats(config: NatsConnectConfig, role: NatsRole, extras: NatsConnectExtras = {}): Promise<NatsConnection> {
  let options: ConnectionOptions;
  try {
    options = natsConnectOptions(config, role, extras);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  return connect(options);
}
