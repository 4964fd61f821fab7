import { resolve } from 'node:path';
import { loadConfig } from '../../config/config';
import { describeProcesses, liveComponents, stopRecordedProcesses, supervisorRunning } from '../../stack/recorded-processes';
import { readStackFile } from '../../stack/stack-file';
import { waitFor, WaitTimeoutError } from '../../stack/wait-for';
import { flagsToConfig, parseFlags, type CliCommand } from '../command';

const USAGE = 'runbook down [--state-dir DIR]';

/** How long the supervisor gets to stop its components itself. */
const SUPERVISOR_GRACE_MS = 60_000;

/**
 * `runbook down`: asks the supervisor to stop the stack, then stops every
 * component process stack.json still names, so a stack whose supervisor
 * crashed is stopped too.
 */
export const downCommand: CliCommand = {
  name: 'down',
  summary: 'stop the local stack (its state is kept)',
  usage: USAGE,
  async run(args) {
    const { values } = parseFlags(args, { 'state-dir': { type: 'string' } }, USAGE);
    const config = loadConfig(flagsToConfig(values));
    const info = readStackFile(resolve(config.stateDir));
    const supervisor = info !== undefined && supervisorRunning(info);
    if (!info || (!supervisor && liveComponents(info).length === 0)) {
      process.stdout.write(`no stack is running from ${resolve(config.stateDir)}\n`);
      return 0;
    }
    const signalSupervisor = (signal: NodeJS.Signals): void => {
      try {
        process.kill(info.supervisorPid, signal);
      } catch {
        // It ended on its own meanwhile.
      }
    };
    if (supervisor) {
      signalSupervisor('SIGTERM');
      try {
        await waitFor('the supervisor to stop the stack', SUPERVISOR_GRACE_MS, () => !supervisorRunning(info), 200);
      } catch (err) {
        if (!(err instanceof WaitTimeoutError)) throw err;
        process.stdout.write(`the supervisor (pid ${info.supervisorPid}) did not stop within ${SUPERVISOR_GRACE_MS / 1000} s; killing it\n`);
        signalSupervisor('SIGKILL');
      }
    }
    // Read again: the supervisor may have restarted a component since the first read.
    const recorded = readStackFile(info.stateDir) ?? info;
    const left = liveComponents(recorded);
    if (left.length > 0) {
      if (!supervisor) process.stdout.write(`supervisor not running; stopping ${describeProcesses(left)}\n`);
      const { killed } = await stopRecordedProcesses(recorded);
      if (killed.length > 0) process.stdout.write(`${describeProcesses(killed)} did not stop on SIGTERM; killed\n`);
    }
    process.stdout.write(`stopped the ${info.kind === 'cluster' ? 'cluster stack' : 'stack'} in ${info.stateDir} (state kept; start it again with runbook up${info.kind === 'cluster' ? ' --cluster' : ''})\n`);
    return 0;
  },
};
