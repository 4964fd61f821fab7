import { CONTROL_BUCKET, PAUSE_KEY } from '../schemas/control-bucket';
import { BACKUP_STALE_KIND } from '../schemas/backup-spec';
import { REPLICATION_LAG_KIND } from '../schemas/replication-spec';
import { FAULT_SUBJECT_PREFIX } from '../schemas/fault-event';

/**
 * The NATS users of this product, one per job. Every process connects as
 * exactly one of them (see `config/nats-connect.ts`); the server holds a bcrypt
 * hash of each password and the permissions below, so a leaked credential can
 * do only that role's job.
 */
export const NATS_ROLES = ['producer', 'intake', 'worker', 'api', 'operator', 'admin'] as const;
export type NatsRole = (typeof NATS_ROLES)[number];

/** What one role may publish and subscribe to (NATS `permissions` block). */
export interface NatsPermissions {
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[]; deny?: string[] };
}

/*
 * Names the permissions refer to. They live with their owners (intake/streams.ts,
 * audit/audit-stream.ts, activities/effect-ledger.ts), which this layer may not
 * import; test/unit/nats-permissions.test.ts proves each one equals its owner's.
 */
/** Stream of fault events (`intake/streams.ts` FAULTS_STREAM). */
export const PERM_FAULTS_STREAM = 'FAULTS';
/** Dead-letter stream (`intake/streams.ts` DEAD_LETTER_STREAM) and its subject prefix. */
export const PERM_DEAD_LETTER_STREAM = 'FAULTS_DEAD';
export const PERM_DEAD_LETTER_SUBJECT = 'faults_dead';
/** Unhandled-event stream (`intake/streams.ts` UNHANDLED_STREAM) and its subject prefix. */
export const PERM_UNHANDLED_STREAM = 'FAULTS_UNHANDLED';
export const PERM_UNHANDLED_SUBJECT = 'faults_unhandled';
/** The intake's durable consumer and the demo's (`demo/engine.ts`). */
export const PERM_INTAKE_CONSUMERS = ['intake', 'demo-intake'];
/** Audit stream (`audit/audit-stream.ts` AUDIT_STREAM) and its subject prefix. */
export const PERM_AUDIT_STREAM = 'RUNBOOK_AUDIT';
export const PERM_AUDIT_SUBJECT = 'audit';
/** Effects ledger bucket (`activities/effect-ledger.ts` EFFECTS_BUCKET). */
export const PERM_EFFECTS_BUCKET = 'runbook_effects';

/**
 * Subjects the worker may publish notifications on: runbook `notify` actions
 * and the roster's approval notices (default `runbook.approvals`) must use
 * one of these prefixes; anything else is refused by the server.
 */
export const NOTIFY_SUBJECTS = ['runbook.>', 'incidents.>'];

/** The inbox prefix of a role: its request replies arrive only under `<prefix>.>`, which only it may subscribe to. */
export function inboxPrefix(role: NatsRole): string {
  return `_INBOX_${role}`;
}

const API = '$JS.API';
/** Reading a stream's info: every JetStream client does this before using a stream or bucket. */
const streamInfo = (stream: string): string => `${API}.STREAM.INFO.${stream}`;
/** Reading a KV bucket: its stream's info plus direct and plain gets. */
const kvRead = (bucket: string): string[] => [
  streamInfo(`KV_${bucket}`),
  `${API}.DIRECT.GET.KV_${bucket}`,
  `${API}.DIRECT.GET.KV_${bucket}.>`,
  `${API}.STREAM.MSG.GET.KV_${bucket}`,
];
/** Writing a KV bucket: puts and conditional creates are publishes on `$KV.<bucket>.<key>`. */
const kvWrite = (bucket: string): string[] => [`$KV.${bucket}.>`];
/** Using a durable pull consumer: its info, pulls and acks. */
const consume = (stream: string, durable: string): string[] => [
  `${API}.CONSUMER.INFO.${stream}.${durable}`,
  `${API}.CONSUMER.MSG.NEXT.${stream}.${durable}`,
  `$JS.ACK.${stream}.${durable}.>`,
];
/** Creating or updating a durable consumer (the JetStream API has three subject forms for it). */
const consumerCreate = (stream: string, durable: string): string[] => [
  `${API}.CONSUMER.CREATE.${stream}.${durable}`,
  `${API}.CONSUMER.CREATE.${stream}.${durable}.>`,
  `${API}.CONSUMER.DURABLE.CREATE.${stream}.${durable}`,
];
/** Reading a stream with short-lived ordered consumers (what `consumers.get(stream, { filterSubjects })` does). */
const orderedRead = (stream: string): string[] => [
  // An ephemeral consumer with several filter subjects is created on the bare subject.
  `${API}.CONSUMER.CREATE.${stream}`,
  `${API}.CONSUMER.CREATE.${stream}.>`,
  `${API}.CONSUMER.INFO.${stream}.>`,
  `${API}.CONSUMER.MSG.NEXT.${stream}.>`,
  `${API}.CONSUMER.DELETE.${stream}.>`,
];

/** Every role may subscribe to its own inbox only. */
const ownInbox = (role: NatsRole): string[] => [`${inboxPrefix(role)}.>`];

/**
 * The permission table: the single source of what each role may do on NATS.
 * The local stack's server config and the compose config generator both render it.
 */
