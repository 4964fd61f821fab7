import { z } from 'zod';
import { isAbsolutePath } from './adapter-inputs';

/** An environment variable name. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An environment variable name, as a child environment key or a secret's source. */
export const EnvName = z.string().regex(ENV_NAME_PATTERN, 'must be an environment variable name');
export type EnvName = z.infer<typeof EnvName>;

/**
 * Where a secret lives: an environment variable of the worker process, or a
 * file (absolute path, as the worker's working directory is no anchor) whose
 * content, minus one trailing newline, is the value. Runbooks hold references
 * only; values are read at the moment of use.
 */
export const SecretRef = z.union(
  [
    z.strictObject({ env: EnvName }),
    z.strictObject({ file: z.string().refine(isAbsolutePath, 'must be an absolute path') }),
  ],
  {
    error: (iss) => (iss.code === 'invalid_union' && iss.errors.every((e) => e.some((i) => i.code === 'unrecognized_keys' || i.code === 'invalid_type'))
      ? 'a secret is either { env: NAME } or { file: /absolute/path }'
      : undefined),
  },
);
export type SecretRef = z.infer<typeof SecretRef>;
