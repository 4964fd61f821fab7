import { resolve } from 'node:path';
import { loadConfig } from '../../config/config';
import { stackHealth } from '../../stack/health';
import { processAlive, readStackFile } from '../../stack/stack-file';
import { flagsToConfig, parseFlags, type CliCommand } from '../command';

const USAGE = 'runbook status [--state-dir DIR] [--json]';

/** `runbook status`: health of each component; exit 0 only when all are healthy. */
export const statusCommand: CliCommand = {
  name: 'status',
  summary: 'health of each component of the local stack',
  usage: USAGE,
  async run(args) {
    const { values } = parseFlags(args, { 'state-dir': { type: 'string' }, json: { type: 'boolean' } }, USAGE);
    const config = loadConfig(flagsToConfig(values));
    const info = readStackFile(resolve(config.stateDir));
    const running = info !== undefined && processAlive(info.supervisorPid);
    const components = info && running ? await stackHealth(info) : [];
    const healthy = running && components.length > 0 && components.every((c) => c.healthy);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ running, healthy, stateDir: resolve(config.stateDir), components }, null, 2)}\n`);
    } else if (!running) {
      process.stdout.write(`not running (state directory ${resolve(config.stateDir)}); start it with: runbook up\n`);
    } else {
      for (const c of components) process.stdout.write(`${c.healthy ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(9)} ${c.detail}\n`);
      if (info.temporalUiUrl) process.stdout.write(`      ui        ${info.temporalUiUrl}\n`);
    }
    return healthy ? 0 : 1;
  },
};
