import { z } from 'zod';
import {
  isHaproxyName,
  isRsyncPath,
  isSettableHeader,
  isSingleLine,
  MAX_EXIT_CODE,
  parseHaproxySocket,
  PUBLISH_SUBJECT,
  SERVICE_NAME,
  SNAPSHOT_ID,
  SYSTEMD_UNIT,
  webhookUrlProblem,
} from './adapter-inputs';
import { AllowListEntry, Argv, CommandSpec, DEFAULT_MAX_OUTPUT } from './command-spec';
import { DURATION_PATTERN, DURATION_RULE, parseDuration } from './duration';
import { DRILL_FAULT_KINDS, FAULT_INJECTION_ACTIONS } from './fault-injection';
import { ProbeUrl } from './probe-spec';
import { RunbookSchedule } from './runbook-schedule';
import { SecretRef } from './secret-ref';
import { SERVICE_NAME_RULE } from './service-spec';

/**
 * The runbook format: YAML files validated at the edge (CLI, intake) and handed
 * to the incident workflow as a plain JSON snapshot. Keys are snake_case as
 * written in YAML. Defaults are filled in here so the snapshot is explicit: the
 * workflow never has to know a default, and the content hash covers them.
 *
 * Values an adapter checks at run time (paths, names, URLs, headers) are
 * checked here with the adapter's own predicate (`adapter-inputs.ts`), so a
 * runbook that loads is never refused by an adapter for its shape. A value
 * holding a `{{ reference }}` is only known at run time and is left to the
 * adapter.
 */

export { Argv, CommandSpec, DEFAULT_MAX_OUTPUT, parseDuration, RunbookSchedule, SecretRef };

/** A positive duration string: an integer followed by `ms`, `s`, `m` or `h`. */
export const Duration = z.string({
  error: (iss) =>
    typeof iss.input === 'number' ? `${DURATION_RULE} (a bare number has no unit)` : DURATION_RULE,
}).regex(DURATION_PATTERN, DURATION_RULE);
export type Duration = z.infer<typeof Duration>;

/** Lowercase identifier used for runbook names, step ids and param names. */
export const RunbookId = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a lowercase id: a-z, 0-9, _ and -, starting with a letter, at most 64 characters');
export type RunbookId = z.infer<typeof RunbookId>;

const NonEmpty = z.string().min(1, 'must not be empty');

/** Whether a string is resolved at run time, so only the adapter can judge it. */
const isTemplated = (value: string): boolean => value.includes('{{');

/** A non-empty string that, unless templated, must pass `check`. */
function literal(check: (value: string) => boolean, message: string) {
  return NonEmpty.refine((v) => isTemplated(v) || check(v), message);
}

/** Default approver group for risky steps that do not name their own. */
export const DEFAULT_APPROVERS: readonly string[] = ['oncall'];
/** Adds an issue unless exactly one of `keys` is present on the object. */
function exactlyOne(keys: readonly string[], what: string) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    const present = keys.filter((k) => value[k] !== undefined);
    if (present.length === 1) return;
    ctx.addIssue({
      code: 'custom',
      path: present.length > 1 ? [present[1] as string] : [],
      message:
        present.length === 0
          ? `${what} needs one of: ${keys.join(', ')}`
          : `${what} takes only one of: ${keys.join(', ')} (found ${present.join(', ')})`,
    });
  };
}

const HeaderName = z
  .string()
  .refine(isSettableHeader, 'must be a header name the webhook does not set itself (not Content-Type, Host, Idempotency-Key...)');

/** An HTTP call to an external system. */
export const Webhook = z.strictObject({
  url: NonEmpty.superRefine((url, ctx) => {
    const problem = isTemplated(url) ? undefined : webhookUrlProblem(url);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }),
  /** Only POST is sent: receivers de-duplicate a retried step on its Idempotency-Key. */
  method: z.literal('POST', { error: 'only POST is supported' }).default('POST'),
  headers: z.record(HeaderName, literal(isSingleLine, 'must be a single line')).optional(),
  /** Headers whose values come from secrets, e.g. `Authorization`. */
  secret_headers: z.record(HeaderName, SecretRef).optional(),
  body: z.record(z.string(), z.unknown()).optional(),
  expect_status: z.int().min(100).max(599).optional(),
});
export type Webhook = z.infer<typeof Webhook>;

