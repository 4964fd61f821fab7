/**
 * The Temporal connection-security settings as `loadConfig` resolves them,
 * checked together because they only make sense together: a client
 * certificate needs its key, and TLS cannot be off while a CA, a certificate
 * or an API key (which is only ever sent over TLS) is configured.
 */
export interface TemporalSecurityFields {
  temporalTls?: boolean | undefined;
  temporalTlsCa?: string | undefined;
  temporalTlsCert?: string | undefined;
  temporalTlsKey?: string | undefined;
  temporalTlsServerName?: string | undefined;
  temporalApiKeyFile?: string | undefined;
}

/** The setting keys that turn TLS on by being set. */
const IMPLY_TLS = ['temporalTlsCa', 'temporalTlsCert', 'temporalTlsKey', 'temporalTlsServerName', 'temporalApiKeyFile'] as const;

/**
 * Problems with the combination, each naming the variable (or flag) to fix
 * through `nameOf`, and whether TLS is on: explicitly, or implied by any
 * other setting.
 */
export function resolveTemporalSecurity(
  fields: TemporalSecurityFields,
  nameOf: (key: keyof TemporalSecurityFields) => string,
): { tls: boolean; problems: string[] } {
  const problems: string[] = [];
  if (fields.temporalTlsCert !== undefined && fields.temporalTlsKey === undefined) {
    problems.push(`${nameOf('temporalTlsKey')}: must be set together with ${nameOf('temporalTlsCert')} (the client certificate needs its private key)`);
  }
  if (fields.temporalTlsKey !== undefined && fields.temporalTlsCert === undefined) {
    problems.push(`${nameOf('temporalTlsCert')}: must be set together with ${nameOf('temporalTlsKey')} (the private key needs its client certificate)`);
  }
  const implied = IMPLY_TLS.filter((key) => fields[key] !== undefined);
  if (fields.temporalTls === false && implied.length > 0) {
    problems.push(`${nameOf('temporalTls')}: is off, but ${implied.map(nameOf).join(', ')} ${implied.length === 1 ? 'needs' : 'need'} TLS; unset ${implied.length === 1 ? 'it' : 'them'} or turn TLS on`);
  }
  return { tls: fields.temporalTls ?? implied.length > 0, problems };
}
