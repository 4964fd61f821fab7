import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The unprivileged account PostgreSQL runs as. postgres refuses to start as
 * root, so a root caller drops to this account for every PostgreSQL program;
 * any other caller runs them as itself.
 */
export interface DatabaseUser {
  /** Account name, for messages. */
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** True when programs are started as another account than the caller's. */
  readonly switches: boolean;
  /** argv that runs `argv` as this account (unchanged when no switch is needed). */
  wrap(argv: string[]): string[];
  /** Gives `path` and everything below it to this account (a no-op when no switch is needed). */
  own(path: string): void;
}

/** The database account could not be found or cannot reach its directory. */
export class DatabaseUserError extends Error {
  override name = 'DatabaseUserError';
}

/**
 * The Debian package creates this system account for its own service; we
 * reuse the account (not the service) so setup creates no user of its own.
 * @default "postgres"
 */
export const DEFAULT_DATABASE_USER = 'postgres';

function idOf(name: string, flag: '-u' | '-g'): number {
  const res = spawnSync('id', [flag, name], { encoding: 'utf8' });
  const value = Number.parseInt(res.stdout, 10);
  if (res.status !== 0 || !Number.isInteger(value)) {
    throw new DatabaseUserError(`no account "${name}" to run PostgreSQL as (running as root); install postgresql (it creates one) or choose another account`);
  }
  return value;
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

/**
 * Whom PostgreSQL runs as: the caller itself, or, for root, `name` through
 * util-linux `setpriv` (which execs in place, so the pid we spawn is the
 * server's own pid and signals reach it directly).
 */
export function databaseUser(name = DEFAULT_DATABASE_USER, uid = process.getuid?.() ?? -1): DatabaseUser {
  if (uid !== 0) {
    return { name: 'current user', uid, gid: process.getgid?.() ?? -1, switches: false, wrap: (argv) => argv, own: () => undefined };
  }
  const target = { uid: idOf(name, '-u'), gid: idOf(name, '-g') };
  return {
    name,
    ...target,
    switches: true,
    wrap: (argv) => ['setpriv', `--reuid=${target.uid}`, `--regid=${target.gid}`, '--init-groups', '--', ...argv],
    own: (path) => chownTree(path, target.uid, target.gid),
  };
}

/**
 * Makes sure `user` can reach `dir`. The state directory is usually private to
 * its owner (0700); it is given search permission for others (o+x: enter, not
 * list) so the database account can reach its own subdirectory. A directory
 * above the state directory that still blocks the account is reported, not
 * changed.
 */
export function ensureReachable(user: DatabaseUser, stateDir: string, dir: string): void {
  if (!user.switches) return;
  const [command, ...args] = user.wrap(['test', '-w', dir]);
  const canWrite = (): boolean => spawnSync(command ?? 'test', args).status === 0;
  if (canWrite()) return;
  chmodSync(stateDir, statSync(stateDir).mode | 0o001);
  if (!canWrite()) {
    throw new DatabaseUserError(`PostgreSQL runs as "${user.name}", which cannot reach ${dir}; every directory above the state directory needs search permission for it (chmod o+x), or choose a state directory under /tmp or /var/lib`);
  }
}
