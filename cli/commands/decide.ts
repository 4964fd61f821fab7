import { parseFlags, type CliCommand } from '../command';
import { CliError } from '../context';
import { incidentIdArg } from '../incident-arg';
import { DECISION_FLAGS, postDecision } from './approve';

const USAGE = 'runbook decide <incident> --action retry|skip|abort [--step STEP] [--request-id ID] --reason "..." [--api-url URL] [--token-file F] [--json]';

/**
 * `runbook decide`: answers an escalation after a step finally failed, through
 * the approval API with the caller's token like `runbook approve` (the API
 * authenticates and signs the decision; a raw signal would not count).
 */
export const decideCommand: CliCommand = {
  name: 'decide',
  summary: 'answer an escalated incident: retry the failed step, skip it, or abort (through the approval API)',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(args, { ...DECISION_FLAGS, action: { type: 'string' } }, USAGE);
    const id = incidentIdArg(positionals[0], USAGE);
    const { action, ...rest } = values;
    if (action !== 'retry' && action !== 'skip' && action !== 'abort') throw new CliError(`--action must be retry, skip or abort\nusage: ${USAGE}`);
    return postDecision(id, action, rest, USAGE);
  },
};
