import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ENV, type Config } from '../config/config';
import { operatorTokenPath } from '../stack/operator-token';
import { CliError } from './context';

/** A token and where it came from (for messages; the token itself is never shown). */
export interface ApiToken {
  token: string;
  source: string;
}

function readTokenFile(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
  const token = text.trim();
  if (token === '') throw new CliError(`${what} ${file} is empty`);
  return token;
}

/**
 * The approval API bearer token of the person running the command, from the
 * first of: `--token-file`, `RUNBOOK_API_TOKEN`, then the local stack's
 * `<stateDir>/operator.token` (written by `runbook up`). Never a flag value,
 * which other users could read from the process list.
 */
export function apiToken(config: Pick<Config, 'apiToken' | 'stateDir'>, tokenFile: string | undefined): ApiToken {
  if (tokenFile) return { token: readTokenFile(tokenFile, '--token-file'), source: resolve(tokenFile) };
  if (config.apiToken) return { token: config.apiToken, source: ENV.apiToken };
  const local = resolve(operatorTokenPath(config.stateDir));
  if (existsSync(local)) return { token: readTokenFile(local, 'the local operator token'), source: local };
  throw new CliError(
    `no API token: pass --token-file F, set ${ENV.apiToken}, or start the local stack with runbook up, which writes ${local} (create a token with: runbook token create --identity NAME)`,
  );
}
