// @ts-check
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

/** Modules deterministic workflow code must never load: I/O, clocks, schema libraries. */
const WORKFLOW_FORBIDDEN = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  'nats',
  'zod',
  'yaml',
  'prom-client',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];

/** Our own folders that do I/O; workflows may import their types only. */
const WORKFLOW_FORBIDDEN_PATTERNS = [
  '**/activities',
  '**/activities/**',
  '**/intake/**',
  '**/stack/**',
  '**/cli/**',
  '**/config/**',
  '**/workers/**',
  '**/observability/**',
  '**/api/**',
  '**/incidents/**',
  '**/engine/load-runbook',
  '**/engine/content-hash',
  '**/engine/decision-signature',
  '**/schemas/fault-event',
  '**/schemas/runbook',
  '**/schemas/identifiers',
  '**/schemas/parse-fault-event',
  '**/schemas/drill-report',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.runbook/**', 'docs/**', 'bin/**', 'test/fixtures/**/*.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-console': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts', 'bench/workflows/**/*.ts', 'engine/duration.ts', 'engine/template.ts', 'engine/conditions.ts', 'engine/routing.ts', 'engine/approval-rules.ts', 'engine/outages.ts', 'engine/drill-grading.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: WORKFLOW_FORBIDDEN.map((name) => ({ name, message: 'workflow code must be deterministic: no I/O or schema libraries (do it in an activity or at the edge)' })),
          patterns: [{ group: WORKFLOW_FORBIDDEN_PATTERNS, allowTypeImports: true, message: 'workflow code may import only types from modules that do I/O' }],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
