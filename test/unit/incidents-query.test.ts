import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fullIncidentId } from '../../incidents/incident-ref';
import { incidentsQuery, InvalidFilterError, sinceToIso } from '../../incidents/query';

describe('incident filters', () => {
  const now = new Date('2026-03-01T12:00:00.000Z');

  test('since reads a duration back from now or an ISO time', () => {
    assert.equal(sinceToIso('30m', now), '2026-03-01T11:30:00.000Z');
    assert.equal(sinceToIso('2d', now), '2026-02-27T12:00:00.000Z');
    assert.equal(sinceToIso('2026-02-01T00:00:00Z', now), '2026-02-01T00:00:00.000Z');
  });

  test('a since that is neither a duration nor a time is refused, naming the filter', () => {
    assert.throws(() => sinceToIso('yesterday', now), (err: unknown) => err instanceof InvalidFilterError && err.filter === 'since' && err.message.startsWith('since "yesterday"'));
  });

  test('the query joins each given filter and nothing else', () => {
    assert.equal(incidentsQuery({}), `WorkflowType = 'incident'`);
    const q = incidentsQuery({ service: 'checkout', status: 'awaiting_approval', since: '2026-03-01T11:30:00.000Z', open: true });
    assert.match(q, /^WorkflowType = 'incident' AND /);
    assert.match(q, /= 'checkout'/);
    assert.match(q, /= 'awaiting_approval'/);
    assert.match(q, / AND StartTime >= '2026-03-01T11:30:00.000Z' AND ExecutionStatus = 'Running'$/);
  });

  test('values that could change the query are refused before it is built', () => {
    for (const [filter, value] of [['service', "x' OR 1=1"], ['target', 'a b'], ['status', 'Resolved']] as const) {
      assert.throws(() => incidentsQuery({ [filter]: value }), (err: unknown) => err instanceof InvalidFilterError && err.filter === filter);
    }
  });
});

describe('incident references', () => {
  test('the short service/target form and the full id name the same incident', () => {
    assert.equal(fullIncidentId('app/primary'), 'incident/app/primary');
    assert.equal(fullIncidentId('incident/app/primary'), 'incident/app/primary');
  });
});
