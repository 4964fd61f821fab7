import { resolve } from 'node:path';
import { createToken } from '../../config/tokens';
import { localTokensPath } from '../../stack/operator-token';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig } from '../context';

const USAGE = 'runbook token create --identity NAME [--tokens-file F] [--state-dir DIR]';

/**
 * `runbook token create`: prints a new API token once and stores only its
 * sha256 hash, in --tokens-file, else RUNBOOK_TOKENS_FILE, else the local
 * stack's `<stateDir>/tokens.json`.
 */
export const tokenCommand: CliCommand = {
  name: 'token',
  summary: 'create an approval API token for an identity (printed once; only its hash is stored)',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(args, { ...STACK_FLAGS, identity: { type: 'string' }, 'tokens-file': { type: 'string' } }, USAGE);
    if (positionals[0] !== 'create') throw new CliError(`unknown subcommand ${JSON.stringify(positionals[0] ?? '')}\nusage: ${USAGE}`);
    if (!values.identity) throw new CliError(`--identity is required\nusage: ${USAGE}`);
    const config = cliConfig(flagsToConfig({ ...values, identity: undefined }));
    // The default is the file the local stack's approval API reads, so adding a teammate is this one command.
    const file = resolve(config.tokensFile ?? localTokensPath(config.stateDir));
    const token = await createToken(file, values.identity).catch((err: unknown) => {
      throw new CliError((err as Error).message);
    });
    process.stdout.write(`${token}\n`);
    process.stderr.write(`token for ${values.identity} stored as a sha256 hash in ${file}; it is not shown again\n`);
    return 0;
  },
};
