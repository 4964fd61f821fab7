import { userInfo } from 'node:os';
import { decide } from '../../workflows/messages';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig, temporalClient } from '../context';
import { incidentIdArg } from '../incident-arg';

const USAGE = 'runbook decide <incident> --action retry|skip|abort --step STEP --reason "..."';

/** `runbook decide`: answers an escalation after a step finally failed. */
export const decideCommand: CliCommand = {
  name: 'decide',
  summary: 'answer an escalated incident: retry the failed step, skip it, or abort',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      { ...STACK_FLAGS, action: { type: 'string' }, step: { type: 'string' }, reason: { type: 'string' } },
      USAGE,
    );
    const id = incidentIdArg(positionals[0], USAGE);
    const action = values.action;
    if (action !== 'retry' && action !== 'skip' && action !== 'abort') throw new CliError(`--action must be retry, skip or abort\nusage: ${USAGE}`);
    if (!values.step) throw new CliError(`--step is required\nusage: ${USAGE}`);
    if (!values.reason) throw new CliError(`--reason is required\nusage: ${USAGE}`);
    const { client, close } = await temporalClient(cliConfig(flagsToConfig(values)));
    try {
      await client.workflow.getHandle(id).signal(decide, { action, step: values.step, reason: values.reason, by: userInfo().username, channel: 'cli' });
      process.stdout.write(`sent ${action} for ${values.step} to ${id}\n`);
      return 0;
    } finally {
      await close();
    }
  },
};
