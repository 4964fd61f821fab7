import { z } from 'zod';
import { MAX_EXIT_CODE } from './adapter-inputs';
import { Argv } from './command-spec';

/*
 * Health checks as the probe adapter takes them (camelCase, milliseconds):
 * what a supervised service declares in the services file, and what a
 * runbook probe target is translated into.
 */

const Timeout = z.number().int().positive();
const HttpStatus = z.number().int().min(100).max(599);

/** An http or https URL, the only kind a probe fetches. */
export const ProbeUrl = z.url({ protocol: /^https?$/ });

/** Expected HTTP status: one code, a list of codes, or an inclusive range. */
export const ExpectStatus = z.union([
  HttpStatus,
  z.array(HttpStatus).min(1),
  z.strictObject({ min: HttpStatus, max: HttpStatus }),
]);
export type ExpectStatus = z.infer<typeof ExpectStatus>;

const RegexSource = z.string().refine((source) => {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}, 'must be a valid regular expression');

/** An HTTP(S) request whose status (default 200-399), body and latency are checked. */
export const HttpProbeSpec = z.strictObject({
  kind: z.literal('http'),
  url: ProbeUrl,
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'OPTIONS']).optional(),
  expectStatus: ExpectStatus.optional(),
  bodyMatch: RegexSource.optional(),
  maxLatencyMs: Timeout.optional(),
  timeoutMs: Timeout,
});
export type HttpProbeSpec = z.infer<typeof HttpProbeSpec>;

/** A TCP connect. Note a stopped process still completes the handshake in the kernel. */
export const TcpProbeSpec = z.strictObject({
  kind: z.literal('tcp'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  timeoutMs: Timeout,
});
export type TcpProbeSpec = z.infer<typeof TcpProbeSpec>;

/** A program run without a shell; healthy when it exits with the expected code (default 0). */
export const CommandProbeSpec = z.strictObject({
  kind: z.literal('command'),
  argv: Argv,
  expectExitCode: z.number().int().min(0).max(MAX_EXIT_CODE).optional(),
  timeoutMs: Timeout,
});
export type CommandProbeSpec = z.infer<typeof CommandProbeSpec>;

/** Any health check a runbook or a supervised service can declare. */
export const ProbeSpec = z.discriminatedUnion('kind', [HttpProbeSpec, TcpProbeSpec, CommandProbeSpec]);
export type ProbeSpec = z.infer<typeof ProbeSpec>;
