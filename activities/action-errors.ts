import { ApplicationFailure } from '@temporalio/common';
import { adapterError, AdapterError, CommandFailedError, isAdapterError, WebhookRejectedError, WebhookUnavailableError } from './adapters/errors';

/** Taking this server out would leave its backend with no server taking traffic. */
export class LastActiveServerError extends adapterError('LastActiveServer', false) {}

/** A `verify` step's probe found the target unhealthy; retried by the step's policy. */
export class ProbeUnhealthyError extends adapterError('ProbeUnhealthy', true) {}

/** A NATS notification cannot be published: no connection configured (permanent) or it is closed (transient). */
export class NatsUnavailableError extends AdapterError {
  readonly type = 'NatsUnavailable';
  readonly retryable: boolean;

  constructor(message: string, retryable: boolean, options: { cause?: unknown } = {}) {
    super(message, options);
    this.retryable = retryable;
  }
}

/** Facts a workflow may want from a failure without parsing its message. */
function failureDetails(err: AdapterError): unknown[] {
  if (err instanceof CommandFailedError) return [{ exit_code: err.exitCode, signal: err.signal }];
  if (err instanceof WebhookRejectedError || err instanceof WebhookUnavailableError) return [{ status: err.status }];
  return [];
}

/**
 * Turns an adapter error into the Temporal failure the step's retry policy
 * acts on: its `type` is the adapter's error type (so a runbook's
 * `non_retryable` list can name it), and permanent errors are non-retryable.
 * Anything else is returned unchanged. Adapter messages are already redacted.
 */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure || !isAdapterError(err)) return err;
  return ApplicationFailure.create({
    message: err.message,
    type: err.type,
    nonRetryable: !err.retryable,
    details: failureDetails(err),
  });
}

/** Runs `fn`, rethrowing adapter errors as Temporal failures (see toActivityFailure). */
export async function mapAdapterErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toActivityFailure(err);
  }
}