export const HttpTarget = z.strictObject({
  url: literal((url) => ProbeUrl.safeParse(url).success, 'must be an http or https URL'),
  /** Exact status expected; absent means any 2xx. */
  expect_status: z.int().min(100).max(599).optional(),
  /** Substring the body must contain. */
  body_match: z.string().optional(),
  max_latency: Duration.optional(),
});
export type HttpTarget = z.infer<typeof HttpTarget>;

export const TcpTarget = z.strictObject({ host: NonEmpty, port: z.int().min(1).max(65_535) });
export type TcpTarget = z.infer<typeof TcpTarget>;

export const CommandProbeTarget = z.strictObject({ argv: Argv, expect_exit_code: z.int().min(0).max(MAX_EXIT_CODE).default(0) });
export type CommandProbeTarget = z.infer<typeof CommandProbeTarget>;

const LocalPath = literal(isRsyncPath, 'must be an absolute local path');

/** A data directory on the worker's host: healthy when it is a readable directory holding at least `min_files` regular files. */
export const DataProbeTarget = z.strictObject({ path: LocalPath, min_files: z.int().positive().default(1) });
export type DataProbeTarget = z.infer<typeof DataProbeTarget>;

/** What a probe checks: exactly one of `http`, `tcp`, `command` or `data`. */
export const ProbeTarget = z
  .strictObject({ http: HttpTarget.optional(), tcp: TcpTarget.optional(), command: CommandProbeTarget.optional(), data: DataProbeTarget.optional() })
  .superRefine(exactlyOne(['http', 'tcp', 'command', 'data'], 'a probe target'));
export type ProbeTarget = z.infer<typeof ProbeTarget>;

const probeFields = { target: ProbeTarget, timeout: Duration.default('5s') };

export const ProbeAction = z.strictObject({ kind: z.literal('probe'), ...probeFields });
export type ProbeAction = z.infer<typeof ProbeAction>;

export const VerifyAction = z.strictObject({ kind: z.literal('verify'), ...probeFields });
export type VerifyAction = z.infer<typeof VerifyAction>;

/**
 * Probes `samples` times, `interval` apart. `quorum` failures confirm the fault;
 * `recover_after` consecutive successes end sampling early as healthy.
 */
export const ConfirmAction = z
  .strictObject({
    kind: z.literal('confirm'),
    ...probeFields,
    samples: z.int().positive().default(5),
    interval: Duration.default('2s'),
    quorum: z.int().positive().default(3),
    recover_after: z.int().positive().optional(),
  })
  .superRefine((a, ctx) => {
    if (a.quorum > a.samples) {
      ctx.addIssue({ code: 'custom', path: ['quorum'], message: `quorum ${a.quorum} is more than samples ${a.samples}` });
    }
    if (a.recover_after !== undefined && a.recover_after > a.samples) {
      ctx.addIssue({
        code: 'custom',
        path: ['recover_after'],
        message: `recover_after ${a.recover_after} is more than samples ${a.samples}`,
      });
    }
  });
export type ConfirmAction = z.infer<typeof ConfirmAction>;

const HaproxyName = literal(isHaproxyName, 'must be an HAProxy name: 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit');
const haproxyFields = {
  socket: literal((s) => parseHaproxySocket(s) !== undefined, 'must be an absolute unix socket path or tcp://host:port'),
  backend: HaproxyName,
  server: HaproxyName,
  verify: z.boolean().default(true),
};

/** Takes a server out of rotation through the HAProxy runtime API; `verify` reads the state back. */
export const HaproxyIsolate = z.strictObject({ ...haproxyFields, state: z.enum(['drain', 'maint']).default('maint') });
export type HaproxyIsolate = z.infer<typeof HaproxyIsolate>;

/**
 * Puts a server back in rotation; `verify` reads the state back. With
 * `via_drain` a server in maintenance first goes to drain, where HAProxy
 * checks it again while it takes no new requests, and only once the checks
 * see it up is it set ready (its `slowstart` then ramps its weight), so a
 * fail-back never sends a request to an instance that is not answering yet.
 */
export const HaproxyRestore = z.strictObject({
  ...haproxyFields,
  state: z.literal('ready').default('ready'),
  via_drain: z.boolean().default(false),
});
export type HaproxyRestore = z.infer<typeof HaproxyRestore>;

const VIA_ROUTING = ['haproxy', 'webhook', 'command'] as const;

