import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { temporal } from '@temporalio/proto';
import { GrpcStatusError, type GrpcChannel } from '../../platform/grpc-unary';
import { ProtoDecodeError, ProtoMessage, ProtoWriter } from '../../platform/protobuf-wire';
import { temporalGrpcReads, WorkflowNotFoundOverGrpcError } from '../../platform/temporal-grpc-reads';
import { PayloadEncodingError } from '../../platform/temporal-http';
import { INCIDENT_MESSAGE_NAMES } from '../../schemas/incident-wire-names';
import { faultObserved, faultResolved, faultsObserved, incidentState } from '../../workflows/messages';
import { faultIdsFromEvents } from '../../incidents/incident-workflow-reads';

/*
 * The lean reader's field numbers checked against Temporal's own protobuf
 * definitions: requests it writes are decoded by @temporalio/proto, and
 * answers @temporalio/proto encodes are read by it.
 */

const ws = temporal.api.workflowservice.v1;
const json = (value: unknown): temporal.api.common.v1.IPayload => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(value)) });

type Answer = Uint8Array | Error;

/** A channel that records each call and answers from `answers` in turn. */
function fakeChannel(answers: Answer[]): GrpcChannel & { calls: { path: string; request: Buffer }[] } {
  const calls: { path: string; request: Buffer }[] = [];
  return {
    calls,
    unary(path, request) {
      calls.push({ path, request });
      const next = answers.shift();
      if (next === undefined) return Promise.reject(new Error(`unexpected call ${path}`));
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(Buffer.from(next));
    },
    close() {},
  };
}

describe('protobuf wire', () => {
  test('what the writer writes the reader reads back, field by field', () => {
    const inner = new ProtoWriter().string(1, 'incident/app/web-1');
    const buf = new ProtoWriter().string(1, 'runbooks').message(2, inner).varint(3, 300).varint(5, true).bytes(4, Buffer.from([0, 255])).varint(9, 2 ** 40).finish();
    const m = new ProtoMessage(buf);
    assert.equal(m.string(1), 'runbooks');
    assert.equal(m.message(2)?.string(1), 'incident/app/web-1');
    assert.equal(m.varint(3), 300);
    assert.equal(m.varint(5), 1);
    assert.deepEqual([...(m.bytes(4) ?? [])], [0, 255]);
    assert.equal(m.varint(9), 2 ** 40);
    assert.equal(m.varint(7), 0);
    assert.equal(m.string(8), '');
    assert.equal(m.message(8), undefined);
  });

  test('a truncated message is refused', () => {
    const buf = new ProtoWriter().string(1, 'runbooks').finish();
    assert.throws(() => new ProtoMessage(buf.subarray(0, buf.length - 2)), ProtoDecodeError);
  });

  test('a field read as the wrong kind is refused', () => {
    assert.throws(() => new ProtoMessage(new ProtoWriter().varint(1, 3).finish()).string(1), ProtoDecodeError);
  });
});

