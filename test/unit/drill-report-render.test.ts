import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderDrillReportMarkdown } from '../../audit/render-drill-report';
import { drillTime, exampleDrillReport } from '../helpers/drill-report-example';

test('a passed drill renders its result, objectives table, timeline, restore and incident audit command', () => {
  const md = renderDrillReportMarkdown(exampleDrillReport());
  assert.match(md, /^# Drill PASSED: model-failover on model\/m1\n/);
  assert.match(md, /approved by dora via http at 2026-04-01T10:00:02\.000Z: quarterly drill/);
  assert.match(md, /\| objective \| target \| measured \| result \|\n\|---\|---\|---\|---\|\n\| rto \| 30s \| 4\.0s \| pass \|\n\| rpo \| 10s \| 1\.0s \| pass \|/);
  assert.match(md, /\| 2026-04-01T10:00:10\.000Z \| fault injected: kill_process SIGKILL \|/);
  assert.match(md, /The starting state was restored\.\n\n\| step \| status \| detail \|\n\|---\|---\|---\|\n\| fail-back \| succeeded \| m1 serving again \|/);
  assert.match(md, /\| http:\/\/127\.0\.0\.1:8081\/health \| ok \|  \|/);
  assert.match(md, /- audit record: `runbook audit incident\/model\/m1`/);
  assert.match(md, /- Temporal: <http:\/\/localhost:8233\/namespaces\/runbooks\/workflows\/drill%2Fmodel%2Fm1>/);
  assert.match(md, /canary: 50 written, 1 write failures; newest before the fault #10 at 2026-04-01T10:00:09\.500Z, newest on the serving side #9 at 2026-04-01T10:00:09\.000Z; 1 lost/);
  assert.doesNotMatch(md, /## Why/);
});

test('a failed drill says why, marks the failing grades and the unrestored state', () => {
  const md = renderDrillReportMarkdown(
    exampleDrillReport({
      result: 'failed',
      reasons: ['the incident ended failed, not resolved', 'the starting state was not restored'],
      grades: [{ objective: 'healed', target: 'resolved', measured: 'failed', pass: false }, { objective: 'restored', target: 'restored', measured: 'not restored', pass: false }],
      restored: { ok: false, steps: [{ id: 'fail-back', status: 'failed', error: 'haproxy: no such server' }], checks: [{ target: 'http://m1/health', ok: false, detail: '503' }] },
    }),
  );
  assert.match(md, /^# Drill FAILED:/);
  assert.match(md, /## Why\n\n- the incident ended failed, not resolved\n- the starting state was not restored\n/);
  assert.match(md, /\| healed \| resolved \| failed \| \*\*FAIL\*\* \|/);
  assert.match(md, /\*\*The starting state was NOT restored\.\*\*/);
  assert.match(md, /\| fail-back \| failed \| haproxy: no such server \|/);
  assert.match(md, /\| http:\/\/m1\/health \| FAILED \| 503 \|/);
});

test('a rejected drill without an incident, and a scheduled one, render what they have', () => {
  const rejected = renderDrillReportMarkdown(exampleDrillReport({ approval: undefined, incident: undefined, grades: [], measurements: {}, timeline: [], result: 'rejected', reasons: ['rejected by dora'] }));
  assert.match(rejected, /^# Drill REJECTED:/);
  assert.match(rejected, /not approved/);
  assert.match(rejected, /Nothing was graded\./);
  assert.match(rejected, /No incident was opened\./);
  assert.doesNotMatch(rejected, /## Timeline|## Measurements/);
  const scheduled = renderDrillReportMarkdown(
    exampleDrillReport({ scheduled: { scheduleId: 'drill/weekly' }, approval: { preApproved: { by: 'dora', at: drillTime(-60), reason: 'weekly', scheduleId: 'drill/weekly' } } }),
  );
  assert.match(scheduled, /scheduled by drill\/weekly; requested by olga; pre-approved with schedule drill\/weekly by dora at 2026-04-01T09:59:00\.000Z: weekly/);
});

test('text from the report cannot break the table or inject markup', () => {
  const md = renderDrillReportMarkdown(exampleDrillReport({ timeline: [{ at: drillTime(1), what: 'a | b\n# heading <script>' }] }));
  assert.match(md, /\| a \\\| b # heading \\<script\\> \|/);
  assert.doesNotMatch(md, /\n# heading/);
});