export const IsolateAction = z
  .strictObject({
    kind: z.literal('isolate'),
    haproxy: HaproxyIsolate.optional(),
    webhook: Webhook.optional(),
    command: CommandSpec.optional(),
  })
  .superRefine(exactlyOne(VIA_ROUTING, 'isolate'));
export type IsolateAction = z.infer<typeof IsolateAction>;

export const RestoreAction = z
  .strictObject({
    kind: z.literal('restore'),
    haproxy: HaproxyRestore.optional(),
    webhook: Webhook.optional(),
    command: CommandSpec.optional(),
    /** Puts the original primary back: needs approval by default. */
    failback: z.boolean().default(false),
  })
  .superRefine(exactlyOne(VIA_ROUTING, 'restore'));
export type RestoreAction = z.infer<typeof RestoreAction>;

export const SupervisorService = z.strictObject({
  service: literal((name) => SERVICE_NAME.test(name), SERVICE_NAME_RULE),
  /** Reserved: services are declared in the worker's services file. */
  config: NonEmpty.refine(() => false, 'is not supported: declare the service in the services file').optional(),
});
export type SupervisorService = z.infer<typeof SupervisorService>;

export const SystemdUnit = z.strictObject({ unit: literal((u) => SYSTEMD_UNIT.test(u), 'must be a systemd unit name') });
export type SystemdUnit = z.infer<typeof SystemdUnit>;

const VIA_SERVICE = ['supervisor', 'systemd', 'command', 'webhook'] as const;
const serviceFields = {
  supervisor: SupervisorService.optional(),
  systemd: SystemdUnit.optional(),
  command: CommandSpec.optional(),
  webhook: Webhook.optional(),
  /** Which side of a primary/standby pair the service is; stopping or restarting a primary needs approval by default. */
  role: z.enum(['primary', 'standby']).optional(),
};

export const StartServiceAction = z
  .strictObject({
    kind: z.literal('start_service'),
    ...serviceFields,
    /** The started service takes over the primary's role: fenced, and needs approval by default. */
    promote: z.boolean().default(false),
  })
  .superRefine(exactlyOne(VIA_SERVICE, 'start_service'));
export type StartServiceAction = z.infer<typeof StartServiceAction>;

export const StopServiceAction = z
  .strictObject({ kind: z.literal('stop_service'), ...serviceFields })
  .superRefine(exactlyOne(VIA_SERVICE, 'stop_service'));
export type StopServiceAction = z.infer<typeof StopServiceAction>;

export const RestartServiceAction = z
  .strictObject({ kind: z.literal('restart_service'), ...serviceFields })
  .superRefine(exactlyOne(VIA_SERVICE, 'restart_service'));
export type RestartServiceAction = z.infer<typeof RestartServiceAction>;

/** rsync compares resolved paths, so `/a/` and `/a` are the same place. */
const stripSlash = (p: string): string => p.replace(/\/+$/, '') || '/';

/** Whether `inner` is `outer` or below it (plain path prefix, after trailing slashes). */
const isInside = (inner: string, outer: string): boolean => {
  const a = stripSlash(inner);
  const b = stripSlash(outer);
  return a === b || a.startsWith(b === '/' ? '/' : `${b}/`);
};

const RsyncPath = LocalPath;
export const RsyncSpec = z
  .strictObject({ source: RsyncPath, destination: RsyncPath, delete: z.boolean().default(false) })
  .refine((r) => isTemplated(r.source) || isTemplated(r.destination) || stripSlash(r.source) !== stripSlash(r.destination), {
    path: ['destination'],
    message: 'is the same path as source',
  });
export type RsyncSpec = z.infer<typeof RsyncSpec>;

export const SyncDataAction = z
  .strictObject({ kind: z.literal('sync_data'), rsync: RsyncSpec.optional(), command: CommandSpec.optional() })
  .superRefine(exactlyOne(['rsync', 'command'], 'sync_data'));
export type SyncDataAction = z.infer<typeof SyncDataAction>;

/**
 * Which snapshots a backup keeps after taking a new one: the newest
 * `keep_last`, the newest of each of the last `hourly` hours and `daily` days
 * (UTC) that have one; anything older than `max_age` goes whatever else keeps
 * it. The newest verified snapshot is always kept.
 */
export const Retention = z
  .strictObject({
    keep_last: z.int().positive().optional(),
    hourly: z.int().positive().optional(),
    daily: z.int().positive().optional(),
    max_age: Duration.optional(),
  })
  .refine((r) => r.keep_last !== undefined || r.hourly !== undefined || r.daily !== undefined, {
    message: 'retention needs at least one of keep_last, hourly, daily',
  });
