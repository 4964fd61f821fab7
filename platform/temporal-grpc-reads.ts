import { GRPC_STATUS, GrpcStatusError, grpcChannel, type GrpcChannel, type GrpcEndpoint } from './grpc-unary';
import { ProtoMessage, ProtoWriter } from './protobuf-wire';
import { PayloadEncodingError } from './temporal-http';

/*
 * The reads of one workflow a short-lived command makes (describe, query,
 * history), as calls of Temporal's WorkflowService over platform/grpc-unary.ts
 * with the few fields they need encoded by number. Temporal's HTTP API cannot
 * stand in: its routes take the workflow id as one path segment and its
 * gateway decodes %2F before matching, so an id holding `/` never reaches a
 * handler. Errors and payloads come out as @temporalio/client gives them
 * (same messages, default converter), so a caller can use either.
 */

const SERVICE = '/temporal.api.workflowservice.v1.WorkflowService';

/** Field numbers of temporal/api (workflowservice/v1 request_response.proto and the messages it uses). */
const F = {
  request: { namespace: 1, execution: 2 },
  execution: { workflowId: 1, runId: 2 },
  describeResponse: { workflowExecutionInfo: 2 },
  executionInfo: { status: 5 },
  query: { query: 3, queryType: 1, result: 1, rejected: 2, rejectedStatus: 1 },
  history: { nextPageTokenIn: 4, waitNewEvent: 5, filterType: 6, skipArchival: 7, history: 1, nextPageTokenOut: 3, events: 1 },
  event: { started: 6, completed: 7, signaled: 26 },
  started: { input: 6, originalExecutionRunId: 14 },
  completed: { result: 1, newExecutionRunId: 3 },
  signaled: { signalName: 1, input: 2 },
  payloads: { payloads: 1 },
  payload: { metadata: 1, data: 2 },
} as const;

/** WorkflowExecutionStatus, by number, as the SDK names it. */
const STATUS_NAMES = ['UNSPECIFIED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT', 'PAUSED'];

const CLOSE_EVENT_FILTER = 2;

/** The workflow does not exist (gRPC NOT_FOUND); the message is the server's, as WorkflowNotFoundError carries it. */
export class WorkflowNotFoundOverGrpcError extends Error {
  override name = 'WorkflowNotFoundError';
}

/** A started or signal event of a workflow's history; `input` holds its input's first payload decoded, or nothing when it has none. */
export type WorkflowHistoryEvent =
  | { type: 'started'; originalExecutionRunId: string; input: [] | [unknown] }
  | { type: 'signaled'; signalName: string; input: [] | [unknown] };

/** The workflow reads, on one connection. */
export interface TemporalGrpcReads {
  /** Status of the workflow's latest run: RUNNING, COMPLETED, … */
  status(workflowId: string): Promise<string>;
  /** The first value a query answers with. */
  query(workflowId: string, queryType: string): Promise<unknown>;
  /** The value a completed workflow returned, following runs it handed on to (cron, retry). */
  result(workflowId: string): Promise<unknown>;
  /** The started events and the signals named `signalNames` of the latest run, in order, across every history page. */
  history(workflowId: string, signalNames: readonly string[]): Promise<WorkflowHistoryEvent[]>;
  close(): void;
}

/** One payload's value as the SDK's default converter reads it (`json/plain`, `binary/null`). */
export function decodeWirePayload(payload: ProtoMessage): unknown {
  let encoding: string | undefined;
  for (const entry of payload.messages(F.payload.metadata)) if (entry.string(1) === 'encoding') encoding = entry.string(2);
  if (encoding === 'binary/null') return undefined;
  if (encoding !== 'json/plain') throw new PayloadEncodingError(`payload encoding ${JSON.stringify(encoding ?? null)} is not json/plain`);
  return JSON.parse(payload.bytes(F.payload.data)?.toString('utf8') ?? '') as unknown;
}

/** The first payload's value, as the SDK reads results and inputs (later payloads are left undecoded). */
function firstValue(payloads: ProtoMessage | undefined): [] | [unknown] {
  const first = payloads?.messages(F.payloads.payloads)[0];
  return first ? [decodeWirePayload(first)] : [];
}

function execution(workflowId: string, runId?: string): ProtoWriter {
  const w = new ProtoWriter().string(F.execution.workflowId, workflowId);
  return runId ? w.string(F.execution.runId, runId) : w;
}

/** The namespace a NamespaceNotFoundFailure in a google.rpc.Status names, if it holds one. */
function missingNamespace(statusDetails: Buffer | undefined): string | undefined {
  if (!statusDetails) return undefined;
  try {
    for (const any of new ProtoMessage(statusDetails).messages(3)) {
      if (any.string(1).endsWith('/temporal.api.errordetails.v1.NamespaceNotFoundFailure')) return new ProtoMessage(any.bytes(2) ?? Buffer.alloc(0)).string(1);
    }
  } catch {
    // Unreadable details leave the status as it is.
  }
  return undefined;
}

