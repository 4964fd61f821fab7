import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { Handoff } from '../../intake/handoff';
import { FaultEvent } from '../../schemas/fault-event';

/*
 * The decisions of Handoff.deliverRedelivered, on a stand-in for the client's
 * few calls it makes; the same paths run against a real Temporal server in
 * intake-crash-and-scale.test.ts.
 */

const INCIDENT = 'incident/svc/node-1';

function fault(id: string): FaultEvent {
  return FaultEvent.parse({ id, source: 'test', service: 'svc', target: 'node-1', kind: 'node_down', severity: 'critical', observedAt: new Date().toISOString() });
}

interface Run {
  runId: string;
  open: boolean;
  ledger: string[];
}

/** A Temporal stand-in holding the incident's runs; `closeOnSignal` closes the open run just as a signal reaches it. */
function fakeClient(runs: Run[], opts: { closeOnSignal?: boolean; listed?: boolean; openListedAfter?: number } = {}) {
  // Visibility takes in the open run after this many looks (at once by default).
  let looksUntilOpenListed = opts.openListedAfter ?? 0;
  const calls = { signals: [] as { runId: string; name: string; ids: string[] }[], signalWithStart: [] as string[][], describes: 0 };
  const current = (): Run | undefined => runs.at(-1);
  const handle = (runId?: string) => ({
    describe: async () => {
      calls.describes++;
      const run = runId ? runs.find((r) => r.runId === runId) : current();
      if (!run) throw new WorkflowNotFoundError('not found', INCIDENT, runId);
      return { runId: run.runId, status: { name: run.open ? 'RUNNING' : 'COMPLETED' } };
    },
    signal: async (def: { name: string }, arg: FaultEvent | FaultEvent[]) => {
      const run = runs.find((r) => r.runId === runId);
      if (run && opts.closeOnSignal) run.open = false;
      if (!run || !run.open) throw new WorkflowNotFoundError('workflow execution already completed', INCIDENT, runId);
      const ids = (Array.isArray(arg) ? arg : [arg]).map((e) => e.id);
      calls.signals.push({ runId: run.runId, name: def.name, ids });
    },
    result: async () => {
      const run = runs.find((r) => r.runId === runId);
      if (!run || run.open) throw new Error('result of an open run would wait');
      return { state: { faults: { recentEventIds: run.ledger, firstEventId: run.ledger[0], lastEventId: run.ledger.at(-1) } } };
    },
  });
  const client = {
    withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
    workflow: {
      getHandle: (_id: string, runId?: string) => handle(runId),
      list: async function* ({ query }: { query: string }) {
        const one = /RunId = '([^']+)'/.exec(query)?.[1];
        if (one !== undefined) {
          if (looksUntilOpenListed-- > 0) return;
          const run = runs.find((r) => r.runId === one);
          if (run) yield { runId: run.runId, status: { name: run.open ? 'RUNNING' : 'COMPLETED' } };
          return;
        }
        if (opts.listed === false || looksUntilOpenListed > 0) return;
        for (const run of runs) if (!run.open) yield { runId: run.runId, status: { name: 'COMPLETED' } };
      },
    },
    options: { namespace: 'default', identity: 'test', loadedDataConverter: loadDataConverter() },
    workflowService: {
      signalWithStartWorkflowExecution: async (req: { signalInput: { payloads: Payload[] } }) => {
        const [payload] = req.signalInput.payloads;
        const arg = defaultPayloadConverter.fromPayload<FaultEvent | FaultEvent[]>(payload as Payload);
        calls.signalWithStart.push((Array.isArray(arg) ? arg : [arg]).map((e) => e.id));
        return { runId: 'started-run', started: true };
      },
    },
  };
  return { client: client as unknown as Client, calls };
}

const published = new Date(Date.now() - 5_000);