export type Retention = z.infer<typeof Retention>;

/** Retention when a backup names none: 24 hourly and 7 daily snapshots. */
export const DEFAULT_RETENTION: Retention = { hourly: 24, daily: 7 };

/**
 * Takes a snapshot of `source` into a new dated directory of `repository`
 * (rsync `--link-dest` against the newest snapshot, so unchanged files are
 * hard links), writes its checksum manifest, verifies it by restoring it into
 * a scratch directory, then applies `retention`.
 */
export const BackupAction = z
  .strictObject({
    kind: z.literal('backup'),
    source: LocalPath,
    repository: LocalPath,
    retention: Retention.default(DEFAULT_RETENTION),
    verify: z.boolean().default(true),
  })
  .refine((b) => isTemplated(b.source) || isTemplated(b.repository) || !isInside(b.repository, b.source), {
    path: ['repository'],
    message: 'is inside source (a snapshot would back itself up)',
  });
export type BackupAction = z.infer<typeof BackupAction>;

/**
 * Restores a snapshot of `repository` into `destination` (rsync `--delete`,
 * then every file checked against the snapshot's manifest): the newest
 * verified snapshot, or the one `snapshot` names.
 */
export const RestoreDataAction = z.strictObject({
  kind: z.literal('restore_data'),
  repository: LocalPath,
  destination: LocalPath,
  snapshot: literal((s) => SNAPSHOT_ID.test(s), 'must be a snapshot id such as 2026-01-31T23-59-59-000Z').optional(),
});
export type RestoreDataAction = z.infer<typeof RestoreDataAction>;

export const NotifyAction = z
  .strictObject({
    kind: z.literal('notify'),
    webhook: Webhook.optional(),
    nats: z.strictObject({ subject: literal((s) => PUBLISH_SUBJECT.test(s), 'must be a NATS subject without wildcards or spaces') }).optional(),
    message: NonEmpty,
  })
  .superRefine(exactlyOne(['webhook', 'nats'], 'notify'));
export type NotifyAction = z.infer<typeof NotifyAction>;

export const CommandAction = z.strictObject({
  kind: z.literal('command'),
  ...CommandSpec.shape,
  expect_exit_code: z.int().default(0),
});
export type CommandAction = z.infer<typeof CommandAction>;

export const WaitAction = z.strictObject({ kind: z.literal('wait'), duration: Duration });
export type WaitAction = z.infer<typeof WaitAction>;

const ACTION_OPTIONS = [
  ProbeAction,
  ConfirmAction,
  IsolateAction,
  RestoreAction,
  StartServiceAction,
  StopServiceAction,
  RestartServiceAction,
  SyncDataAction,
  BackupAction,
  RestoreDataAction,
  VerifyAction,
  NotifyAction,
  CommandAction,
  WaitAction,
  ...FAULT_INJECTION_ACTIONS,
] as const;

/** Every action kind, in the order the docs list them. */
export const ACTION_KINDS = ACTION_OPTIONS.map((o) => o.shape.kind.value);

/** One thing a step does, chosen by `kind`. */
export const Action = z.discriminatedUnion('kind', [...ACTION_OPTIONS], {
  error: (iss) => {
    if (iss.code !== 'invalid_union') return undefined;
    const input: unknown = iss.input;
    const kind = input !== null && typeof input === 'object' ? (input as Record<string, unknown>).kind : undefined;
    const expected = ACTION_KINDS.join(', ');
    return kind === undefined
      ? `an action needs a kind: one of ${expected}`
      : `unknown action kind ${JSON.stringify(kind)}; expected one of: ${expected}`;
  },
});
export type Action = z.infer<typeof Action>;
export type ActionKind = Action['kind'];

/** Retry policy of a step's activity. */
export const RetryPolicy = z
  .strictObject({
    max_attempts: z.int().positive().default(3),
    initial_interval: Duration.default('1s'),
    backoff: z.number().min(1).default(2),
    max_interval: Duration.default('30s'),
    /** Error types that are never retried. */
    non_retryable: z.array(NonEmpty).optional(),
  })
  .superRefine((r, ctx) => {
    if (parseDuration(r.max_interval) < parseDuration(r.initial_interval)) {
      ctx.addIssue({ code: 'custom', path: ['max_interval'], message: 'max_interval is shorter than initial_interval' });
    }
  });
