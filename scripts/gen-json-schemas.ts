import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { renderAuditJsonSchema } from '../audit/audit-record';
import { z } from 'zod';
import { FaultEvent, MAX_EVENT_BYTES } from '../schemas/fault-event';
import { plainRecordFor } from '../schemas/own-string-map';
import { DrillReport } from '../schemas/drill-report';
import { Runbook } from '../schemas/runbook';

/** Where the published fault event schema lives, relative to the repository root. */
export const FAULT_EVENT_SCHEMA_PATH = path.join('docs', 'schemas', 'fault-event.schema.json');

/** Stable identifier of the published schema. */
export const FAULT_EVENT_SCHEMA_ID = 'urn:self-healing-runbooks:schema:fault-event:v1';

/**
 * Renders an own-key string map (`schemas/own-string-map.ts`) as the plain
 * record it validates; zod sees only its unconstrained input side. The
 * record's keywords go first and the map's own (description, bounds) after,
 * the order `z.record(...).meta(...)` gives.
 */
function renderOwnStringMaps(context: { zodSchema: z.core.$ZodType; jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  const plain = plainRecordFor(context.zodSchema);
  if (plain === undefined) return;
  const { $schema: _schema, ...record } = z.toJSONSchema(plain, { target: 'draft-2020-12', io: 'input' });
  const own = { ...context.jsonSchema };
  for (const key of Object.keys(context.jsonSchema)) delete context.jsonSchema[key];
  Object.assign(context.jsonSchema, record, own);
}

/**
 * Renders the fault event JSON Schema (draft 2020-12) from the zod schema.
 * Uses the input side, because the document is for producers: fields with
 * defaults are optional to send.
 */
export function renderFaultEventJsonSchema(): string {
  const generated = z.toJSONSchema(FaultEvent, {
    target: 'draft-2020-12',
    io: 'input',
    override: renderOwnStringMaps,
  });
  const { $schema, ...rest } = generated;
  const document = {
    $schema,
    $id: FAULT_EVENT_SCHEMA_ID,
    title: 'FaultEvent',
    description:
      'One observed fault, published on NATS subject faults.<service>.<kind> with header Nats-Msg-Id set to id. ' +
      `Bodies larger than ${MAX_EVENT_BYTES} bytes are refused.` +
      ' May also be sent as the data of a CloudEvents 1.0 structured-mode envelope.',
    ...rest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Where the published runbook schema lives, relative to the repository root. */
export const RUNBOOK_SCHEMA_PATH = path.join('docs', 'schemas', 'runbook.schema.json');

/** Stable identifier of the published runbook schema. */
export const RUNBOOK_SCHEMA_ID = 'urn:self-healing-runbooks:schema:runbook:v1';

/**
 * Renders the runbook JSON Schema (draft 2020-12) from the zod schema, input
 * side (what an author writes; defaults are optional). Shapes used more than
 * once go to `$defs`. Editors use it through the modeline
 * `# yaml-language-server: $schema=...`; cross-field rules (fencing,
 * references, allow-lists, confirm windows) are only checked by
 * `runbook validate`.
 */
export function renderRunbookJsonSchema(): string {
  const generated = z.toJSONSchema(Runbook, { target: 'draft-2020-12', io: 'input', reused: 'ref' });
  const { $schema, ...rest } = generated;
  const document = {
    $schema,
    $id: RUNBOOK_SCHEMA_ID,
    title: 'Runbook',
    description:
      'A self-healing runbook: which faults it matches and the steps that remedy them. ' +
      'Checked in full by `runbook validate`, which also applies the rules a JSON Schema cannot state.',
    ...rest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Where the published drill report schema lives, relative to the repository root. */
export const DRILL_REPORT_SCHEMA_PATH = path.join('docs', 'schemas', 'drill-report.schema.json');

/** Stable identifier of the published drill report schema. */
export const DRILL_REPORT_SCHEMA_ID = 'urn:self-healing-runbooks:schema:drill-report:v1';

/**
 * Renders the drill report JSON Schema (draft 2020-12) from the zod schema,
 * output side: the document is for readers of reports (auditors, tools), and
 * every report stored was built by the drill workflow.
 */
export function renderDrillReportJsonSchema(): string {
  const { $schema, ...rest } = z.toJSONSchema(DrillReport, { target: 'draft-2020-12', io: 'output' });
  const document = {
    $schema,
    $id: DRILL_REPORT_SCHEMA_ID,
    title: 'DrillReport',
    description: 'One disaster-recovery drill as `runbook drills show --json` prints it and the audit stream keeps it (event drill.report).',
    ...rest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Writes every published schema under `root`. */
export function writeJsonSchemas(root: string): string[] {
  const target = path.join(root, FAULT_EVENT_SCHEMA_PATH);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, renderFaultEventJsonSchema());
  const audit = path.join(root, 'docs', 'schemas', 'audit.schema.json');
  writeFileSync(audit, renderAuditJsonSchema());
  const runbook = path.join(root, RUNBOOK_SCHEMA_PATH);
  writeFileSync(runbook, renderRunbookJsonSchema());
  const drillReport = path.join(root, DRILL_REPORT_SCHEMA_PATH);
  writeFileSync(drillReport, renderDrillReportJsonSchema());
  return [target, audit, runbook, drillReport];
}

if (require.main === module) {
  for (const written of writeJsonSchemas(path.resolve(__dirname, '..'))) {
    process.stdout.write(`wrote ${written}\n`);
  }
}
