// @ts-check
/*
 * The layers of this codebase, as lint rules (`npm run lint` runs them after
 * eslint). Each folder says what of ours it MAY import; anything else is an
 * error, so a new folder is constrained from its first import. Type-only
 * imports count (tsPreCompilationDeps), because a type cycle is still a cycle
 * and a type borrowed from a higher layer still ties the layers together.
 * No product layer lists test/, bench/ or scripts/, so product code never
 * imports tooling. test/unit/layer-rules.test.ts plants a violation of each rule.
 * docs/architecture.md mirrors this file as a table; change both together.
 */

/** Folder (or file) of ours → the regular expression that selects it, relative to the repository root. */
const dir = (name) => `^${name}/`;

/** Tooling: may import any of our code; product code never imports it. */
const TOOLING = ['test', 'bench', 'scripts'];

/** Every folder with code, classified. A module anywhere else breaks `not-in-a-layer`. */
const CLASSIFIED = [
  'schemas',
  'engine',
  'observability',
  'platform',
  'workflows',
  'activities',
  'config',
  'incidents',
  'intake',
  'audit',
  'stack',
  'api',
  'cli',
  'workers',
  'demo',
  'console',
  ...TOOLING,
].map(dir);

/** Files at the repository root (eslint.config.mjs, this file) are tool configuration. */
const ROOT_FILES = '^[^/]+$';

/** Clients of the workflows: they may import workflow types and `workflows/messages.ts`, never workflow code. */
const WORKFLOW_CLIENTS = ['incidents', 'intake', 'api', 'cli', 'workers', 'demo'];

/**
 * One rule per layer: modules under `from` may import, of our own code, only
 * their own folder and the folders in `may` (regular expressions). External
 * packages and Node builtins are not governed here (the eslint import fence
 * keeps them out of workflow code).
 */
function layer(name, from, may, comment) {
  return {
    name,
    comment,
    severity: 'error',
    from: from.pathNot ? { path: from.path, pathNot: from.pathNot } : { path: from.path },
    to: { dependencyTypes: ['local'], pathNot: [from.path, ...may] },
  };
}

const SCHEMAS = dir('schemas');
const ENGINE = dir('engine');
const OBSERVABILITY = dir('observability');
const PLATFORM = dir('platform');
const CONFIG = dir('config');
const ADAPTERS = dir('activities/adapters');
const ACTIVITIES = dir('activities');
const INCIDENTS = dir('incidents');
const INTAKE = dir('intake');
const AUDIT = dir('audit');
const STACK = dir('stack');
const API = dir('api');
const WORKFLOWS = dir('workflows');
const WORKFLOW_MESSAGES = '^workflows/messages\\.ts$';
/** The dead-letter store and its JSON form: the part of intake/ the API may import. */
const INTAKE_DEAD_LETTERS = '^intake/dead-letter-(store|json)\\.ts$';

/** Lower layers every edge and process may build on. */
const BASE = [SCHEMAS, ENGINE, CONFIG, OBSERVABILITY, PLATFORM];

/** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
const forbidden = [
  {
    name: 'no-cycles',
    comment: 'No import cycles anywhere, type-only imports included: a cycle means two modules are one concept split in two, or a shape that belongs lower down (in schemas/).',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
  {
    name: 'not-in-a-layer',
    comment: 'Every folder with code belongs to a layer in .dependency-cruiser.cjs (and the table in docs/architecture.md); add a new folder there before its code lands.',
    severity: 'error',
    from: { pathNot: [...CLASSIFIED, ROOT_FILES] },
    to: {},
  },
  {
    name: 'not-in-a-layer-orphan',
    comment: 'A module that imports nothing and is imported by nothing is still code outside every layer: classify its folder.',
    severity: 'error',
    from: { orphan: true, pathNot: [...CLASSIFIED, ROOT_FILES] },
    to: {},
  },
  layer('layer-schemas', { path: SCHEMAS }, [],
    'schemas/ holds the zod schemas and shared shapes every layer reads; it imports nothing of ours, so any layer may import it.'),
  layer('layer-engine', { path: ENGINE }, [SCHEMAS],
    'engine/ (runbook loading, routing, templates, conditions) builds on schemas/ only; workflows run parts of it.'),
  layer('layer-platform', { path: PLATFORM }, [],
    'platform/ is operating-system plumbing with no product knowledge (signalling process groups); it imports nothing of ours, so adapters and the stack share it.'),
  layer('layer-observability', { path: OBSERVABILITY }, [SCHEMAS],
    'observability/ (logger, metrics, health endpoint) is used by every process, so it may import only schemas/.'),
  layer('layer-workflows', { path: WORKFLOWS }, [SCHEMAS, ENGINE, ACTIVITIES],
    'workflows/ is deterministic code: of ours it imports schemas/, engine/ and other workflows only (activities as types, see the next rule); never audit, intake, config, stack, cli, api, workers, observability, demo or bench.'),
  {
    name: 'workflows-import-activities-as-types-only',
    comment: 'Workflows reach activities through proxyActivities, so they import the activity interfaces as types only (import type), never activity code.',
    severity: 'error',
    from: { path: WORKFLOWS },
    to: { path: ACTIVITIES, dependencyTypesNot: ['type-only', 'type-import'] },
  },
  layer('layer-adapters', { path: ADAPTERS }, [SCHEMAS, ENGINE, OBSERVABILITY, PLATFORM],
    'activities/adapters/ talks to the world (HAProxy, rsync, supervisor, probes, webhooks); it never imports workflows/ nor the activities built on top of it.'),
  layer('layer-config', { path: CONFIG }, [SCHEMAS, ENGINE, OBSERVABILITY],
    'config/ is parsed once per process by every process; the shapes it parses live in schemas/, so it never reaches up into intake/, activities/ or the processes.'),
  layer('layer-incidents', { path: INCIDENTS }, [...BASE, WORKFLOWS],
    'incidents/ is the read model for incidents, used by the CLI, the API and the audit: it builds on the base layers and the workflows\' client API (types and messages).'),
  layer('layer-intake', { path: INTAKE }, [...BASE, WORKFLOWS],
    'intake/ validates fault events and hands them to workflows through their client API; it never imports cli/, api/, workers/ or demo/.'),
  layer('layer-audit', { path: AUDIT }, [...BASE, INCIDENTS, WORKFLOW_MESSAGES],
    'audit/ records what incidents did; of workflows/ it imports only messages.ts (signal, update and query definitions are client API), shapes come from schemas/.'),
  layer('layer-activities', { path: ACTIVITIES, pathNot: ADAPTERS }, [...BASE, AUDIT, ADAPTERS, WORKFLOW_MESSAGES],
    'activities/ does every side effect for the workflows; of workflows/ it imports only messages.ts (client API), never workflow code or state shapes (those live in schemas/).'),
  layer('layer-stack', { path: STACK }, BASE,
    'stack/ starts the local servers and our processes as child processes; it never imports cli/, api/, workers/ or demo/.'),
  layer('layer-api', { path: API }, [...BASE, INCIDENTS, AUDIT, WORKFLOWS, INTAKE_DEAD_LETTERS],
    'api/ (approvals and incidents over HTTP) shares read models with the CLI through incidents/; of intake/ it imports only the dead-letter store and its JSON form (the console lists and replays dead letters as runbook dead-letters does); it never imports cli/ or workers/.'),
  layer('layer-cli', { path: dir('cli') }, [...BASE, INCIDENTS, AUDIT, ACTIVITIES, INTAKE, STACK, dir('demo'), WORKFLOWS],
    'cli/ is the runbook command; it shares read models with the API through incidents/ and never imports api/ or workers/.'),
  layer('layer-workers', { path: dir('workers') }, [...BASE, INCIDENTS, AUDIT, ACTIVITIES, INTAKE, API, WORKFLOWS],
    'workers/ are the process entry points (worker, intake, API process): they wire the layers below and may import api/, never cli/.'),
  layer('layer-console', { path: dir('console') }, [],
    'console/ is the browser page the API serves as files: it imports nothing, and talks to the API over HTTP only.'),
  layer('layer-demo', { path: dir('demo') }, [...BASE, INCIDENTS, AUDIT, ACTIVITIES, INTAKE, STACK, WORKFLOWS],
    'demo/ drives a scripted fleet through the product; it may use any product layer but not the process entry points (cli/, api/, workers/).'),
  {
    name: 'workflow-clients-import-types-and-messages',
    comment: 'Outside workflows/, workflow modules are imported as types or through messages.ts only; workflow code runs in the worker\'s sandbox, never in a client.',
    severity: 'error',
    from: { path: WORKFLOW_CLIENTS.map(dir) },
    to: { path: WORKFLOWS, pathNot: WORKFLOW_MESSAGES, dependencyTypesNot: ['type-only', 'type-import'] },
  },
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden,
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|\\.runbook|\\.git)/' },
  },
};
