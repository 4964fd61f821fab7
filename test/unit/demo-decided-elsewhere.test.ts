import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { followIncident } from '../../demo/follow-incident';

/*
 * The demo asks at the terminal before failing back; when someone decides
 * the request elsewhere first (the console), the question is withdrawn and
 * the demo sends no decision of its own. The incident is stood in for by a
 * handle whose state moves on when the test says so.
 */

const request = { requestId: 'r-1', type: 'approval', step: 'fail_back', reason: 'fail back', requestedAt: '2026-12-03T08:00:00.000Z', decisions: [] as object[] } as Record<string, unknown>;
const base = { incidentId: 'incident/demo/primary', status: 'awaiting_approval', steps: [{ id: 'fail_back', status: 'waiting_approval' }], requests: [request] };

function incident(): { handle: WorkflowHandle; decide(): void; close(): void; signals: string[] } {
  let state: Record<string, unknown> = base;
  const signals: string[] = [];
  const handle = {
    query: () => Promise.resolve(state),
    signal: (name: unknown) => {
      signals.push(String(name));
      return Promise.resolve();
    },
  } as unknown as WorkflowHandle;
  return {
    handle,
    signals,
    decide: () => {
      state = { ...base, requests: [{ ...request, outcome: 'approved', decidedAt: '2026-12-03T08:01:00.000Z', decisions: [{ by: 'alice', channel: 'console', verdict: 'approve', reason: 'looks good', at: '2026-12-03T08:01:00.000Z', accepted: true }] }] };
    },
    close: () => {
      state = { ...(state as object), status: 'healed', closedAt: '2026-12-03T08:02:00.000Z' };
    },
  };
}

test('a fail-back approved in the console withdraws the terminal question and sends nothing more', async () => {
  const inc = incident();
  const notes: string[] = [];
  const questions: string[] = [];
  const client = { workflow: { getHandle: () => inc.handle } } as unknown as Client;
  const followed = followIncident(inc.handle, {
    client,
    autoApprove: false,
    consoleUrl: 'http://127.0.0.1:9120/#/incidents/incident%2Fdemo%2Fprimary',
    // A person who never answers: only the withdrawal ends the question.
    ask: (question, signal) => {
      questions.push(question);
      setTimeout(() => inc.decide(), 50);
      return new Promise((_ok, fail) => signal.addEventListener('abort', () => {
        setTimeout(() => inc.close(), 50);
        fail(new Error('aborted'));
      }));
    },
    log: () => undefined,
    note: (what) => notes.push(what),
    timeoutMs: 10_000,
    decisionKey: randomBytes(32),
  });
  const result = await followed;
  assert.equal(result.state.status, 'healed');
  assert.equal(questions.length, 1);
  assert.match(questions[0] ?? '', /Or decide it in the console: http:\/\/127\.0\.0\.1:9120\/#\/incidents\/incident%2Fdemo%2Fprimary/);
  assert.ok(notes.includes('approve of fail_back by alice via console'), notes.join(' | '));
  assert.deepEqual(inc.signals, [], 'the demo sent no decision of its own');
});

test('answered at the terminal first, the demo sends its own approval', async () => {
  const inc = incident();
  const client = { workflow: { getHandle: () => inc.handle } } as unknown as Client;
  const result = await followIncident(inc.handle, {
    client,
    autoApprove: false,
    ask: () => {
      setTimeout(() => inc.close(), 50);
      return Promise.resolve(true);
    },
    log: () => undefined,
    note: () => undefined,
    timeoutMs: 10_000,
    decisionKey: randomBytes(32),
  });
  assert.equal(result.state.status, 'healed');
  assert.equal(inc.signals.length, 1, 'one approval signal');
});
