import { stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { identityForToken, loadTokensFile, type TokensFile } from '../config/tokens';

/** Resolves the identity behind a token: a request's bearer token, or the one a console session was opened with. */
export interface Authenticator {
  /** The identity `token` authenticates now, or undefined; asked again at each request, so a revoked token stops working at once, console sessions included. */
  identifyToken(token: string): Promise<string | undefined>;
}

/** The token of an `Authorization: Bearer` header, or undefined. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return m?.[1] || undefined;
}

/**
 * Token authentication against the tokens file. The file is re-read when it
 * changes, so `runbook token create` takes effect without a restart.
 */
export function tokenAuthenticator(tokensFile: string | undefined): Authenticator {
  let cached: { mtimeMs: number; file: TokensFile } | undefined;
  const current = async (): Promise<TokensFile> => {
    if (!tokensFile) return { tokens: [] };
    const mtimeMs = await stat(tokensFile).then((s) => s.mtimeMs, () => -1);
    if (cached?.mtimeMs !== mtimeMs) cached = { mtimeMs, file: await loadTokensFile(tokensFile) };
    return cached.file;
  };
  return { identifyToken: async (token) => identityForToken(await current(), token) };
}
