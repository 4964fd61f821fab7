import type { AuditEvent } from '../../audit/audit-stream';
import type { Config } from '../../config/config';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig, incidentReads, natsConnection } from '../context';
import { incidentIdArg } from '../incident-arg';
import { terminalJson, terminalStrings } from '../../observability/terminal-text';

const USAGE = 'runbook audit <incident> [--json]';

/** The incident's events on the audit stream; none when NATS cannot be reached or read (the record then comes from the history alone). */
async function readStreamEvents(config: Config, id: string): Promise<AuditEvent[]> {
  const nc = await natsConnection(config, 'operator').catch(() => undefined);
  if (!nc) return [];
  try {
    const { readAuditEvents } = require('../../audit/audit-stream') as typeof import('../../audit/audit-stream');
    return await readAuditEvents(nc, id).catch(() => []);
  } finally {
    // Closed while the record is built and printed, not before: the process still waits for the socket to end.
    nc.close().catch(() => undefined);
  }
}

/** `runbook audit`: the full record of one incident, from its history, state and the audit stream. */
export const auditCommand: CliCommand = {
  name: 'audit',
  summary: 'audit record of one incident: faults, routing, steps, approvals, compensations, timings',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(args, { ...STACK_FLAGS, json: { type: 'boolean' } }, USAGE);
    const id = incidentIdArg(positionals[0], USAGE);
    const config = cliConfig(flagsToConfig({ ...values, json: undefined }));
    // The stream is read while Temporal connects and answers. The audit's modules (its zod schemas) load once Temporal
    // has connected, so they do not hold up the NATS handshake, and overlap the server's bcrypt check of the password.
    const events = readStreamEvents(config, id);
    const { reads, close } = await incidentReads(config);
    const { fetchAuditRecord } = require('../../audit/build-audit') as typeof import('../../audit/build-audit');
    const { renderAuditText } = require('../../audit/render-audit') as typeof import('../../audit/render-audit');
    try {
      const record = await fetchAuditRecord(reads, id, events).catch((err: unknown) => {
        throw new CliError(`cannot read ${id}: ${(err as Error).message}`, 1);
      });
      // The record's strings are escaped before rendering, so the layout's own lines stay its only lines.
      process.stdout.write(values.json ? `${terminalJson(record, 2)}\n` : `${renderAuditText(terminalStrings(record))}\n`);
      return 0;
    } finally {
      await close();
    }
  },
};
