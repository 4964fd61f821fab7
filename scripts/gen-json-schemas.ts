import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { renderAuditJsonSchema } from '../audit/audit-record';
import { z } from 'zod';
import { FaultEvent, MAX_EVENT_BYTES } from '../schemas/fault-event';

/** Where the published fault event schema lives, relative to the repository root. */
export const FAULT_EVENT_SCHEMA_PATH = path.join('docs', 'schemas', 'fault-event.schema.json');

/** Stable identifier of the published schema. */
export const FAULT_EVENT_SCHEMA_ID = 'urn:self-healing-runbooks:schema:fault-event:v1';

/**
 * Renders the fault event JSON Schema (draft 2020-12) from the zod schema.
 * Uses the input side, because the document is for producers: fields with
 * defaults are optional to send.
 */
export function renderFaultEventJsonSchema(): string {
  const generated = z.toJSONSchema(FaultEvent, { target: 'draft-2020-12', io: 'input' });
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

/** Writes every published schema under `root`. */
export function writeJsonSchemas(root: string): string[] {
  const target = path.join(root, FAULT_EVENT_SCHEMA_PATH);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, renderFaultEventJsonSchema());
  const audit = path.join(root, 'docs', 'schemas', 'audit.schema.json');
  writeFileSync(audit, renderAuditJsonSchema());
  return [target, audit];
}

if (require.main === module) {
  for (const written of writeJsonSchemas(path.resolve(__dirname, '..'))) {
    process.stdout.write(`wrote ${written}\n`);
  }
}
