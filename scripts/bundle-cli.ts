import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, extname, join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { PROJECT_ROOT } from '../stack/toolchain';

/*
 * Builds the CLI into one JavaScript file so `runbook` starts without
 * compiling TypeScript: bin/runbook runs dist/cli-bundle/runbook.js when the
 * stamp on its first line still matches every file it was built from, and
 * otherwise rebuilds it (or, when that fails, runs cli/main.ts through tsx).
 * scripts/setup.sh builds it, so `npm test`, `npm start` and `npm run bench`
 * start with a fresh one. Usage: bundle-cli.ts [out]
 */

/** Where bin/runbook looks for the bundle (outside git: dist/ is ignored). */
export const CLI_BUNDLE = join(PROJECT_ROOT, 'dist', 'cli-bundle', 'runbook.js');

/** The first line of the bundle starts with this, then the stamp as JSON. bin/runbook reads the same prefix. */
export const STAMP_PREFIX = '// runbook-cli-bundle ';

/** What the bundle was built from: each input's absolute path, mtime and size, and an id for its V8 code caches. */
export interface BundleStamp {
  id: string;
  inputs: [path: string, mtimeMs: number, size: number][];
}

/**
 * Packages the CLI must load from node_modules: esbuild runs a native
 * binary beside its package, and tsx is the development path itself.
 */
const EXTERNAL = ['esbuild', 'tsx'];

/**
 * An edit this close to the build's start may not be in what esbuild read;
 * such an input is stamped as changed, so the next run rebuilds.
 */
const MTIME_MARGIN_MS = 2_000;

/**
 * `__dirname` and `__filename` name the bundle once bundled; every module that
 * uses them (stack/toolchain.ts finds the checkout that way, as do a few
 * packages) keeps the directory of its own source instead.
 */
const keepSourcePaths: Plugin = {
  name: 'keep-source-paths',
  setup(b) {
    b.onLoad({ filter: /\.(ts|js|cjs)$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!/\b__(dirname|filename)\b/.test(text)) return undefined;
      const contents = text.replace(/\b__dirname\b/g, JSON.stringify(dirname(args.path))).replace(/\b__filename\b/g, JSON.stringify(args.path));
      return { contents, loader: extname(args.path) === '.ts' ? 'ts' : 'js' };
    });
  },
};

/** Stats each input; one edited since the build started is stamped as changed (mtime -1). */
function stampInputs(paths: readonly string[], startedAt: number): BundleStamp['inputs'] {
  return paths.map((path) => {
    const st = statSync(path);
    return [path, st.mtimeMs >= startedAt - MTIME_MARGIN_MS ? -1 : st.mtimeMs, st.size];
  });
}

/**
 * Builds the CLI bundle at `out` (written to a temporary name, then renamed,
 * so a concurrent `runbook` reads the old file or the new one, never half of
 * one) and removes code caches of earlier builds. Returns its stamp.
 */
export async function bundleCli(out: string = CLI_BUNDLE): Promise<BundleStamp> {
  const startedAt = Date.now();
  const result = await build({
    entryPoints: [join(PROJECT_ROOT, 'cli', 'main.ts')],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0] ?? '20'}`,
    external: EXTERNAL,
    plugins: [keepSourcePaths],
    metafile: true,
    write: false,
    logLevel: 'silent',
    // Whitespace and syntax only, names kept (stack traces still name functions): a smaller file is
    // read, hashed and compiled from its code cache faster, about 20 ms of every command's start-up.
    minifyWhitespace: true,
    minifySyntax: true,
  });
  const code = result.outputFiles[0]?.text;
  if (code === undefined) throw new Error('esbuild wrote no output for cli/main.ts');
  // package-lock.json stands for the installed versions: an install may keep a file's size and its packed mtime.
  // This file too: a change to how the bundle is built makes it stale like a change to what it is built from.
  const inputs = [...Object.keys(result.metafile.inputs).map((p) => join(PROJECT_ROOT, p)), join(PROJECT_ROOT, 'package-lock.json'), join(PROJECT_ROOT, 'scripts', 'bundle-cli.ts')];
  const stamp: BundleStamp = {
    id: createHash('sha256').update(code).digest('hex').slice(0, 16),
    inputs: stampInputs(inputs, startedAt),
  };
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, `${STAMP_PREFIX}${JSON.stringify(stamp)}\n${code}`);
  renameSync(tmp, out);
  for (const name of readdirSync(dirname(out))) {
    if (name.endsWith('.cache') && !name.includes(`.${stamp.id}.`)) rmSync(join(dirname(out), name), { force: true });
  }
  return stamp;
}

if (require.main === module) {
  const out = process.argv[2] ?? CLI_BUNDLE;
  bundleCli(out).then(
    (stamp) => console.log(`CLI bundle written to ${out} (${stamp.inputs.length} inputs)`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
