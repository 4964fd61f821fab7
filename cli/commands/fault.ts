import { randomUUID } from 'node:crypto';
import { headers as natsHeaders } from 'nats';
import { FaultEvent, faultSubjectFor } from '../../schemas/fault-event';
import { incidentIdFor } from '../../schemas/identifiers';
import { describeIssues, formatIssues } from '../../schemas/parse-fault-event';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig, natsConnection } from '../context';
import { publishDurably } from '../../platform/jetstream-publish';

const USAGE =
  'runbook fault --service S --target T --kind K [--severity critical|warning|info] [--status firing|resolved] [--label k=v ...] [--annotation k=v ...] [--runbook NAME] [--id ID] [--source SRC] [--dry-run] [--json]';

const OPTIONS = {
  ...STACK_FLAGS,
  service: { type: 'string' },
  target: { type: 'string' },
  kind: { type: 'string' },
  severity: { type: 'string', default: 'critical' },
  status: { type: 'string', default: 'firing' },
  label: { type: 'string', multiple: true },
  annotation: { type: 'string', multiple: true },
  runbook: { type: 'string' },
  id: { type: 'string' },
  source: { type: 'string', default: 'cli' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

function pairs(flag: string, items: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CliError(`--${flag} ${JSON.stringify(item)}: expected key=value`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** Builds and validates a fault event from CLI flags; errors name each bad field. */
export function faultFromFlags(values: Record<string, unknown>, now: Date, id: string): FaultEvent {
  const candidate = {
    id: values.id ?? id,
    source: values.source,
    service: values.service,
    target: values.target,
    kind: values.kind,
    severity: values.severity,
    status: values.status,
    observedAt: now.toISOString(),
    labels: pairs('label', values.label as string[] | undefined),
    annotations: pairs('annotation', values.annotation as string[] | undefined),
    ...(values.runbook ? { runbook: values.runbook } : {}),
    ...(values['dry-run'] ? { dryRun: true } : {}),
  };
  const parsed = FaultEvent.safeParse(candidate);
  if (!parsed.success) throw new CliError(`invalid fault: ${describeIssues(formatIssues(parsed.error))}`);
  return parsed.data;
}

/** `runbook fault`: publishes one fault event to JetStream, deduplicated by its id. */
export const faultCommand: CliCommand = {
  name: 'fault',
  summary: 'publish a fault event (as a monitor would)',
  usage: USAGE,
  async run(args) {
    const { values } = parseFlags(args, OPTIONS, USAGE);
    const event = faultFromFlags(values, new Date(), `cli-${randomUUID()}`);
    const config = cliConfig(flagsToConfig(values));
    const nc = await natsConnection(config, 'producer');
    try {
      const h = natsHeaders();
      h.set('Nats-Msg-Id', event.id);
      const subject = faultSubjectFor(event);
      let ack;
      try {
        ack = await publishDurably(nc.jetstream(), subject, JSON.stringify(event), { msgID: event.id, headers: h, closed: () => nc.isClosed() });
      } catch (err) {
        throw new CliError(`JetStream did not store the event on ${subject}: ${(err as Error).message} (is the intake running? it creates the streams)`, 1);
      }
      const incidentId = incidentIdFor(event.service, event.target);
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ event, subject, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate, incidentId })}\n`);
      } else {
        process.stdout.write(
          `published ${event.id} to ${subject} (stream ${ack.stream} seq ${ack.seq}${ack.duplicate ? ', duplicate: already stored' : ''})\nincident: ${incidentId}\n`,
        );
      }
      return 0;
    } finally {
      await nc.close();
    }
  },
};
