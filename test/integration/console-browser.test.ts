import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { waitFor } from '../../stack/wait-for';
import { launchBrowser, seriousViolations, type TestBrowser } from '../helpers/browser';
import { runbookFrom, sideEffect, testFault } from '../helpers/engine';
import { startEngineStack, type EngineStack } from '../helpers/engine-stack';

/*
 * The console in headless Chromium (Debian's package) against a real stack:
 * Temporal, NATS, the intake, an in-process worker and the API serving the
 * page. Everything is done the way a person does it, mostly by keyboard,
 * and axe-core checks each page. With RUNBOOK_CONSOLE_SCREENSHOTS=<dir> the
 * pages are also saved as PNGs (docs/console/ holds the committed ones).
 */

const node = JSON.stringify(process.execPath);
/** Each test's bound: a page that stops answering fails its test, not the whole file at the runner's limit. */
const TEST_TIMEOUT_MS = 150_000;
/** The hooks' bounds: a stack or browser that will not start or stop fails the hook by name, not the file at the runner's limit. */
const HOOK_TIMEOUT_MS = 180_000;

/** Where a test is, on stderr: what it was waiting for when it failed. */
function trace(what: string): void {
  process.stderr.write(`console-browser ${new Date().toISOString()} ${what}\n`);
}
const SHOTS = process.env['RUNBOOK_CONSOLE_SCREENSHOTS'];
let setup: EngineStack;
let chromiumBrowser: TestBrowser | undefined;
let browser: Browser;
let alice: BrowserContext;
let page: Page;

before(async () => {
  trace('before: starting the stack');
  setup = await startEngineStack({
    roster: 'groups:\n  oncall: { members: [alice] }\n',
    users: ['alice', 'mallory'],
    auditToStream: true,
    intake: true,
    updateWaitMs: 5_000,
  });
  trace('before: launching the browser');
  chromiumBrowser = await launchBrowser();
  browser = chromiumBrowser.browser;
  alice = await browser.newContext({ viewport: { width: 1000, height: 760 } });
  page = await alice.newPage();
  // Playwright's own bound on every wait and action, stated rather than assumed.
  page.setDefaultTimeout(30_000);
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  trace('before: done');
}, { timeout: HOOK_TIMEOUT_MS });

after(async () => {
  trace('after: closing the browser');
  await chromiumBrowser?.close();
  trace('after: closing the stack');
  await setup?.close();
  trace('after: done');
  // Should anything still hold the process once the last hook is done, say what, before the runner's limit does (unref'd: it holds nothing itself).
  setTimeout(() => trace(`still running after the hooks: ${process.getActiveResourcesInfo().join(', ')}`), 30_000).unref();
}, { timeout: HOOK_TIMEOUT_MS });

async function checkPage(p: Page, name: string): Promise<void> {
  const violations = await seriousViolations(p);
  assert.deepEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 2)}`);
  if (SHOTS) await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function signIn(p: Page, who: string): Promise<void> {
  await p.goto(`${setup.apiUrl}/`);
  await p.locator('#token').waitFor();
  // The page puts focus in the token field; the whole sign-in is typing and Enter.
  await p.keyboard.type(setup.tokens[who] ?? '');
  await p.keyboard.press('Enter');
  await p.getByRole('heading', { level: 1, name: 'Incidents' }).waitFor();
  assert.match((await p.locator('#identity').textContent()) ?? '', new RegExp(`Signed in as ${who}`));
}

function gatedRunbook(name: string, log: string): ReturnType<typeof runbookFrom> {
  return runbookFrom(`
name: ${name}
version: 3
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: failback
    action: { kind: command, argv: ${sideEffect(log, 'failback')} }
    approval: { approvers: [oncall], timeout: 10m, on_timeout: reject }
