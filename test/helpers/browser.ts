import { readFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium package; RUNBOOK_CHROMIUM points elsewhere. */
export const CHROMIUM = process.env['RUNBOOK_CHROMIUM'] ?? '/usr/bin/chromium';

/** A browser for one test file, and how to be rid of it completely. */
export interface TestBrowser {
  browser: Browser;
  /** Closes the browser and lets go of its process's pipes, whatever of it lingers. */
  close(): Promise<void>;
}

/**
 * Headless Chromium from the system package; never a downloaded browser.
 * Chromium forks crash handlers that leave its process group with its stdout
 * and stderr; when one outlives the browser, those pipes keep the test
 * process alive after its last test. Starting the browser as a server gives
 * us its process, whose pipes are let go of on close.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  // Chromium's sandbox cannot start as root, which CI machines often are.
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const server = await chromium.launchServer({ executablePath: CHROMIUM, headless: true, args: root ? ['--no-sandbox'] : [] });
  const browser = await chromium.connect(server.wsEndpoint());
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      const proc = server.process();
      await server.close();
      for (const stream of proc.stdio) stream?.destroy();
      proc.unref();
    },
  };
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