/** A gRPC failure as the SDK rethrows it: a missing namespace or workflow is named; anything else is `fallback`, with the status as its cause. */
function sdkError(err: unknown, fallback: string): Error {
  if (!(err instanceof GrpcStatusError)) return new Error('Unexpected error while making gRPC request', { cause: err });
  const namespace = missingNamespace(err.statusDetails);
  if (namespace !== undefined) return new Error(`Namespace not found: '${namespace}'`, { cause: err });
  if (err.code === GRPC_STATUS.NOT_FOUND) return new WorkflowNotFoundOverGrpcError(err.details || 'Workflow not found');
  return new Error(fallback, { cause: err });
}

/** Reads over `channel` in `namespace`. */
export function temporalGrpcReads(channel: GrpcChannel, namespace: string): TemporalGrpcReads {
  const call = async (method: string, body: ProtoWriter, fallback: string): Promise<ProtoMessage> => {
    try {
      const request = Buffer.concat([new ProtoWriter().string(F.request.namespace, namespace).finish(), body.finish()]);
      return new ProtoMessage(await channel.unary(`${SERVICE}/${method}`, request));
    } catch (err) {
      if (err instanceof GrpcStatusError && method === 'QueryWorkflow' && err.code === GRPC_STATUS.INVALID_ARGUMENT && missingNamespace(err.statusDetails) === undefined) {
        throw new Error(err.details, { cause: err });
      }
      throw sdkError(err, fallback);
    }
  };
  const historyPage = (workflowId: string, runId: string | undefined, pageToken: Buffer | undefined, closeEvent: boolean): Promise<ProtoMessage> => {
    const req = new ProtoWriter().message(F.request.execution, execution(workflowId, runId));
    if (pageToken && pageToken.length > 0) req.bytes(F.history.nextPageTokenIn, pageToken);
    if (closeEvent) req.varint(F.history.waitNewEvent, true).varint(F.history.filterType, CLOSE_EVENT_FILTER).varint(F.history.skipArchival, true);
    return call('GetWorkflowExecutionHistory', req, 'Failed to get Workflow execution history');
  };
  return {
    async status(workflowId) {
      const res = await call('DescribeWorkflowExecution', new ProtoWriter().message(F.request.execution, execution(workflowId)), 'Failed to describe workflow');
      const code = res.message(F.describeResponse.workflowExecutionInfo)?.varint(F.executionInfo.status) ?? 0;
      return STATUS_NAMES[code] ?? 'UNSPECIFIED';
    },
    async query(workflowId, queryType) {
      const req = new ProtoWriter().message(F.request.execution, execution(workflowId)).message(F.query.query, new ProtoWriter().string(F.query.queryType, queryType));
      const res = await call('QueryWorkflow', req, 'Failed to query Workflow');
      if (res.has(F.query.rejected)) throw new Error('Query rejected');
      const result = res.message(F.query.result);
      if (!result) throw new TypeError('Invalid response from server');
      return firstValue(result)[0];
    },
    async result(workflowId) {
      let runId: string | undefined;
      let pageToken: Buffer | undefined;
      for (;;) {
        const res = await historyPage(workflowId, runId, pageToken, true);
        const events = res.message(F.history.history)?.messages(F.history.events) ?? [];
        if (events.length === 0) {
          pageToken = res.bytes(F.history.nextPageTokenOut);
          continue;
        }
        const completed = events[0]?.message(F.event.completed);
        if (!completed) throw new Error(`${workflowId} did not complete`);
        const next = completed.string(F.completed.newExecutionRunId);
        if (next) {
          runId = next;
          pageToken = undefined;
          continue;
        }
        return firstValue(completed.message(F.completed.result))[0];
      }
    },
    async history(workflowId, signalNames) {
      const out: WorkflowHistoryEvent[] = [];
      let pageToken: Buffer | undefined;
      do {
        const res = await historyPage(workflowId, undefined, pageToken, false);
        for (const event of res.message(F.history.history)?.messages(F.history.events) ?? []) {
          const started = event.message(F.event.started);
          if (started) out.push({ type: 'started', originalExecutionRunId: started.string(F.started.originalExecutionRunId), input: firstValue(started.message(F.started.input)) });
          const signaled = event.message(F.event.signaled);
          if (signaled && signalNames.includes(signaled.string(F.signaled.signalName))) out.push({ type: 'signaled', signalName: signaled.string(F.signaled.signalName), input: firstValue(signaled.message(F.signaled.input)) });
        }
        pageToken = res.bytes(F.history.nextPageTokenOut);
      } while (pageToken && pageToken.length > 0);
      return out;
    },
    close: () => channel.close(),
  };
}

/** Connects and returns the reads; the endpoint's metadata gains `temporal-namespace`, as the SDK sends it. */
export async function connectTemporalGrpcReads(endpoint: GrpcEndpoint, namespace: string): Promise<TemporalGrpcReads> {
  const channel = await grpcChannel({ ...endpoint, metadata: { ...endpoint.metadata, 'temporal-namespace': namespace } });
  return temporalGrpcReads(channel, namespace);
}
