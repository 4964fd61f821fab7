import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ConfigKey } from '../config/config';
import { CliError } from './cli-error';

/** One `runbook <name>` subcommand. */
export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code. */
  run(args: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command that talks to the stack accepts; they map onto configuration keys. */
export const STACK_FLAGS = {
  'state-dir': { type: 'string' },
  'temporal-address': { type: 'string' },
  namespace: { type: 'string' },
  'task-queue': { type: 'string' },
  'nats-url': { type: 'string' },
} as const satisfies Options;

/** Parses argv strictly; unknown flags are an error that names them. */
export function parseFlags<T extends Options>(args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nusage: ${usage}`);
  }
}

/** Turns `--kebab-case` flag values into configuration keys. */
export function flagsToConfig(values: Record<string, unknown>): Partial<Record<ConfigKey, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [flag, value] of Object.entries(values)) {
    if (value === undefined) continue;
    out[flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = value;
  }
  return out as Partial<Record<ConfigKey, unknown>>;
}
