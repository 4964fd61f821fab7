import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

// There is no systemd on the test machines, so a stand-in `systemctl` records
// each argv (one bracketed element per argument, so argument boundaries show)
// and keeps each unit's state in a file beside it. `broken.service` fails to
// start; `crashy.service` starts and falls over at once.
const STAND_IN = `#!/bin/sh
dir=$(dirname "$0")
for arg in "$@"; do printf '[%s]' "$arg"; done >> "$dir/calls.log"
echo >> "$dir/calls.log"
state_file="$dir/state-$2"
case "$1" in
  start|restart)
    if [ "$2" = "crashy.service" ]; then echo failed > "$state_file"; exit 0; fi
    if [ "$2" = "broken.service" ]; then echo "Job for broken.service failed." >&2; exit 1; fi
    echo active > "$state_file" ;;
  stop) echo inactive > "$state_file" ;;
  is-active)
    state=$(cat "$state_file" 2>/dev/null || echo inactive)
    echo "$state"
    [ "$state" = active ] && exit 0
    exit 3 ;;
  *) echo "unknown command $1" >&2; exit 1 ;;
esac
`;

/** A stand-in `systemctl` in a directory of its own. */
export interface SystemctlStandIn {
  /** Path of the executable, for `systemctlPath`. */
  path: string;
  /** The calls made so far, oldest first, each as `[arg][arg]…`. */
  calls(): Promise<string[]>;
  /** Forgets the calls made so far (unit states are kept). */
  clearCalls(): Promise<void>;
}

/** Writes the stand-in `systemctl` into `dir` (which the caller removes). */
export async function installSystemctlStandIn(dir: string): Promise<SystemctlStandIn> {
  const exe = path.join(dir, 'systemctl');
  const log = path.join(dir, 'calls.log');
  await writeFile(exe, STAND_IN);
  await chmod(exe, 0o755);
  return {
    path: exe,
    calls: async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l !== ''),
    clearCalls: () => rm(log, { force: true }),
  };
}
