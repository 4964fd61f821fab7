import { stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { identityForToken, loadTokensFile, type TokensFile } from '../config/tokens';

/** Resolves the identity behind a request's bearer token. */
export interface Authenticator {
  /** The authenticated identity, or undefined when the token is missing or unknown. */
  identify(req: IncomingMessage): Promise<string | undefined>;
}

/**
 * Bearer-token authentication against the tokens file. The file is re-read
 * when it changes, so `runbook token create` takes effect without a restart.
 */
export function tokenAuthenticator(tokensFile: string | undefined): Authenticator {
  let cached: { mtimeMs: number; file: TokensFile } | undefined;
  const current = async (): Promise<TokensFile> => {
    if (!tokensFile) return { tokens: [] };
    const mtimeMs = await stat(tokensFile).then((s) => s.mtimeMs, () => -1);
    if (cached?.mtimeMs !== mtimeMs) cached = { mtimeMs, file: await loadTokensFile(tokensFile) };
    return cached.file;
  };
  return {
    async identify(req) {
      const header = req.headers.authorization;
      const m = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
      if (!m?.[1]) return undefined;
      return identityForToken(await current(), m[1]);
    },
  };
}