`);
}

test('a wrong token is refused on the sign-in page, which passes the accessibility check', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page.goto(`${setup.apiUrl}/`);
  await page.locator('#token').waitFor();
  await checkPage(page, 'sign-in');
  await page.keyboard.type('rbk_not-a-token');
  await page.keyboard.press('Enter');
  await waitFor('the refusal', 10_000, async () => /valid bearer token/.test((await page.locator('#sign-in-error').textContent()) ?? ''));
  const cookies = await alice.cookies();
  assert.ok(!cookies.some((c) => c.name === 'runbook_session'), 'no session for a wrong token');
});

test('signed in, the session cookie is HttpOnly and SameSite=Strict, and an incident appears without reloading', { timeout: TEST_TIMEOUT_MS }, async () => {
  await signIn(page, 'alice');
  const session = (await alice.cookies()).find((c) => c.name === 'runbook_session');
  assert.ok(session, 'a session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.ok(!session.value.startsWith('rbk_'), 'the cookie holds a session id, never the token');
  const loads: string[] = [];
  page.on('load', () => loads.push(page.url()));
  await setup.h.start(gatedRunbook('console-failback', join(setup.dir, 'failback.log')), testFault('console', 'node-1'));
  await page.locator('tr[data-incident="incident/console/node-1"]').waitFor({ timeout: 30_000 });
  assert.deepEqual(loads, [], 'the row came by the live stream, not a reload');
  await checkPage(page, 'incidents');
});

test('a non-approver is refused on the incident page with the API refusal', { timeout: TEST_TIMEOUT_MS }, async () => {
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  try {
    await signIn(p, 'mallory');
    await p.goto(`${setup.apiUrl}/#/incidents/${encodeURIComponent('incident/console/node-1')}`);
    const form = p.locator('form.decide');
    await form.waitFor({ timeout: 30_000 });
    await form.locator('textarea').fill('I think it is fine');
    await form.getByRole('button', { name: 'Approve' }).click();
    await waitFor('the refusal', 15_000, async () => /Refused \(NotAnApprover\)/.test((await form.locator('.result').textContent()) ?? ''));
  } finally {
    await ctx.close();
  }
});

test('the approver opens the incident by keyboard, sees who may approve, approves with a reason, and watches it heal', { timeout: TEST_TIMEOUT_MS }, async () => {
  trace('approver: incidents list');
  await page.goto(`${setup.apiUrl}/#/incidents`);
  const link = page.locator('a[href="#/incidents/incident%2Fconsole%2Fnode-1"]');
  await link.waitFor({ timeout: 30_000 });
  await link.focus();
  await page.keyboard.press('Enter');
  trace('approver: incident page');
  const form = page.locator('form.decide');
  await form.waitFor({ timeout: 30_000 });
  const request = page.locator('section.request.open');
  assert.match((await request.textContent()) ?? '', /oncall \(alice\)/, 'the roster group and its members');
  assert.match((await request.textContent()) ?? '', /Times out/);
  assert.match((await page.locator('main').textContent()) ?? '', /console-failback version 3/);
  assert.match((await page.locator('main').textContent()) ?? '', /mallory/, 'the refused decision is shown');
  trace('approver: accessibility check');
  await checkPage(page, 'incident-waiting');
  trace('approver: typing the reason');
  await form.locator('textarea').focus();
  await page.keyboard.type('standby healthy, failing back');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  trace('approver: waiting for the heal');
  await waitFor('the incident healed on the page', 60_000, async () => (await page.locator('#incident-status').textContent()) === 'resolved' && (await page.locator('#incident-outcome').textContent()) === 'healed');
  await checkPage(page, 'incident-healed');
  const res = await fetch(`${setup.apiUrl}/incidents/${encodeURIComponent('incident/console/node-1')}`, { headers: { authorization: `Bearer ${setup.tokens['alice']}` } });
  const state = (await res.json()) as { requests: { decisions: { by: string; channel: string; reason: string; accepted: boolean }[] }[] };
  const accepted = state.requests.flatMap((r) => r.decisions).filter((d) => d.accepted);
  assert.deepEqual(accepted.map((d) => [d.by, d.channel, d.reason]), [['alice', 'console', 'standby healthy, failing back']]);
});

test('an escalated incident offers retry, skip and abort; abort from the page ends it', { timeout: TEST_TIMEOUT_MS }, async () => {
  const log = join(setup.dir, 'escalated.log');
  const runbook = runbookFrom(`
name: console-escalation
version: 1
match: { kinds: [node_down] }
settings:
  allowed_executables: [${node}]
  escalation: { approvers: [oncall], timeout: 10m }
steps:
  - id: broken
    action: { kind: command, argv: ${sideEffect(log, 'broken', '--fail-until', '99')} }
    retry: { max_attempts: 1 }
`);
  await setup.h.start(runbook, testFault('console', 'node-2'));
  await page.goto(`${setup.apiUrl}/#/incidents/${encodeURIComponent('incident/console/node-2')}`);
  const form = page.locator('form.decide');
  await form.waitFor({ timeout: 60_000 });
  assert.deepEqual(await form.getByRole('button').allTextContents(), ['Retry', 'Skip', 'Abort']);
  await checkPage(page, 'incident-escalated');
  await form.locator('textarea').fill('the node is gone for good');
  await form.getByRole('button', { name: 'Abort' }).click();
  await waitFor('the incident ended on the page', 60_000, async () => ['aborted', 'failed'].includes((await page.locator('#incident-status').textContent()) ?? ''));
});

