/*
 * The rules the adapters apply to the values they are handed, as plain
 * predicates. The adapters check them at run time (their last line of
 * defence); the runbook schema checks the same predicates at load time, so a
 * runbook that `runbook validate` accepts is never refused by an adapter for
 * its shape. No zod here: each rule is one function both sides call.
 */

import { SAFE_ID_PATTERN } from './identifiers';

/** An absolute POSIX path (the worker runs on Linux). */
export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/');
}

/** A program allow-list entry: an absolute path, or a bare name looked up on PATH. */
export function isAllowListEntry(entry: string): boolean {
  return entry !== '' && (!entry.includes('/') || isAbsolutePath(entry));
}

/** Backend and server names go into the HAProxy line protocol: safe identifiers only. */
export function isHaproxyName(name: string): boolean {
  return SAFE_ID_PATTERN.test(name);
}

/** Where the HAProxy runtime API listens: `tcp://host:port` or an absolute unix socket path. */
export type HaproxySocketAddress = { host: string; port: number } | { path: string };

/** Parses an HAProxy runtime API address; undefined when it is neither form. */
export function parseHaproxySocket(socket: string): HaproxySocketAddress | undefined {
  if (socket.startsWith('tcp://')) {
    let url: URL;
    try {
      url = new URL(socket);
    } catch {
      return undefined;
    }
    const port = Number(url.port);
    if (url.hostname === '' || !Number.isInteger(port) || port <= 0) return undefined;
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
  }
  return isAbsolutePath(socket) ? { path: socket } : undefined;
}

/** A local path rsync may be given: absolute, not an option, one line. */
export function isRsyncPath(p: string): boolean {
  return isAbsolutePath(p) && !p.startsWith('-') && !/[\0\r\n]/.test(p);
}

/**
 * Name of a backup snapshot: its UTC creation time with `-` for `:` and `.`,
 * e.g. `2026-01-31T23-59-59-000Z`, so names sort by age and are safe as
 * directory names.
 */
export const SNAPSHOT_ID = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

/** Unit names systemd accepts (with or without a type suffix), never starting with '-'. */
export const SYSTEMD_UNIT = /^[A-Za-z0-9_:][A-Za-z0-9_:.@\\-]{0,255}$/;

/** Name of a program in the services file (`@` allowed for instances such as `app@2`). */
export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** A NATS subject to publish on: dot-separated tokens, no wildcards or whitespace. */
export const PUBLISH_SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Headers the webhook adapter sets itself and never takes from a spec (compared lower-cased). */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'content-length',
  'content-type',
  'host',
  'idempotency-key',
  'transfer-encoding',
  'connection',
]);

/** A header a webhook spec may set: a valid name that the adapter does not own. */
export function isSettableHeader(name: string): boolean {
  return HEADER_NAME.test(name) && !RESERVED_HEADERS.has(name.toLowerCase());
}

/** A header value on one line (no header injection). */
export function isSingleLine(value: string): boolean {
  return !/[\0\r\n]/.test(value);
}

/** Why a webhook URL is refused, or undefined when it is usable. */
export function webhookUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be http or https';
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry credentials; use secret_headers';
  return undefined;
}

/** Exit codes a process can report. */
export const MAX_EXIT_CODE = 255;
