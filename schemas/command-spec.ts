import { z } from 'zod';
import { isAllowListEntry } from './adapter-inputs';
import { EnvName, SecretRef } from './secret-ref';

/** Default cap on captured command output, in bytes. */
export const DEFAULT_MAX_OUTPUT = 65_536;

const SHELL_STRING_MESSAGE = 'argv must be a list; shell strings are not allowed';

/** A command as an argv list. Never a shell string: nothing is run through a shell. */
export const Argv = z
  .array(z.string(), {
    error: (iss) => (typeof iss.input === 'string' ? SHELL_STRING_MESSAGE : undefined),
  })
  .min(1, 'argv must name an executable')
  .refine((argv) => argv[0] !== '', { message: 'argv[0] must not be empty', path: [0] });
export type Argv = z.infer<typeof Argv>;

/**
 * One entry of a program allow-list. Rule: an entry containing `/` must be an
 * absolute path and matches only an identical argv[0]; an entry without `/`
 * is a bare program name and matches only an identical bare argv[0], which is
 * then looked up on the child's PATH. A bare entry never admits a path ending
 * in that name.
 */
export const AllowListEntry = z
  .string()
  .min(1, 'must not be empty')
  .refine(isAllowListEntry, 'must be an absolute path or a bare program name');
export type AllowListEntry = z.infer<typeof AllowListEntry>;

/** A runbook command: an explicit argv, environment and secrets, with bounded output. */
export const CommandSpec = z.strictObject({
  argv: Argv,
  env: z.record(EnvName, z.string()).optional(),
  /** Child environment variable name → where its secret value comes from. */
  secrets: z.record(EnvName, SecretRef).optional(),
  max_output: z.int().positive().default(DEFAULT_MAX_OUTPUT),
});
export type CommandSpec = z.infer<typeof CommandSpec>;