test('an incident page opened before the incident exists says so, then shows it once it opens', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page.goto(`${setup.apiUrl}/#/incidents/${encodeURIComponent('incident/console/node-3')}`);
  await page.locator('#not-yet').waitFor({ timeout: 15_000 });
  await setup.h.start(gatedRunbook('console-later', join(setup.dir, 'later.log')), testFault('console', 'node-3'));
  const form = page.locator('form.decide');
  await form.waitFor({ timeout: 30_000 });
  await form.locator('textarea').fill('not this one');
  await form.getByRole('button', { name: 'Reject' }).click();
  await waitFor('the rejection accepted', 15_000, async () => /Accepted: reject/.test((await page.locator('.result').first().textContent().catch(() => '')) ?? ''));
});

test('the audit record opens from the incident page', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page.goto(`${setup.apiUrl}/#/incidents/${encodeURIComponent('incident/console/node-1')}`);
  await page.locator('#incident-status').waitFor({ timeout: 15_000 });
  await page.getByRole('link', { name: 'Audit record' }).click();
  await page.locator('#audit').waitFor({ timeout: 15_000 });
  assert.match((await page.locator('#audit').textContent()) ?? '', /"channel": "console"/);
  await checkPage(page, 'audit');
});

test('pause and resume from the banner, with a confirmation and the reason shown', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page.goto(`${setup.apiUrl}/#/incidents`);
  await page.locator('#pause-toggle').focus();
  await page.keyboard.press('Enter');
  await page.locator('#pause-dialog[open]').waitFor();
  await page.keyboard.type('database migration in progress');
  // Enter in a text area starts a new line; Tab reaches the Pause button.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await waitFor('the paused banner', 10_000, async () => /Remediation is paused.*alice.*database migration in progress/s.test((await page.locator('#banner').textContent()) ?? ''));
  const control = (await (await fetch(`${setup.apiUrl}/control`, { headers: { authorization: `Bearer ${setup.tokens['alice']}` } })).json()) as { paused: boolean; by?: string };
  assert.equal(control.paused, true);
  assert.equal(control.by, 'alice');
  await checkPage(page, 'paused');
  await page.locator('#pause-toggle').click();
  await page.locator('#pause-reason').fill('migration done');
  await page.locator('#pause-confirm').click();
  await waitFor('the banner gone', 10_000, async () => ((await page.locator('#banner').textContent()) ?? '').trim() === '');
  const resumed = (await (await fetch(`${setup.apiUrl}/control`, { headers: { authorization: `Bearer ${setup.tokens['alice']}` } })).json()) as { paused: boolean };
  assert.equal(resumed.paused, false);
});

test('a dead letter shows its original bytes and reason, and replays', { timeout: TEST_TIMEOUT_MS }, async () => {
  const garbage = '{"not":"a fault event"}';
  setup.nc.publish('faults.console.node-9', new TextEncoder().encode(garbage));
  await page.goto(`${setup.apiUrl}/#/dead-letters`);
  const row = page.locator('#dead-letters tr[data-letter]').first();
  await waitFor('the dead letter listed', 30_000, async () => {
    // Re-reads the list, as following the nav link again would.
    await page.evaluate("window.dispatchEvent(new HashChangeEvent('hashchange'))");
    return (await row.count()) > 0;
  });
  await checkPage(page, 'dead-letters');
  const id = await row.getAttribute('data-letter');
  await row.locator('a').click();
  await page.locator('#original').waitFor();
  assert.equal(await page.locator('#original').textContent(), garbage);
  await checkPage(page, 'dead-letter');
  page.once('dialog', (d) => void d.accept());
  await page.locator('#replay').click();
  await waitFor('the replay reported', 15_000, async () => /Replayed to faults\.console\.node-9/.test((await page.locator('#replay-result').textContent()) ?? ''));
  const after = await fetch(`${setup.apiUrl}/dead-letters/${id}`, { headers: { authorization: `Bearer ${setup.tokens['alice']}` } });
  // Replayed, the same bytes are refused again and land as a new letter; this one is gone.
  assert.equal(after.status, 404);
});

test('schedules, backups and drills page passes the accessibility check', { timeout: TEST_TIMEOUT_MS }, async () => {
  await page.goto(`${setup.apiUrl}/#/operations`);
  await page.getByRole('heading', { level: 2, name: 'Drills' }).waitFor({ timeout: 15_000 });
  await checkPage(page, 'operations');
});

test('sign-out ends the session: the API refuses its cookie afterwards', { timeout: TEST_TIMEOUT_MS }, async () => {
  const cookie = (await alice.cookies()).find((c) => c.name === 'runbook_session');
  await page.locator('#sign-out').click();
  await page.locator('#token').waitFor();
  const res = await fetch(`${setup.apiUrl}/incidents`, { headers: { cookie: `runbook_session=${cookie?.value ?? ''}` } });
  assert.equal(res.status, 401);
});
