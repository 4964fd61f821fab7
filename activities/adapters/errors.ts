/**
 * Named errors thrown by the adapters. Each carries a stable `type` string and
 * a `retryable` flag so activities can turn the non-retryable ones into
 * non-retryable Temporal failures without string-matching messages.
 */

/** Options accepted by every adapter error. */
export interface AdapterErrorOptions {
  cause?: unknown;
}

/** Base class of every adapter error. */
export abstract class AdapterError extends Error {
  /** Stable identifier, used as the Temporal failure type. */
  abstract readonly type: string;
  /** Whether trying the same call again may succeed. */
  abstract readonly retryable: boolean;

  constructor(message: string, options: AdapterErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/**
 * A base class for one kind of adapter error: a fixed `type` and
 * retryability, so each error is declared in one line
 * (`class X extends adapterError('X', false) {}`) and keeps its own name.
 */
export function adapterError<T extends string>(type: T, retryable: boolean) {
  abstract class Kind extends AdapterError {
    readonly type: T = type;
    readonly retryable: boolean = retryable;
  }
  return Kind;
}

/** The request itself is malformed (bad name, relative path, bad regex...). */
export class InvalidSpecError extends adapterError('InvalidSpec', false) {}

/** The request is well formed but policy forbids it (e.g. argv[0] not allow-listed). */
export class NotAllowedError extends adapterError('NotAllowed', false) {}

/** A secret reference could not be resolved to a non-empty value. */
export class SecretUnavailableError extends adapterError('SecretUnavailable', false) {}

/** Details of a finished process that did not succeed. */
export interface CommandFailedDetails extends AdapterErrorOptions {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Captured, truncated and redacted standard output. */
  stdout: string;
  /** Captured, truncated and redacted standard error. */
  stderr: string;
}

/** A process exited non-zero or was killed by a signal. */
export class CommandFailedError extends adapterError('CommandFailed', true) {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(message: string, details: CommandFailedDetails) {
    super(message, details);
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stdout = details.stdout;
    this.stderr = details.stderr;
  }
}

/** An operation did not finish before its deadline. */
export class TimeoutError extends adapterError('Timeout', true) {}

/** The action ran but reading the result back did not show the wanted state. */
export class VerificationFailedError extends adapterError('VerificationFailed', true) {}

/** The HAProxy runtime API could not be reached or answered with an error. */
export class HaproxyError extends adapterError('HaproxyError', true) {}

/** A named target (HAProxy backend or server) does not exist. */
export class TargetNotFoundError extends adapterError('TargetNotFound', false) {}

/** A supervised service did not start, or did not become healthy in time. */
export class ServiceStartFailedError extends adapterError('ServiceStartFailed', true) {}

/** A webhook receiver refused the request (4xx other than 408/429, or a redirect). */
export class WebhookRejectedError extends adapterError('WebhookRejected', false) {
  readonly status: number;

  constructor(message: string, status: number, options: AdapterErrorOptions = {}) {
    super(message, options);
    this.status = status;
  }
}

/** A webhook receiver could not take the request now (5xx, 408, 429, connection error). */
export class WebhookUnavailableError extends adapterError('WebhookUnavailable', true) {
  /** HTTP status, or null when no response arrived. */
  readonly status: number | null;

  constructor(message: string, status: number | null, options: AdapterErrorOptions = {}) {
    super(message, options);
    this.status = status;
  }
}

/** Narrows an unknown thrown value to an adapter error. */
export function isAdapterError(value: unknown): value is AdapterError {
  return value instanceof AdapterError;
}