export type RetryPolicy = z.infer<typeof RetryPolicy>;

/** Human approval gate before a step runs. */
export const Approval = z.strictObject({
  approvers: z.array(NonEmpty).min(1, 'approvers must name at least one group').default([...DEFAULT_APPROVERS]),
  min_approvals: z.int().positive().default(1),
  timeout: Duration.default('30m'),
  on_timeout: z.enum(['reject', 'escalate', 'approve']).default('escalate'),
  escalate_to: z.array(NonEmpty).optional(),
});
export type Approval = z.infer<typeof Approval>;

/** A path into the run context, e.g. `fault.severity` or `steps.confirm.output.confirmed`. */
export const Reference = z
  .string()
  .regex(
    /^[a-z]+(\.[A-Za-z0-9_-]+)+$/,
    'must be a reference like fault.severity or steps.confirm.output.confirmed',
  );

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
type Scalar = z.infer<typeof Scalar>;

/** Structured `when` condition: exactly one operator per object, nested through all/any/not. */
export type Condition = {
  equals?: [string, Scalar];
  not_equals?: [string, Scalar];
  in?: [string, Scalar[]];
  exists?: string;
  all?: Condition[];
  any?: Condition[];
  not?: Condition;
};
const CONDITION_OPERATORS = ['equals', 'not_equals', 'in', 'exists', 'all', 'any', 'not'] as const;
export const Condition: z.ZodType<Condition> = z.lazy(() =>
  z
    .strictObject({
      equals: z.tuple([Reference, Scalar]).optional(),
      not_equals: z.tuple([Reference, Scalar]).optional(),
      in: z.tuple([Reference, z.array(Scalar)]).optional(),
      exists: Reference.optional(),
      all: z.array(Condition).min(1).optional(),
      any: z.array(Condition).min(1).optional(),
      not: Condition.optional(),
    }, { error: 'a condition is an object such as { equals: [fault.severity, critical] }' })
    .superRefine(exactlyOne(CONDITION_OPERATORS, 'a condition')),
);

/** The parts of a step that decide whether it is risky. */
export interface ApprovalSubject {
  action: Action;
  approval?: Approval | boolean | undefined;
}

/** Kinds of change that need a human by default: isolation, failback, promotion, stopping or restarting a primary, and injected faults. */
export function isRiskyAction(action: Action): boolean {
  switch (action.kind) {
    case 'isolate':
      return true;
    case 'restore':
      return action.failback;
    case 'start_service':
      return action.promote;
    case 'stop_service':
    case 'restart_service':
      return action.role === 'primary';
    case 'kill_process':
    case 'block_port':
    case 'delete_data':
      return true;
    default:
      return false;
  }
}

/** Whether a step waits for approval: as written, else by default for risky actions. */
export function requiresApproval(step: ApprovalSubject): boolean {
  if (step.approval === undefined) return isRiskyAction(step.action);
  return step.approval !== false;
}

/** `true` and a missing approval on a risky step both mean the default approval. */
const StepApproval = z.union([z.boolean(), Approval], {
  error: 'approval is false, true, or an object with approvers, min_approvals, timeout, on_timeout',
});

