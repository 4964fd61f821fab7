import { readAuditEvents, type AuditEvent } from '../../audit/audit-stream';
import { fetchAuditRecord } from '../../audit/build-audit';
import { renderAuditText } from '../../audit/render-audit';
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
    return await readAuditEvents(nc, id).catch(() => []);
  } finally {
    await nc.close();
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
    // The stream is read while Temporal connects and answers: the NATS connect (a bcrypt check on the server) takes as long as the Temporal reads.
    const events = readStreamEvents(config, id);
    const { reads, close } = await incidentReads(config);
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
