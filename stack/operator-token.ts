import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config';
import { createToken, hashToken, loadTokensFile } from '../config/tokens';
import { localOperator } from './local-roster';

/** Name of the tokens file the local stack's approval API reads, in the state directory. */
export const LOCAL_TOKENS_FILE = 'tokens.json';

/** Name of the file holding the local operator's approval API token, in the state directory. */
export const OPERATOR_TOKEN_FILE = 'operator.token';

/** `<stateDir>/tokens.json`: the approval API's tokens when no `RUNBOOK_TOKENS_FILE` is set. */
export function localTokensPath(stateDir: string): string {
  return join(stateDir, LOCAL_TOKENS_FILE);
}

/** `<stateDir>/operator.token`: the local operator's token, which the CLI falls back to. */
export function operatorTokenPath(stateDir: string): string {
  return join(stateDir, OPERATOR_TOKEN_FILE);
}

/** The local operator's token and what this start did about it. */
export interface OperatorToken {
  /** The tokens file holding its hash. */
  tokensFile: string;
  /** The file holding the token itself (mode 0600). */
  tokenFile: string;
  identity: string;
  /** True when this start made a new token; false when the one on disk was kept. */
  created: boolean;
}

/** The token in `file` when the file exists, is not empty and its hash is among `hashes`. */
function tokenStillValid(file: string, hashes: ReadonlySet<string>): boolean {
  if (!existsSync(file)) return false;
  const token = readFileSync(file, 'utf8').trim();
  return token !== '' && hashes.has(hashToken(token));
}

/**
 * Gives the local operator an approval API token, once: creates
 * `<stateDir>/tokens.json` when missing (mode 0600), and unless
 * `<stateDir>/operator.token` holds a token whose hash is in it, creates one
 * for `identity` with createToken and writes it there (mode 0600). Later
 * starts keep it. To rotate, delete operator.token and its entry in
 * tokens.json: the next start makes a new one. The token is never logged.
 */
export async function ensureOperatorToken(stateDir: string, identity: string = localOperator()): Promise<OperatorToken> {
  const tokensFile = localTokensPath(stateDir);
  const tokenFile = operatorTokenPath(stateDir);
  try {
    // 'wx': a tokens file that is already there, with a teammate's tokens in it, is never replaced.
    writeFileSync(tokensFile, '{ "tokens": [] }\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  chmodSync(tokensFile, 0o600);
  const hashes = new Set((await loadTokensFile(tokensFile)).tokens.map((t) => t.sha256));
  if (tokenStillValid(tokenFile, hashes)) {
    chmodSync(tokenFile, 0o600);
    return { tokensFile, tokenFile, identity, created: false };
  }
  const token = await createToken(tokensFile, identity);
  // Written beside and renamed over, so a reader never sees half a token.
  writeFileSync(`${tokenFile}.tmp`, `${token}\n`, { mode: 0o600 });
  renameSync(`${tokenFile}.tmp`, tokenFile);
  return { tokensFile, tokenFile, identity, created: true };
}

/**
 * The configuration with the state directory's tokens file filled in and the
 * local operator's token ensured, when no tokens file is configured; an
 * operator's own `RUNBOOK_TOKENS_FILE` is left as it is and never written to.
 */
export async function withOperatorToken(config: Config, stateDir: string): Promise<{ config: Config; operator?: OperatorToken }> {
  if (config.tokensFile) return { config };
  const operator = await ensureOperatorToken(stateDir);
  return { config: { ...config, tokensFile: operator.tokensFile }, operator };
}

/** What the start-up output says about the local operator's token (never the token itself). */
export function operatorTokenLine(operator: OperatorToken): string {
  const what = operator.created ? 'wrote' : 'kept';
  return `${what} the approval API token of ${operator.identity} in ${operator.tokenFile} (runbook approve, reject and decide use it); teammates: runbook token create --identity NAME`;
}
