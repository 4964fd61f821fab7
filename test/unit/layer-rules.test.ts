import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { IConfiguration, ICruiseResult } from 'dependency-cruiser';
import { PROJECT_ROOT } from '../../stack/toolchain';

/*
 * The layer rules of `npm run lint`, run on small fixture trees that mirror our
 * folder names: a clean tree passes, and each planted violation is reported by
 * the rule that forbids it (and by no other).
 */

const config = require('../../.dependency-cruiser.cjs') as IConfiguration;

/** A tree that uses every allowed kind of import once. */
const CLEAN: Record<string, string> = {
  'schemas/fault.ts': `export interface Fault { id: string }\n`,
  'engine/route.ts': `import type { Fault } from '../schemas/fault';\nexport const route = (f: Fault): string => f.id;\n`,
  'observability/logger.ts': `import type { Fault } from '../schemas/fault';\nexport const log = (f: Fault): string => f.id;\n`,
  'config/config.ts': `import { log } from '../observability/logger';\nexport const config = { log };\n`,
  'activities/adapters/haproxy.ts': `import { log } from '../../observability/logger';\nexport const drain = log;\n`,
  'activities/types.ts': `export interface Activities { drain(): Promise<void> }\n`,
  'activities/create.ts': `import { drain } from './adapters/haproxy';\nimport { approve } from '../workflows/messages';\nimport { record } from '../audit/record';\nexport const create = { drain, approve, record };\n`,
  'workflows/messages.ts': `export const approve = 'approve';\n`,
  'workflows/state.ts': `export interface State { step: number }\n`,
  'workflows/incident.ts': `import type { Activities } from '../activities/types';\nimport { route } from '../engine/route';\nimport { approve } from './messages';\nimport type { State } from './state';\nexport const incident = (a: Activities, s: State): unknown => [a, s, route, approve];\n`,
  'incidents/read.ts': `import type { State } from '../workflows/state';\nimport { approve } from '../workflows/messages';\nexport const read = (s: State): unknown => [s, approve];\n`,
  'audit/record.ts': `import { read } from '../incidents/read';\nimport { approve } from '../workflows/messages';\nexport const record = { read, approve };\n`,
  'intake/handoff.ts': `import { approve } from '../workflows/messages';\nimport { config } from '../config/config';\nexport const handoff = { approve, config };\n`,
  'stack/local-stack.ts': `import { config } from '../config/config';\nexport const up = config;\n`,
  'api/server.ts': `import { read } from '../incidents/read';\nexport const serve = read;\n`,
  'demo/fleet.ts': `import { up } from '../stack/local-stack';\nimport { create } from '../activities/create';\nexport const fleet = { up, create };\n`,
  'cli/main.ts': `import { read } from '../incidents/read';\nimport { up } from '../stack/local-stack';\nimport { fleet } from '../demo/fleet';\nexport const main = { read, up, fleet };\n`,
  'workers/api.ts': `import { serve } from '../api/server';\nimport { handoff } from '../intake/handoff';\nexport const start = { serve, handoff };\n`,
  'bench/run.ts': `import { main } from '../cli/main';\nimport { start } from '../workers/api';\nexport const bench = { main, start };\n`,
  'scripts/record.ts': `import { bench } from '../bench/run';\nexport const record = bench;\n`,
  'test/helpers/stack.ts': `import { record } from '../../scripts/record';\nimport { incident } from '../../workflows/incident';\nexport const helper = { record, incident };\n`,
};

interface Plant {
  /** What the planted file does, for the test name. */
  what: string;
  rule: string;
  from: string;
  to: string;
  source: string;
  /** Further files the violation needs (the rest of a cycle); they are reported only through `from`. */
  also?: Record<string, string>;
}