export function natsPermissions(): Record<NatsRole, NatsPermissions> {
  const faults = `${FAULT_SUBJECT_PREFIX}.>`;
  const intakeStreams = [PERM_FAULTS_STREAM, PERM_DEAD_LETTER_STREAM, PERM_UNHANDLED_STREAM];
  return {
    // Monitors, `runbook fault` and the demo prober: fault events only; the PubAck comes back on the inbox.
    producer: { publish: { allow: [faults] }, subscribe: { allow: ownInbox('producer') } },
    intake: {
      publish: {
        allow: [
          `${API}.INFO`,
          // The Alertmanager receiver turns alerts into fault events.
          faults,
          `${PERM_DEAD_LETTER_SUBJECT}.>`,
          `${PERM_UNHANDLED_SUBJECT}.>`,
          ...intakeStreams.map(streamInfo),
          // A server that came back without its state gets the intake's streams and consumer again (never updated, deleted or purged).
          ...intakeStreams.map((s) => `${API}.STREAM.CREATE.${s}`),
          ...PERM_INTAKE_CONSUMERS.flatMap((c) => [...consume(PERM_FAULTS_STREAM, c), ...consumerCreate(PERM_FAULTS_STREAM, c)]),
          `${API}.CONSUMER.DELETE.${PERM_FAULTS_STREAM}.demo-intake`,
        ],
      },
      subscribe: { allow: ownInbox('intake') },
    },
    worker: {
      publish: {
        allow: [
          `${API}.INFO`,
          `${PERM_AUDIT_SUBJECT}.>`,
          streamInfo(PERM_AUDIT_STREAM),
          // The availability gauges (audit/availability-metrics.ts) read the lifecycle events back.
          ...orderedRead(PERM_AUDIT_STREAM),
          ...kvRead(CONTROL_BUCKET),
          ...kvRead(PERM_EFFECTS_BUCKET),
          ...kvWrite(PERM_EFFECTS_BUCKET),
          ...NOTIFY_SUBJECTS,
          // The worker's own monitors raise these kinds only: backup freshness (activities/backup-freshness.ts)
          // and replication lag (activities/replication-watch.ts).
          `${FAULT_SUBJECT_PREFIX}.*.${BACKUP_STALE_KIND}`,
          `${FAULT_SUBJECT_PREFIX}.*.${REPLICATION_LAG_KIND}`,
        ],
      },
      subscribe: { allow: ownInbox('worker') },
    },
    // The approval API and the console behind it: what `runbook pause`, `dead-letters` and `audit` do for an operator, and decision events.
    api: {
      publish: {
        allow: [
          `${API}.INFO`,
          `${PERM_AUDIT_SUBJECT}.>`,
          streamInfo(PERM_AUDIT_STREAM),
          // Audit records and drill reports are read back.
          ...orderedRead(PERM_AUDIT_STREAM),
          // The pause switch: read, and written under its one key only.
          ...kvRead(CONTROL_BUCKET),
          `$KV.${CONTROL_BUCKET}.${PAUSE_KEY}`,
          // Dead letters: listed, shown, and replayed (the fault republished, the letter removed).
          streamInfo(PERM_DEAD_LETTER_STREAM),
          `${API}.STREAM.MSG.GET.${PERM_DEAD_LETTER_STREAM}`,
          `${API}.STREAM.MSG.DELETE.${PERM_DEAD_LETTER_STREAM}`,
          faults,
        ],
      },
      subscribe: { allow: ownInbox('api') },
    },
    operator: {
      publish: {
        allow: [
          `${API}.INFO`,
          // runbook pause / resume
          ...kvRead(CONTROL_BUCKET),
          ...kvWrite(CONTROL_BUCKET),
          // runbook dead-letters list / show / replay (a replay republishes the fault and removes the letter)
          streamInfo(PERM_DEAD_LETTER_STREAM),
          `${API}.STREAM.MSG.GET.${PERM_DEAD_LETTER_STREAM}`,
          `${API}.STREAM.MSG.DELETE.${PERM_DEAD_LETTER_STREAM}`,
          faults,
          // runbook audit
          streamInfo(PERM_AUDIT_STREAM),
          ...orderedRead(PERM_AUDIT_STREAM),
        ],
      },
      subscribe: { allow: ownInbox('operator') },
    },
    // Provisions streams, buckets and consumers: the only role that may create, update, delete or purge them.
    admin: {
      publish: { allow: ['>'] },
      subscribe: { allow: ['>'], deny: NATS_ROLES.filter((r) => r !== 'admin').map((r) => `${inboxPrefix(r)}.>`).concat('_INBOX.>') },
    },
  };
}

/** One user as the server config holds it: name, bcrypt hash, permissions. */
export interface NatsUserEntry {
  role: NatsRole;
  bcryptHash: string;
}

/**
 * The `authorization { users = [...] }` block of nats-server's config, with
 * each role's bcrypt hash and permissions. Strings are JSON-quoted, which the
 * server's config parser reads as quoted strings.
 */
export function renderAuthorization(users: NatsUserEntry[], table: Record<NatsRole, NatsPermissions> = natsPermissions()): string {
  const list = (xs: string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  const rule = (r: { allow: string[]; deny?: string[] }): string => `{ allow: ${list(r.allow)}${r.deny?.length ? `, deny: ${list(r.deny)}` : ''} }`;
  const lines = ['authorization {', '  users = ['];
  for (const u of users) {
    const p = table[u.role];
    lines.push(
      `    { user: ${JSON.stringify(u.role)}, password: ${JSON.stringify(u.bcryptHash)}, permissions: {`,
      `        publish: ${rule(p.publish)}`,
      `        subscribe: ${rule(p.subscribe)}`,
      '    } }',
    );
  }
  lines.push('  ]', '}', '');
  return lines.join('\n');
}
