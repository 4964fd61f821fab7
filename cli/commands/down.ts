import { resolve } from 'node:path';
import { loadConfig } from '../../config/config';
import { processAlive, readStackFile } from '../../stack/stack-file';
import { waitFor } from '../../stack/wait-for';
import { flagsToConfig, parseFlags, type CliCommand } from '../command';

const USAGE = 'runbook down [--state-dir DIR]';

/** `runbook down`: stops a stack started by `runbook up` (detached or not). */
export const downCommand: CliCommand = {
  name: 'down',
  summary: 'stop the local stack (its state is kept)',
  usage: USAGE,
  async run(args) {
    const { values } = parseFlags(args, { 'state-dir': { type: 'string' } }, USAGE);
    const config = loadConfig(flagsToConfig(values));
    const info = readStackFile(resolve(config.stateDir));
    if (!info || !processAlive(info.supervisorPid)) {
      process.stdout.write(`no stack is running from ${resolve(config.stateDir)}\n`);
      return 0;
    }
    process.kill(info.supervisorPid, 'SIGTERM');
    try {
      await waitFor('the stack to stop', 60_000, () => !processAlive(info.supervisorPid), 200);
    } catch {
      process.kill(info.supervisorPid, 'SIGKILL');
      for (const { pid } of Object.values(info.components)) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    process.stdout.write(`stopped the stack in ${info.stateDir} (state kept; start it again with runbook up)\n`);
    return 0;
  },
};
