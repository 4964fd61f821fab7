import { userInfo } from 'node:os';
import { CONTROL_BUCKET, PAUSE_KEY } from '../../schemas/control-bucket';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { cliConfig, natsConnection } from '../context';

async function setPaused(args: string[], paused: boolean, usage: string): Promise<number> {
  const { values } = parseFlags(args, { ...STACK_FLAGS, reason: { type: 'string' } }, usage);
  const nc = await natsConnection(cliConfig(flagsToConfig(values)), 'operator');
  try {
    const kv = await nc.jetstream().views.kv(CONTROL_BUCKET);
    const record = { paused, by: userInfo().username, reason: values.reason ?? (paused ? 'paused from the CLI' : 'resumed from the CLI'), at: new Date().toISOString() };
    await kv.put(PAUSE_KEY, JSON.stringify(record));
    process.stdout.write(paused ? 'remediation paused: no new remediation step starts until runbook resume\n' : 'remediation resumed\n');
    return 0;
  } finally {
    await nc.close();
  }
}

/** `runbook pause`: no new remediation step starts anywhere until resumed. */
export const pauseCommand: CliCommand = {
  name: 'pause',
  summary: 'pause all remediation (running steps finish; new ones wait)',
  usage: 'runbook pause [--reason "..."]',
  run: (args) => setPaused(args, true, 'runbook pause [--reason "..."]'),
};

/** `runbook resume`: lets waiting remediation steps start. */
export const resumeCommand: CliCommand = {
  name: 'resume',
  summary: 'resume remediation after runbook pause',
  usage: 'runbook resume [--reason "..."]',
  run: (args) => setPaused(args, false, 'runbook resume [--reason "..."]'),
};
