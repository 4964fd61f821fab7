import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';

/** What the workflow records about a failed attempt. */
export interface FailureInfo {
  message: string;
  type: string;
  nonRetryable: boolean;
}

/** Reduces an activity failure to its message, error type and retryability. */
export function describeFailure(err: unknown): FailureInfo {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    return { message: cause.message, type: cause.type ?? 'Error', nonRetryable: cause.nonRetryable === true };
  }
  if (cause instanceof TimeoutFailure) {
    return { message: `timed out (${cause.timeoutType})`, type: 'Timeout', nonRetryable: false };
  }
  if (cause instanceof Error) return { message: cause.message, type: cause.name, nonRetryable: false };
  return { message: String(cause), type: 'Error', nonRetryable: false };
}