describe('Temporal workflow reads over gRPC', () => {
  test('describe names the workflow in the namespace and gives the status as the SDK names it', async () => {
    const channel = fakeChannel([ws.DescribeWorkflowExecutionResponse.encode({ workflowExecutionInfo: { status: temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED } }).finish()]);
    assert.equal(await temporalGrpcReads(channel, 'runbooks').status('incident/app/web-1'), 'CANCELLED');
    assert.equal(channel.calls[0]?.path, '/temporal.api.workflowservice.v1.WorkflowService/DescribeWorkflowExecution');
    const req = ws.DescribeWorkflowExecutionRequest.decode(channel.calls[0]?.request ?? Buffer.alloc(0));
    assert.equal(req.namespace, 'runbooks');
    assert.equal(req.execution?.workflowId, 'incident/app/web-1');
    assert.equal(req.execution?.runId, '');
  });

  test('a query sends its type and answers with its first payload', async () => {
    const channel = fakeChannel([ws.QueryWorkflowResponse.encode({ queryResult: { payloads: [json({ status: 'open' }), json(2)] } }).finish()]);
    assert.deepEqual(await temporalGrpcReads(channel, 'ns').query('incident/a/b', 'state'), { status: 'open' });
    const req = ws.QueryWorkflowRequest.decode(channel.calls[0]?.request ?? Buffer.alloc(0));
    assert.equal(req.query?.queryType, 'state');
    assert.equal(req.execution?.workflowId, 'incident/a/b');
  });

  test('a rejected query and an answer without a result fail as the SDK fails them', async () => {
    const rejected = fakeChannel([ws.QueryWorkflowResponse.encode({ queryRejected: { status: temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED } }).finish()]);
    await assert.rejects(temporalGrpcReads(rejected, 'ns').query('w', 'state'), { message: 'Query rejected' });
    const empty = fakeChannel([ws.QueryWorkflowResponse.encode({}).finish()]);
    await assert.rejects(temporalGrpcReads(empty, 'ns').query('w', 'state'), { name: 'TypeError', message: 'Invalid response from server' });
  });

  test('a completed result is read from the close event, following a run it handed on to', async () => {
    const closeEvent = (attrs: temporal.api.history.v1.IWorkflowExecutionCompletedEventAttributes): Uint8Array =>
      ws.GetWorkflowExecutionHistoryResponse.encode({ history: { events: [{ workflowExecutionCompletedEventAttributes: attrs }] } }).finish();
    const channel = fakeChannel([closeEvent({ newExecutionRunId: 'run-2' }), closeEvent({ result: { payloads: [json({ state: { incidentId: 'incident/a/b' } })] } })]);
    assert.deepEqual(await temporalGrpcReads(channel, 'ns').result('incident/a/b'), { state: { incidentId: 'incident/a/b' } });
    const [first, second] = channel.calls.map((c) => ws.GetWorkflowExecutionHistoryRequest.decode(c.request));
    assert.equal(first?.historyEventFilterType, temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT);
    assert.equal(first?.waitNewEvent, true);
    assert.equal(first?.skipArchival, true);
    assert.equal(first?.execution?.runId, '');
    assert.equal(second?.execution?.runId, 'run-2');
  });

  test('the history is read page by page: started events and the signals asked for, first payload decoded', async () => {
    const page1 = ws.GetWorkflowExecutionHistoryResponse.encode({
      history: {
        events: [
          { workflowExecutionStartedEventAttributes: { originalExecutionRunId: 'run-1', input: { payloads: [json({ fault: { id: 'f-1' } })] } } },
          { workflowExecutionSignaledEventAttributes: { signalName: 'approve', input: { payloads: [{ metadata: { encoding: Buffer.from('binary/encrypted') } }] } } },
        ],
      },
      nextPageToken: Buffer.from('page-2'),
    }).finish();
    const page2 = ws.GetWorkflowExecutionHistoryResponse.encode({
      history: { events: [{ workflowExecutionSignaledEventAttributes: { signalName: 'faultObserved', input: { payloads: [json({ id: 'f-2' }), { metadata: { encoding: Buffer.from('binary/encrypted') } }] } } }] },
    }).finish();
    const channel = fakeChannel([page1, page2]);
    const events = await temporalGrpcReads(channel, 'ns').history('incident/a/b', ['faultObserved']);
    assert.deepEqual(events, [
      { type: 'started', originalExecutionRunId: 'run-1', input: [{ fault: { id: 'f-1' } }] },
      { type: 'signaled', signalName: 'faultObserved', input: [{ id: 'f-2' }] },
    ]);
    const second = ws.GetWorkflowExecutionHistoryRequest.decode(channel.calls[1]?.request ?? Buffer.alloc(0));
    assert.equal(Buffer.from(second.nextPageToken).toString(), 'page-2');
    assert.equal(second.historyEventFilterType, 0);
  });

  test('a payload in an encoding the default converter does not read is refused', async () => {
    const channel = fakeChannel([ws.QueryWorkflowResponse.encode({ queryResult: { payloads: [{ metadata: { encoding: Buffer.from('binary/encrypted') }, data: Buffer.from('x') }] } }).finish()]);
    await assert.rejects(temporalGrpcReads(channel, 'ns').query('w', 'state'), PayloadEncodingError);
  });

  test('errors carry the messages the SDK gives: a missing workflow, a missing namespace, an unknown query, anything else', async () => {
    const reads = (err: Error): ReturnType<typeof temporalGrpcReads> => temporalGrpcReads(fakeChannel([err]), 'ns');
    await assert.rejects(reads(new GrpcStatusError(5, 'workflow not found for ID: incident/a/b')).status('incident/a/b'), (err: Error) => err instanceof WorkflowNotFoundOverGrpcError && err.message === 'workflow not found for ID: incident/a/b');
    const detail = temporal.api.errordetails.v1.NamespaceNotFoundFailure.encode({ namespace: 'nons' }).finish();
    const status = new ProtoWriter().varint(1, 5).string(2, 'Namespace nons is not found.').message(3, new ProtoWriter().string(1, 'type.googleapis.com/temporal.api.errordetails.v1.NamespaceNotFoundFailure').bytes(2, detail)).finish();
    await assert.rejects(reads(new GrpcStatusError(5, 'Namespace nons is not found.', status)).status('w'), (err: Error) => !(err instanceof WorkflowNotFoundOverGrpcError) && err.message === "Namespace not found: 'nons'");
    await assert.rejects(reads(new GrpcStatusError(3, 'unknown queryType nope')).query('w', 'nope'), { message: 'unknown queryType nope' });
    await assert.rejects(reads(new GrpcStatusError(14, 'connection reset')).query('w', 'state'), { message: 'Failed to query Workflow' });
    await assert.rejects(reads(new GrpcStatusError(14, 'connection reset')).status('w'), { message: 'Failed to describe workflow' });
    await assert.rejects(reads(new GrpcStatusError(14, 'connection reset')).history('w', []), { message: 'Failed to get Workflow execution history' });
    await assert.rejects(reads(new Error('socket hang up')).status('w'), { message: 'Unexpected error while making gRPC request' });
  });

  test('the message names a reader without the SDK uses are the workflow definitions\' names', () => {
    assert.equal(INCIDENT_MESSAGE_NAMES.stateQuery, incidentState.name);
    assert.equal(INCIDENT_MESSAGE_NAMES.faultObserved, faultObserved.name);
    assert.equal(INCIDENT_MESSAGE_NAMES.faultResolved, faultResolved.name);
    assert.equal(INCIDENT_MESSAGE_NAMES.faultsObserved, faultsObserved.name);
  });

  test('fault ids come from the start, single signals and coalesced batches, in arrival order and once each', () => {
    const got = faultIdsFromEvents([
      { type: 'started', originalExecutionRunId: 'run-1', input: [{ fault: { id: 'f1' } }] },
      { type: 'signaled', signalName: 'faultObserved', input: [{ id: 'f1' }] },
      { type: 'signaled', signalName: 'faultsObserved', input: [[{ id: 'f2' }, { id: 'f3' }]] },
      { type: 'signaled', signalName: 'faultResolved', input: [{ id: 'f4' }] },
      { type: 'signaled', signalName: 'pause', input: [{ id: 'not-a-fault' }] },
      { type: 'signaled', signalName: 'faultsObserved', input: [[{ id: 'f3' }, { id: 'f5' }]] },
    ]);
    assert.deepEqual(got, { runId: 'run-1', ids: ['f1', 'f2', 'f3', 'f4', 'f5'] });
  });
});
