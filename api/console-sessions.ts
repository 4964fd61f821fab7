import { randomBytes } from 'node:crypto';

/** Name of the console's session cookie. */
export const SESSION_COOKIE = 'runbook_session';

/** @default 12 hours: a shift, after which the console asks for the token again. */
export const DEFAULT_SESSION_MS = 12 * 60 * 60 * 1000;

/** @default 1000 sessions kept at most; the oldest is signed out first. */
export const DEFAULT_MAX_SESSIONS = 1000;

/**
 * Console sign-ins, kept in the API process's memory only: the cookie holds
 * a random session id, never the token, and the token stays here so each
 * request checks it again against the tokens file (a revoked token ends its
 * sessions at once). Restarting the API signs everyone out.
 */
export interface ConsoleSessions {
  /** Opens a session for `token`; returns its id. */
  open(token: string): string;
  /** The token behind a live session id, or undefined. */
  token(id: string): string | undefined;
  close(id: string): void;
}

export function createConsoleSessions(opts: { ttlMs?: number; max?: number; now?: () => number } = {}): ConsoleSessions {
  const ttl = opts.ttlMs ?? DEFAULT_SESSION_MS;
  const max = opts.max ?? DEFAULT_MAX_SESSIONS;
  const now = opts.now ?? Date.now;
  // Insertion order is age order, so the first key is the oldest session.
  const sessions = new Map<string, { token: string; expiresAt: number }>();
  return {
    open(token) {
      while (sessions.size >= max) {
        const oldest = sessions.keys().next().value;
        if (oldest === undefined) break;
        sessions.delete(oldest);
      }
      const id = randomBytes(32).toString('base64url');
      sessions.set(id, { token, expiresAt: now() + ttl });
      return id;
    },
    token(id) {
      const s = sessions.get(id);
      if (!s) return undefined;
      if (s.expiresAt <= now()) {
        sessions.delete(id);
        return undefined;
      }
      return s.token;
    },
    close(id) {
      sessions.delete(id);
    },
  };
}
