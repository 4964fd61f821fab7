import type { Config } from '../../config/config';
import { readStackFile } from '../../stack/stack-file';
import { apiToken } from '../api-token';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig } from '../context';
import { incidentIdArg } from '../incident-arg';

const FLAGS = {
  ...STACK_FLAGS,
  step: { type: 'string' },
  reason: { type: 'string' },
  'request-id': { type: 'string' },
  'api-url': { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Where the approval API listens: --api-url > RUNBOOK_API_URL > the running stack's api port > RUNBOOK_API_PORT. */
export function apiBaseUrl(config: Config): string {
  if (config.apiUrl) return config.apiUrl.replace(/\/+$/, '');
  const port = readStackFile(config.stateDir)?.ports.api ?? config.apiPort;
  return `http://127.0.0.1:${port}`;
}

/** The flags every decision command takes (`runbook approve`, `reject`, `decide`). */
export const DECISION_FLAGS = FLAGS;

/**
 * Posts a decision to the approval API with the caller's token, so the API
 * authenticates who decides and signs the decision (a decision the API has not
 * signed does not count). Prints the outcome; returns the exit code.
 */
export async function postDecision(
  id: string,
  verdict: string,
  values: { [K in keyof typeof FLAGS]?: (typeof FLAGS)[K]['type'] extends 'boolean' ? boolean : string },
  usage: string,
): Promise<number> {
  if (!values.reason) throw new CliError(`--reason is required\nusage: ${usage}`);
  const { step, reason, json } = values;
  const config = cliConfig(flagsToConfig({ ...values, step: undefined, reason: undefined, 'request-id': undefined, 'token-file': undefined, json: undefined }));
  const { token } = apiToken(config, values['token-file']);
  const url = `${apiBaseUrl(config)}/incidents/${encodeURIComponent(id)}/decisions`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ verdict, reason, ...(step ? { step } : {}), ...(values['request-id'] ? { requestId: values['request-id'] } : {}) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new CliError(`cannot reach the approval API at ${url} (${(err as Error).message}); is the stack up? Try: runbook status`);
  }
  const body = (await res.json().catch(() => ({}))) as { accepted?: boolean; queued?: boolean; reason?: string; error?: string; refusal?: string; ack?: { outcome?: string; approvals: number; needed: number } };
  if (json) process.stdout.write(`${JSON.stringify({ status: res.status, ...body }, null, 2)}\n`);
  if (res.status === 200 && body.accepted) {
    if (!json) {
      const ack = body.ack;
      process.stdout.write(ack?.outcome ? `${verdict} took effect for ${id}: ${ack.outcome}\n` : `${verdict} recorded for ${id} (${ack?.approvals ?? 0} of ${ack?.needed ?? 1} approvals)\n`);
    }
    return 0;
  }
  if (res.status === 202 && body.queued) {
    if (!json) process.stdout.write(`${verdict} queued for ${id}: ${body.reason ?? ''}\n`);
    return 0;
  }
  throw new CliError(`${verdict} refused (HTTP ${res.status}${body.refusal ? ` ${body.refusal}` : ''}): ${body.reason ?? body.error ?? 'no reason given'}`, res.status === 403 ? 3 : 1);
}

function decisionCommand(verdict: 'approve' | 'reject'): CliCommand {
  const usage = `runbook ${verdict} <incident> [--step S] [--request-id ID] --reason "..." [--api-url URL] [--token-file F] [--json]`;
  return {
    name: verdict,
    summary: verdict === 'approve' ? 'approve the step waiting for approval (through the approval API)' : 'reject the step waiting for approval: the incident aborts and compensates',
    usage,
    async run(args) {
      const { values, positionals } = parseFlags(args, FLAGS, usage);
      return postDecision(incidentIdArg(positionals[0], usage), verdict, values, usage);
    },
  };
}

/** `runbook approve`: approves through the approval API with the caller's token. */
export const approveCommand = decisionCommand('approve');
/** `runbook reject`: rejects through the approval API with the caller's token. */
export const rejectCommand = decisionCommand('reject');
