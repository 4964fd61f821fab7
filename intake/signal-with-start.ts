import { randomUUID } from 'node:crypto';
import { ServiceError, type Client } from '@temporalio/client';
import { encodeWorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import { encodeUnifiedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { encodeToPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';

/** One signal-with-start of a workflow by type name. */
export interface SignalWithStartCall {
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  args: readonly unknown[];
  signalName: string;
  signalArgs: readonly unknown[];
  typedSearchAttributes: SearchAttributePair[];
}

/** What the server answered. */
export interface SignalWithStartAnswer {
  /** The run signaled: started by this call, or the one already open. */
  runId: string;
  /** Whether this call started the run; servers since 1.26 say so. */
  started: boolean;
}

/**
 * Signal-with-start that keeps the server's `started` flag, which
 * `client.workflow.signalWithStart` (SDK 1.24) drops; without it, telling a
 * new incident from a signalled one costs a describe per hand-off. The
 * request is the one the SDK builds for the same options (reuse policy
 * ALLOW_DUPLICATE, the client's data converter, its identity and deadline);
 * workflow client interceptors are not run, and the intake configures none.
 */
export async function signalWithStart(client: Client, call: SignalWithStartCall): Promise<SignalWithStartAnswer> {
  const converter = client.options.loadedDataConverter;
  const request: temporal.api.workflowservice.v1.ISignalWithStartWorkflowExecutionRequest = {
    namespace: client.options.namespace,
    identity: client.options.identity,
    requestId: randomUUID(),
    workflowId: call.workflowId,
    workflowIdReusePolicy: encodeWorkflowIdReusePolicy('ALLOW_DUPLICATE'),
    workflowType: { name: call.workflowType },
    input: { payloads: await encodeToPayloads(converter, ...call.args) },
    signalName: call.signalName,
    signalInput: { payloads: await encodeToPayloads(converter, ...call.signalArgs) },
    taskQueue: { kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL, name: call.taskQueue },
    searchAttributes: { indexedFields: encodeUnifiedSearchAttributes(undefined, call.typedSearchAttributes) },
    header: { fields: {} },
  };
  try {
    const response = await client.workflowService.signalWithStartWorkflowExecution(request);
    return { runId: response.runId, started: response.started === true };
  } catch (err) {
    throw new ServiceError(`Failed to signalWithStart Workflow ${call.workflowId}`, err instanceof Error ? { cause: err } : undefined);
  }
}