/** At least one planted violation per rule (several for the rules that guard several edges); a cycle is reported once. */
const PLANTS: Plant[] = [
  {
    what: 'a type-only import cycle',
    rule: 'no-cycles',
    from: 'engine/cycle-a.ts',
    to: 'engine/cycle-b.ts',
    source: `import type { B } from './cycle-b';\nexport type A = B[];\n`,
    also: { 'engine/cycle-b.ts': `import type { A } from './cycle-a';\nexport interface B { a: A }\n` },
  },
  { what: 'a folder that is in no layer', rule: 'not-in-a-layer', from: 'helpers/misc.ts', to: 'schemas/fault.ts', source: `import type { Fault } from '../schemas/fault';\nexport type F = Fault;\n` },
  { what: 'a lone module in a folder that is in no layer', rule: 'not-in-a-layer-orphan', from: 'helpers/alone.ts', to: 'helpers/alone.ts', source: `export const alone = 1;\n` },
  { what: 'schemas importing engine', rule: 'layer-schemas', from: 'schemas/runbook.ts', to: 'engine/route.ts', source: `import { route } from '../engine/route';\nexport const r = route;\n` },
  { what: 'engine importing config', rule: 'layer-engine', from: 'engine/load.ts', to: 'config/config.ts', source: `import { config } from '../config/config';\nexport const c = config;\n` },
  { what: 'platform importing observability', rule: 'layer-platform', from: 'platform/process-group.ts', to: 'observability/logger.ts', source: `import { log } from '../observability/logger';\nexport const l = log;\n` },
  { what: 'observability importing config', rule: 'layer-observability', from: 'observability/metrics.ts', to: 'config/config.ts', source: `import { config } from '../config/config';\nexport const m = config;\n` },
  { what: 'workflows importing a type from audit', rule: 'layer-workflows', from: 'workflows/audit-types.ts', to: 'audit/record.ts', source: `import type { record } from '../audit/record';\nexport type R = typeof record;\n` },
  { what: 'workflows importing observability', rule: 'layer-workflows', from: 'workflows/log.ts', to: 'observability/logger.ts', source: `import { log } from '../observability/logger';\nexport const l = log;\n` },
  { what: 'workflows importing activity code', rule: 'workflows-import-activities-as-types-only', from: 'workflows/eager.ts', to: 'activities/create.ts', source: `import { create } from '../activities/create';\nexport const e = create;\n` },
  { what: 'an adapter importing workflows', rule: 'layer-adapters', from: 'activities/adapters/rsync.ts', to: 'workflows/messages.ts', source: `import { approve } from '../../workflows/messages';\nexport const a = approve;\n` },
  { what: 'an adapter importing an activity outside adapters', rule: 'layer-adapters', from: 'activities/adapters/probe.ts', to: 'activities/types.ts', source: `import type { Activities } from '../types';\nexport type P = Activities;\n` },
  { what: 'config importing intake', rule: 'layer-config', from: 'config/mapping.ts', to: 'intake/handoff.ts', source: `import { handoff } from '../intake/handoff';\nexport const m = handoff;\n` },
  { what: 'activities importing a workflow state type', rule: 'layer-activities', from: 'activities/report.ts', to: 'workflows/state.ts', source: `import type { State } from '../workflows/state';\nexport type S = State;\n` },
  { what: 'audit importing a workflow state type', rule: 'layer-audit', from: 'audit/build.ts', to: 'workflows/state.ts', source: `import type { State } from '../workflows/state';\nexport type S = State;\n` },
  { what: 'the read model importing the CLI', rule: 'layer-incidents', from: 'incidents/list.ts', to: 'cli/main.ts', source: `import { main } from '../cli/main';\nexport const l = main;\n` },
  { what: 'intake importing workers', rule: 'layer-intake', from: 'intake/loop.ts', to: 'workers/api.ts', source: `import { start } from '../workers/api';\nexport const l = start;\n` },
  { what: 'stack importing demo', rule: 'layer-stack', from: 'stack/fleet.ts', to: 'demo/fleet.ts', source: `import { fleet } from '../demo/fleet';\nexport const f = fleet;\n` },
  { what: 'the API importing a CLI command', rule: 'layer-api', from: 'api/incidents.ts', to: 'cli/main.ts', source: `import { main } from '../cli/main';\nexport const i = main;\n` },
  { what: 'the API importing workers', rule: 'layer-api', from: 'api/boot.ts', to: 'workers/api.ts', source: `import { start } from '../workers/api';\nexport const b = start;\n` },
  { what: 'the API importing intake beyond its dead letters', rule: 'layer-api', from: 'api/intake.ts', to: 'intake/handoff.ts', source: `import { handoff } from '../intake/handoff';\nexport const h = handoff;\n` },
  { what: 'the console page importing product code', rule: 'layer-console', from: 'console/app.js', to: 'api/server.ts', source: `import { serve } from '../api/server';\nexport const s = serve;\n` },
  { what: 'the CLI importing the API', rule: 'layer-cli', from: 'cli/serve.ts', to: 'api/server.ts', source: `import { serve } from '../api/server';\nexport const s = serve;\n` },
  { what: 'workers importing the CLI', rule: 'layer-workers', from: 'workers/cli.ts', to: 'cli/main.ts', source: `import { main } from '../cli/main';\nexport const c = main;\n` },
  { what: 'demo importing the CLI', rule: 'layer-demo', from: 'demo/cli.ts', to: 'cli/main.ts', source: `import { main } from '../cli/main';\nexport const c = main;\n` },
  { what: 'product code importing a test helper', rule: 'layer-intake', from: 'intake/test-only.ts', to: 'test/helpers/stack.ts', source: `import { helper } from '../test/helpers/stack';\nexport const h = helper;\n` },
  { what: 'product code importing bench', rule: 'layer-workers', from: 'workers/bench.ts', to: 'bench/run.ts', source: `import { bench } from '../bench/run';\nexport const b = bench;\n` },
  { what: 'product code importing scripts', rule: 'layer-cli', from: 'cli/record.ts', to: 'scripts/record.ts', source: `import { record } from '../scripts/record';\nexport const r = record;\n` },
  { what: 'a workflow client importing workflow code', rule: 'workflow-clients-import-types-and-messages', from: 'intake/start.ts', to: 'workflows/incident.ts', source: `import { incident } from '../workflows/incident';\nexport const s = incident;\n` },
];

function writeTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'layer-rules-'));
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
  return dir;
}

/** Cruises `dir` with the rules and options of `npm run lint`; returns "rule: from → to" for each violation. */
async function violations(dir: string): Promise<string[]> {
  // tsConfig is a file name for the command line; the fixtures need no tsconfig to resolve.
  const { tsConfig: _tsConfig, ...options } = config.options ?? {};
  // The package is ESM only (its exports have no require condition), so it is loaded with import().
  const { cruise } = await import('dependency-cruiser');
  const { output } = await cruise(['.'], { ...options, baseDir: dir, validate: true, ruleSet: { forbidden: config.forbidden ?? [] } });
  const result = output as ICruiseResult;
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
}

const dirs: string[] = [];
let planted: string[] = [];

before(async () => {
  const files: Record<string, string> = { ...CLEAN };
  for (const p of PLANTS) Object.assign(files, p.also, { [p.from]: p.source });
  const dir = writeTree(files);
  dirs.push(dir);
  planted = await violations(dir);
});

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('npm run lint cruises the whole tree with this configuration', () => {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.lint ?? '', /&& depcruise \. --config \.dependency-cruiser\.cjs\b/);
  assert.equal(config.options?.tsPreCompilationDeps, true, 'type-only imports must count');
});

test('a tree that keeps to the layers has no violations', async () => {
  const dir = writeTree(CLEAN);
  dirs.push(dir);
  assert.deepEqual(await violations(dir), []);
});

for (const p of PLANTS) {
  test(`${p.what} breaks ${p.rule}`, () => {
    assert.ok(planted.includes(`${p.rule}: ${p.from} → ${p.to}`), `expected ${p.rule}: ${p.from} → ${p.to} among\n${planted.join('\n')}`);
  });
}

test('each planted violation is reported once, by its own rule, and nothing else is', () => {
  assert.deepEqual(planted, PLANTS.map((p) => `${p.rule}: ${p.from} → ${p.to}`).sort());
});

test('every rule has a comment and at least one planted violation', () => {
  const names = new Set(PLANTS.map((p) => p.rule));
  for (const rule of config.forbidden ?? []) {
    assert.ok(rule.comment && rule.comment.length > 20, `${rule.name} needs a comment`);
    assert.ok(names.has(rule.name ?? ''), `${rule.name} has no planted violation`);
  }
});

test('docs/architecture.md lists every top-level folder of the repository', () => {
  const doc = readFileSync(join(PROJECT_ROOT, 'docs', 'architecture.md'), 'utf8');
  const folders = readdirSync(PROJECT_ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !['node_modules', 'dist'].includes(e.name))
    .map((e) => e.name);
  for (const folder of folders) assert.match(doc, new RegExp(`^\\| \`${folder}/\``, 'm'), `${folder}/ is missing from the component table`);
});
