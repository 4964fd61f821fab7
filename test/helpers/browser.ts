import { readFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium package; RUNBOOK_CHROMIUM points elsewhere. */
export const CHROMIUM = process.env['RUNBOOK_CHROMIUM'] ?? '/usr/bin/chromium';

/** Headless Chromium from the system package; never a downloaded browser. */
export function launchBrowser(): Promise<Browser> {
  // Chromium's sandbox cannot start as root, which CI machines often are.
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: root ? ['--no-sandbox'] : [] });
}

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** An accessibility violation axe-core found, as a line for an assertion message. */
export interface Violation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** Runs axe-core on the page as it is now; returns its serious and critical violations. */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  // Evaluated through the debugging protocol: the console's CSP (rightly) refuses an injected script tag.
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const w = globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } };
    const r = await w.axe.run();
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