/** One step of a runbook. After parsing, `approval` is explicit: the gate to pass, or `false`. */
export const Step = z
  .strictObject({
    id: RunbookId,
    name: z.string().optional(),
    action: Action,
    retry: RetryPolicy.prefault({}),
    /** Whole-step limit (Temporal start-to-close); a probe's own `timeout` is per request. */
    timeout: Duration.default('60s'),
    when: Condition.optional(),
    on_failure: z.enum(['abort', 'escalate', 'continue']).default('escalate'),
    compensate: Action.optional(),
    approval: StepApproval.optional(),
    /**
     * `provides` marks a verified isolation step that fences later sync/promote
     * steps; `requires` marks any other step that must only run while that
     * isolation is in force (sync and promote steps require it implicitly).
     */
    isolation: z.enum(['provides', 'requires']).optional(),
    /** Opts this step out of the fencing rule. */
    unfenced: z.literal(true).optional(),
    /**
     * Whether doing the action twice does no more than doing it once. When
     * absent, true only for actions idempotent by construction (see
     * `engine/effects.ts`); a non-idempotent step goes through the effect ledger.
     */
    idempotent: z.boolean().optional(),
    /** A non-idempotent step whose earlier attempt started but never reported its end: run again, skip, or ask a human. @default 'escalate' */
    on_ambiguous: z.enum(['rerun', 'skip', 'escalate']).optional(),
  })
  .superRefine((step, ctx) => {
    if (step.isolation === 'provides' && step.action.kind !== 'isolate') {
      ctx.addIssue({
        code: 'custom',
        path: ['isolation'],
        message: `isolation: provides is only allowed on an isolate step, not ${step.action.kind}`,
      });
    }
    if (step.action.kind === 'confirm') {
      const a = step.action;
      const window = (a.samples - 1) * parseDuration(a.interval) + a.samples * parseDuration(a.timeout);
      if (window > parseDuration(step.timeout)) {
        ctx.addIssue({
          code: 'custom',
          path: ['timeout'],
          message: `step timeout ${step.timeout} is shorter than the confirm window (${window}ms for ${a.samples} samples)`,
        });
      }
    }
  })
  .transform(({ approval, ...rest }) => {
    const needed = requiresApproval({ action: rest.action, approval });
    const effective: Approval | false = !needed
      ? false
      : typeof approval === 'object'
        ? approval
        : Approval.parse({});
    return { ...rest, approval: effective };
  });
export type Step = z.infer<typeof Step>;

export const Match = z.strictObject({
  kinds: z.array(NonEmpty).min(1, 'kinds must name at least one fault kind'),
  /** Service names; `*` matches any run of characters. Absent means any service. */
  services: z.array(NonEmpty).min(1).optional(),
  /** Labels the fault must carry with exactly these values. */
  labels: z.record(NonEmpty, z.string()).optional(),
  priority: z.int().default(0),
});
export type Match = z.infer<typeof Match>;

/**
 * How long a human is given after a step finally failed (`on_failure:
 * escalate`): the request is sent again `renotify` times, `timeout` apart, and
 * after the last unanswered one the incident ends as `on_timeout` says. It
 * never goes on by itself.
 */
export const EscalationSettings = z.strictObject({
  /** Roster groups who may decide (retry, skip, abort); each unanswered request adds the roster's `escalate_to` chain after them. @default [oncall] */
  approvers: z.array(NonEmpty).min(1, 'approvers must name at least one group').optional(),
  timeout: Duration.default('1h'),
  renotify: z.int().min(0).max(20).default(3),
  on_timeout: z.enum(['abort', 'fail']).default('abort'),
});
export type EscalationSettings = z.infer<typeof EscalationSettings>;

export const Settings = z.strictObject({
  /** Changing actions are recorded, not performed. */
  dry_run: z.boolean().default(false),
  /** When set, every command's argv[0] must be one of these. */
  allowed_executables: z.array(AllowListEntry).optional(),
  compensate_on_failure: z.boolean().default(true),
  blast_radius: z.strictObject({ max_isolated: z.int().positive(), max_per_hour: z.int().positive() }).optional(),
  flap: z.strictObject({ max_incidents: z.int().positive(), window: Duration }).optional(),
  escalation: EscalationSettings.prefault({}),
});
export type Settings = z.infer<typeof Settings>;

export const ParamValue = z.union([z.string(), z.number(), z.boolean()], {
  error: 'a param is a string, number or boolean',
});
export type ParamValue = z.infer<typeof ParamValue>;

/**
 * What a drill of this runbook is graded against: time from the fault to
 * traffic restored (`rto`) and to the incident healed (`heal`), data lost
 * (`rpo`: fault time minus the newest canary record the serving side holds),
 * and optional budgets of failed client requests and lost canary records.
 */
export const Objectives = z
  .strictObject({
    rto: Duration.optional(),
    heal: Duration.optional(),
    rpo: Duration.optional(),
    failed_requests: z.int().min(0).optional(),
    data_loss: z.int().min(0).optional(),
  })
  .refine((o) => Object.values(o).some((v) => v !== undefined), { message: 'objectives needs at least one of rto, heal, rpo, failed_requests, data_loss' });
export type Objectives = z.infer<typeof Objectives>;

/** Roster group whose members may approve drills when the drill names none. */
export const DEFAULT_DRILL_APPROVERS: readonly string[] = ['drills'];

const DrillUrl = z.strictObject({ url: literal((url) => ProbeUrl.safeParse(url).success, 'must be an http or https URL') });

