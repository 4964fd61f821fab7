import { readFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { signalProcessGroup } from '../../platform/process-group';

/** Debian's chromium package; RUNBOOK_CHROMIUM points elsewhere. */
export const CHROMIUM = process.env['RUNBOOK_CHROMIUM'] ?? '/usr/bin/chromium';

/** A browser for one test file, and how to be rid of it completely. */
export interface TestBrowser {
  browser: Browser;
  /** Closes the browser and lets go of its process's pipes, whatever of it lingers. */
  close(): Promise<void>;
}

/** Longest the browser gets to exit on its own before its process group is killed. */
const EXIT_GRACE_MS = 15_000;

/**
 * Headless Chromium from the system package; never a downloaded browser.
 * Chromium forks crash handlers that can inherit its stdout and stderr. The
 * browser server's close waits for the process's 'close' event, which needs
 * every one of those pipes shut, so one lingering handler held the close,
 * and with it the test file, until the runner's limit. Close therefore waits
 * only for the process to exit (bounded), kills what is left of its process
 * group (Playwright starts the browser as a group leader), and lets go of
 * the pipes itself.
 */
export async function launchBrowser(executablePath = CHROMIUM): Promise<TestBrowser> {
  // Chromium's sandbox cannot start as root, which CI machines often are.
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const server = await chromium.launchServer({ executablePath, headless: true, args: root ? ['--no-sandbox'] : [] });
  const browser = await chromium.connect(server.wsEndpoint());
  const proc = server.process();
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
  return {
    browser,
    async close() {
      await withinMs(browser.close(), EXIT_GRACE_MS);
      const closing = server.close().catch(() => undefined);
      await withinMs(exited, EXIT_GRACE_MS);
      // What is left of the group: the crash handlers it forked.
      if (proc.pid !== undefined) signalProcessGroup(proc.pid, 'SIGKILL');
      for (const stream of proc.stdio) stream?.destroy();
      proc.unref();
      // With the pipes gone the server's close can finish (and remove the profile directory); it is not waited on past the grace.
      await withinMs(closing, EXIT_GRACE_MS);
    },
  };
}

/** Waits for the promise, or for ms, whichever is first; a rejection counts as done. */
async function withinMs(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([promise.then(() => undefined, () => undefined), elapsed]);
  } finally {
    clearTimeout(timer);
  }
}

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** An accessibility violation axe-core found, as a line for an assertion message. */
export interface Violation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** Longest an accessibility check may take before the test fails instead of hanging (evaluate has no timeout of its own). */
const AXE_TIMEOUT_MS = 60_000;

/** Runs axe-core on the page as it is now; returns its serious and critical violations. */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_ok, fail) => {
    timer = setTimeout(() => fail(new Error(`axe-core did not finish within ${AXE_TIMEOUT_MS} ms on ${page.url()}`)), AXE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([runAxe(page), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function runAxe(page: Page): Promise<Violation[]> {
  // Evaluated through the debugging protocol: the console's CSP (rightly) refuses an injected script tag.
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const w = globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } };
    const r = await w.axe.run();
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
