import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import { DrillReport } from '../../schemas/drill-report';
import { DRILL_REPORT_SCHEMA_PATH, renderDrillReportJsonSchema } from '../../scripts/gen-json-schemas';
import { drillTime, exampleDrillReport } from '../helpers/drill-report-example';

const SCHEMA_FILE = path.join(path.resolve(__dirname, '..', '..'), DRILL_REPORT_SCHEMA_PATH);

function validator() {
  return new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
}

describe('published drill report JSON Schema', () => {
  test('the committed file is exactly what the generator produces now', () => {
    assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), renderDrillReportJsonSchema(), 'run: node --import tsx scripts/gen-json-schemas.ts');
  });

  const scheduled = exampleDrillReport({
    scheduled: { scheduleId: 'drill/model-failover/m1' },
    approval: { preApproved: { by: 'dora', at: drillTime(-86_400), reason: 'weekly drill', scheduleId: 'drill/model-failover/m1' } },
  });
  const failed = exampleDrillReport({
    incident: { incidentId: 'incident/model/m1', runId: 'r', status: 'failed', outcome: 'step isolate failed', openedAt: drillTime(11) },
    measurements: { faultAt: drillTime(10) },
    objectives: {},
    grades: [{ objective: 'healed', target: 'resolved', measured: 'failed', pass: false }, { objective: 'restored', target: 'restored', measured: 'restored', pass: true }],
    result: 'failed',
    reasons: ['the incident ended failed, not resolved'],
  });
  const rejected = exampleDrillReport({ approval: undefined, incident: undefined, incidentAudit: undefined, measurements: {}, grades: [], result: 'rejected', reasons: ['rejected by dora: not during the release'] });
  for (const [name, report] of [['an approved, passed drill', exampleDrillReport()], ['a scheduled, pre-approved drill', scheduled], ['a failed drill', failed], ['a rejected drill', rejected]] as const) {
    test(`${name} parses and validates against the published schema`, () => {
      const instance = JSON.parse(JSON.stringify(report)) as unknown;
      assert.equal(DrillReport.safeParse(instance).success, true, DrillReport.safeParse(instance).error?.message);
      const validate = validator();
      assert.equal(validate(instance), true, JSON.stringify(validate.errors));
    });
  }

  test('the schema and the parser both refuse an unknown result, an unknown field and a negative duration', () => {
    const validate = validator();
    for (const bad of [
      { ...exampleDrillReport(), result: 'maybe' },
      { ...exampleDrillReport(), colour: 'red' },
      { ...exampleDrillReport(), measurements: { rtoMs: -1 } },
      { ...exampleDrillReport(), approval: { by: 'dora', at: drillTime(0), reason: 'r', channel: 'http', preApproved: { by: 'x', at: drillTime(0), reason: 'r', scheduleId: 's' } } },
    ]) {
      assert.equal(DrillReport.safeParse(bad).success, false, JSON.stringify(bad).slice(0, 80));
      assert.equal(validate(bad), false, JSON.stringify(bad).slice(0, 80));
    }
  });
});