/**
 * The write canary: a record `{ seq, at, drill }` POSTed to `write.url`
 * every `interval`; `read.url` answers (GET, `?before=<ISO time>`) the newest
 * record it holds written at or before that time and how many it holds.
 */
export const CanarySpec = z.strictObject({ write: DrillUrl, read: DrillUrl, interval: Duration.default('1s') });
export type CanarySpec = z.infer<typeof CanarySpec>;

/** Client traffic during a drill: GETs of `url` at `rate` a second; a non-2xx answer or no answer within `timeout` is a failed request. */
export const LoadSpec = z.strictObject({
  url: literal((url) => ProbeUrl.safeParse(url).success, 'must be an http or https URL'),
  rate: z.int().min(1).max(100).default(10),
  timeout: Duration.default('2s'),
});
export type LoadSpec = z.infer<typeof LoadSpec>;

/**
 * How a runbook is rehearsed (`runbook drill`): who approves, the fault to
 * inject, what measures it, how long each phase may take, and the steps that
 * put the starting state back whatever the incident did.
 */
export const DrillSpec = z
  .strictObject({
    /** Roster groups whose members may approve a drill (a permission apart from approving incidents). */
    approvers: z.array(NonEmpty).min(1, 'approvers must name at least one group').default([...DEFAULT_DRILL_APPROVERS]),
    approval_timeout: Duration.default('30m'),
    fault: Action,
    canary: CanarySpec.optional(),
    load: LoadSpec.optional(),
    /** Checks that must pass before the fault (else the drill does not start) and after the restore (else it says the state was not restored). */
    steady_state: z.array(ProbeTarget).default([]),
    /** Longest wait from the fault to the incident opening. */
    detect_timeout: Duration.default('2m'),
    /** Longest wait from the incident opening to its end. */
    heal_timeout: Duration.default('15m'),
    /** Run after the incident, however it ended; each should be harmless when there is nothing to restore. */
    restore: z.array(Step).default([]),
    /** Drills on a timetable; each schedule runs only once a member of `approvers` has approved it. */
    schedule: RunbookSchedule.optional(),
  })
  .superRefine((d, ctx) => {
    if (!(DRILL_FAULT_KINDS as readonly string[]).includes(d.fault.kind)) {
      ctx.addIssue({ code: 'custom', path: ['fault', 'kind'], message: `a drill injects one of: ${DRILL_FAULT_KINDS.join(', ')}` });
    }
    const seen = new Set<string>();
    d.restore.forEach((step, i) => {
      if (seen.has(step.id)) ctx.addIssue({ code: 'custom', path: ['restore', i, 'id'], message: `duplicate step id "${step.id}"` });
      seen.add(step.id);
      // Restore steps run one after another with no incident around them: no confirmation sampling, no conditions on earlier outputs.
      if (step.action.kind === 'confirm') ctx.addIssue({ code: 'custom', path: ['restore', i, 'action', 'kind'], message: 'a restore step cannot confirm; use a probe or verify' });
      if (step.when !== undefined) ctx.addIssue({ code: 'custom', path: ['restore', i, 'when'], message: 'restore steps always run; write them so they do nothing when there is nothing to restore' });
    });
  });
export type DrillSpec = z.infer<typeof DrillSpec>;

/** A validated runbook, as the workflow receives it. */
export const Runbook = z
  .strictObject({
    name: RunbookId,
    version: z.int().positive(),
    description: z.string().optional(),
    match: Match,
    settings: Settings.prefault({}),
    params: z.record(RunbookId, ParamValue).prefault({}),
    /** Runs on a timetable as well as on faults; see docs/runbooks.md. */
    schedule: RunbookSchedule.optional(),
    /** What a drill of this runbook is graded against. */
    objectives: Objectives.optional(),
    /** How this runbook is rehearsed; see docs/drills.md. */
    drill: DrillSpec.optional(),
    steps: z.array(Step).min(1, 'a runbook needs at least one step'),
  })
  .superRefine((runbook, ctx) => {
    const seen = new Map<string, number>();
    runbook.steps.forEach((step, i) => {
      const first = seen.get(step.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', i, 'id'],
          message: `duplicate step id "${step.id}" (first used by steps[${first}])`,
        });
      } else {
        seen.set(step.id, i);
      }
    });
  });
export type Runbook = z.infer<typeof Runbook>;
/** A runbook as written, before defaults are filled in. */
export type RunbookInput = z.input<typeof Runbook>;