test('a run that closes between the look and the signal is looked at again: its ledger makes the redelivery a duplicate, and no new run starts', async () => {
  const { client, calls } = fakeClient([{ runId: 'r1', open: true, ledger: ['e1'] }], { closeOnSignal: true });
  const result = await new Handoff({ client, taskQueue: 'q' }).deliverRedelivered([fault('e1')], published, undefined, false);
  assert.deepEqual(result, { outcome: 'duplicate', incidentId: INCIDENT, runId: 'r1' });
  assert.deepEqual(calls.signalWithStart, [], 'no signal-with-start');
  assert.equal(calls.describes, 2, 'the incident was looked at twice');
});

test('with a newer run open, an event a closed run absorbed is a duplicate and the newer run is not signalled', async () => {
  const { client, calls } = fakeClient([
    { runId: 'r1', open: false, ledger: ['e1'] },
    { runId: 'r2', open: true, ledger: ['e9'] },
  ]);
  const result = await new Handoff({ client, taskQueue: 'q' }).deliverRedelivered([fault('e1')], published, undefined, false);
  assert.deepEqual(result, { outcome: 'duplicate', incidentId: INCIDENT, runId: 'r1' });
  assert.deepEqual(calls.signals, []);
});

test('of several events only those no closed run absorbed reach the open run, by its run id', async () => {
  const { client, calls } = fakeClient([
    { runId: 'r1', open: false, ledger: ['e1'] },
    { runId: 'r2', open: true, ledger: [] },
  ]);
  const result = await new Handoff({ client, taskQueue: 'q' }).deliverRedelivered([fault('e1'), fault('e2')], published, undefined, false);
  assert.deepEqual(result, { outcome: 'coalesced', incidentId: INCIDENT, runId: 'r2' });
  assert.deepEqual(calls.signals, [{ runId: 'r2', name: 'faultObserved', ids: ['e2'] }]);
});

test('when the current run is closed and absorbed none of them, the events are signalled-with-start', async () => {
  const { client, calls } = fakeClient([{ runId: 'r1', open: false, ledger: ['e0'] }]);
  const result = await new Handoff({ client, taskQueue: 'q' }).deliverRedelivered([fault('e1')], published, undefined, false);
  assert.equal(result.outcome, 'started');
  assert.deepEqual(calls.signalWithStart, [['e1']]);
});

test('the closed current run counts even when visibility does not list it yet', async () => {
  const { client, calls } = fakeClient([{ runId: 'r1', open: false, ledger: ['e1'] }], { listed: false });
  const result = await new Handoff({ client, taskQueue: 'q' }).deliverRedelivered([fault('e1')], published, undefined, false);
  assert.equal(result.outcome, 'duplicate');
  assert.deepEqual(calls.signalWithStart, []);
});

test('a run that keeps closing under the look makes the hand-off fail, so the message goes back to JetStream', async () => {
  let n = 0;
  const runs: Run[] = [{ runId: 'r0', open: true, ledger: [] }];
  const { client } = fakeClient(runs, { closeOnSignal: true });
  const wrapped = client as unknown as { workflow: { getHandle: (id: string, runId?: string) => { describe: () => Promise<unknown> } } };
  const getHandle = wrapped.workflow.getHandle;
  wrapped.workflow.getHandle = (id, runId) => {
    if (!runId) runs.push({ runId: `r${++n}`, open: true, ledger: [] });
    return getHandle(id, runId);
  };
  await assert.rejects(new Handoff({ client, taskQueue: 'q' }).deliverRedelivered([fault('e1')], published, undefined, false), /closed 3 times/);
});

test('with a newer run open, closed runs are read only once visibility lists that run: an older close it had not taken in yet is still found', async () => {
  const { client, calls } = fakeClient([
    { runId: 'r1', open: false, ledger: ['e1'] },
    { runId: 'r2', open: true, ledger: ['e9'] },
  ], { openListedAfter: 3 });
  const result = await new Handoff({ client, taskQueue: 'q' }).deliverRedelivered([fault('e1')], published, undefined, false);
  assert.deepEqual(result, { outcome: 'duplicate', incidentId: INCIDENT, runId: 'r1' });
  assert.deepEqual(calls.signals, [], 'the newer run was not signalled');
});
