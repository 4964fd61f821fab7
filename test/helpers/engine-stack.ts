import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import type { Config } from '../../config/config';
import { tokenAuthenticator } from '../../api/auth';
import { startApiServer } from '../../api/server';
import { ensureAuditStream, jetStreamAuditSink } from '../../audit/audit-stream';
import { decisionKeyPath, readDecisionKey } from '../../config/decision-key';
import { createToken } from '../../config/tokens';
import { closeHttpServer } from '../../observability/http-server';
import { createLogger } from '../../observability/logger';
import { freePort } from '../../stack/ports';
import { startEngineHarness, type EngineHarness } from './engine';
import { startTestStack, type TestStack } from './stack';

/** Options for {@link startEngineStack}. */
export interface EngineStackOptions {
  /** Roster YAML the stack and the approval API read. */
  roster?: string;
  /** People to issue API tokens for; giving any starts the approval API. */
  users?: string[];
  /** The API's wait for a decision's update (see `submitDecision`). */
  updateWaitMs?: number;
  /** Whether the API records decision attempts on the audit stream (which is then created up front). */
  auditToStream?: boolean;
  /** Also run the intake, so published fault events (and dead letters) flow as in production. */
  intake?: boolean;
  /** Further configuration of the stack and its in-process worker (e.g. paging). */
  overrides?: Partial<Record<keyof Config, unknown>>;
}

/** A private stack with an in-process worker, a NATS connection and, if asked, the approval API. */
export interface EngineStack {
  stack: TestStack;
  h: EngineHarness;
  nc: NatsConnection;
  /** A temporary directory removed on close. */
  dir: string;
  /** Bearer tokens by person. */
  tokens: Record<string, string>;
  /** Base URL of the approval API, when started. */
  apiUrl: string;
  /** Posts a decision body to `/incidents/{id}/decisions` with `who`'s token. */
  postDecision(incidentId: string, who: string, body: object): Promise<Response>;
  /** Stops everything started, in reverse order; safe after a failed start. */
  close(): Promise<void>;
}

/**
 * Starts the stack, worker, NATS connection and optional API one test file
 * needs. If a part fails to start, the parts already running are stopped
 * before the error is rethrown.
 */
export async function startEngineStack(opts: EngineStackOptions = {}): Promise<EngineStack> {
  const dir = mkdtempSync(join(tmpdir(), 'engine-stack-'));
  const tokens: Record<string, string> = {};
  const undo: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    for (const step of undo.splice(0).reverse()) await step();
  };
  try {
    const rosterFile = join(dir, 'roster.yaml');
    const tokensFile = join(dir, 'tokens.yaml');
    if (opts.roster !== undefined) writeFileSync(rosterFile, opts.roster);
    for (const who of opts.users ?? []) tokens[who] = await createToken(tokensFile, who);
    const stack = await startTestStack({ ...(opts.intake ? { intake: true } : {}), overrides: { ...opts.overrides, ...(opts.roster !== undefined ? { rosterFile } : {}), ...(opts.users ? { tokensFile } : {}) } });
    undo.push(() => stack.stop());
    // admin: tests subscribe to notices and inspect streams; the in-process worker and API run as their own roles.
    const nc = await stack.natsConnect('admin', { name: 'test-engine-stack' });
    undo.push(() => nc.close());
    const h = await startEngineHarness(stack);
    undo.push(
      () => rmSync(h.scratch, { recursive: true, force: true }),
      () => h.close(),
    );
    let apiUrl = '';
    if (opts.users) {
      if (opts.auditToStream) await ensureAuditStream(await nc.jetstreamManager());
      // The API runs as its own NATS role, so its routes are held to that role's permissions.
      const apiNats = await stack.natsConnect('api', { name: 'test-engine-stack-api' });
      undo.push(() => apiNats.close());
      const port = await freePort();
      const api: Server = await startApiServer({
        client: h.client,
        decisionKey: readDecisionKey(decisionKeyPath(stack.config)),
        auth: tokenAuthenticator(tokensFile),
        logger: createLogger('test-api', 'warn'),
        port,
        ...(opts.updateWaitMs !== undefined ? { updateWaitMs: opts.updateWaitMs } : {}),
        nats: apiNats,
        ...(opts.auditToStream ? { audit: jetStreamAuditSink(apiNats.jetstream()) } : {}),
        ...(opts.roster !== undefined ? { rosterFile } : {}),
      });
      undo.push(() => closeHttpServer(api));
      apiUrl = `http://127.0.0.1:${port}`;
    }
    return {
      stack,
      h,
      nc,
      dir,
      tokens,
      apiUrl,
      postDecision: (incidentId, who, body) =>
        fetch(`${apiUrl}/incidents/${encodeURIComponent(incidentId)}/decisions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens[who] ?? 'none'}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
