// `npm run size` (after `npm run build`): what each public entry costs a web app. Bundles every
// entry as a browser bundler resolves it (the package's exports map, `browser` condition), with
// esbuild, minified, viem and ethers left out (the app has them anyway); prints the raw and gzipped
// sizes; fails when a bundle pulls in `ws` or a `node:` module, or when an entry is over its budget.
//
//   node scripts/size.mjs [--json] [--root <dir>] [--no-budget]
//
// --json prints the measurements as JSON (for `npm run bench`); --root resolves `steadyrpc` from
// another project (a fresh install of the packed tarball, say) instead of this repository;
// --no-budget checks what the bundles hold but not their sizes (scripts/smoke-pack.mjs).
import { build } from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));

export const ENTRIES = ['steadyrpc', 'steadyrpc/viem', 'steadyrpc/ethers', 'steadyrpc/testing'];

/** Gzipped bytes an entry may reach (issue 14: the viem entry is what most web apps load). */
export const BUDGETS = { 'steadyrpc/viem': 20 * 1024 };

const PEERS = ['viem', 'viem/*', 'ethers', 'ethers/*'];

/** What a browser bundle must not hold: each a test on the bundle's inputs or its text. */
const FORBIDDEN = [
  { what: 'the ws package', inputs: /(^|[\\/])node_modules[\\/]ws[\\/]/ },
  { what: 'a node: import', text: /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']node:/ },
  // Node's globals only as properties of globalThis (looked up, their absence handled).
  ...['Buffer', 'process', 'setImmediate'].map((name) => ({ what: `the Node global ${name}`, text: new RegExp(`(?<![.\\w$])${name}(?![\\w$])`) })),
];

/**
 * Bundles `entry` for the browser from `root` and measures it: `{ entry, rawBytes, gzipBytes,
 * budget, problems }`, problems being what it must not contain and an exceeded budget.
 */
export async function measureEntry(entry, root = REPO) {
  const result = await build({
    stdin: { contents: `export * from '${entry}';`, resolveDir: root, loader: 'js', sourcefile: `${entry}.browser-size.js` },
    bundle: true,
    minify: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['browser'],
    target: 'es2022',
    external: PEERS,
    // This repository's tsconfig maps `steadyrpc` to src/ (for its tests): resolve as a user does.
    tsconfigRaw: {},
    logLevel: 'silent',
  });
  const text = result.outputFiles[0].text;
  const inputs = Object.keys(result.metafile.inputs);
  const problems = [];
  for (const rule of FORBIDDEN) {
    const hit = rule.inputs ? inputs.find((path) => rule.inputs.test(path)) : rule.text.exec(text)?.[0];
    if (hit !== undefined) problems.push(`contains ${rule.what} (${rule.inputs ? hit : `…${excerpt(text, rule.text)}…`})`);
  }
  const rawBytes = Buffer.byteLength(text);
  const gzipBytes = gzipSync(text).length;
  const budget = BUDGETS[entry] ?? null;
  if (budget !== null && gzipBytes > budget) problems.push(`${kb(gzipBytes)} gzipped is over its budget of ${kb(budget)}`);
  return { entry, rawBytes, gzipBytes, budget, problems };
}

/** Every entry, plus whether the build looks older than the sources. */
export async function measureAll(root = REPO) {
  const entries = [];
  for (const entry of ENTRIES) entries.push(await measureEntry(entry, root));
  return { entries, stale: root === REPO && isStale() };
}

function excerpt(text, pattern) {
  const at = text.search(pattern);
  return text.slice(Math.max(0, at - 40), at + 40);
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

/** The newest file under src/ is newer than the browser build: the figures are of old code. */
function isStale() {
  let built;
  try {
    built = statSync(join(REPO, 'dist', 'browser', 'index.js')).mtimeMs;
  } catch {
    return true;
  }
  const newest = (dir) => Math.max(...readdirSync(dir, { withFileTypes: true }).map((d) => (d.isDirectory() ? newest(join(dir, d.name)) : statSync(join(dir, d.name)).mtimeMs)));
  return newest(join(REPO, 'src')) > built;
}

async function main() {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, root: { type: 'string' }, 'no-budget': { type: 'boolean', default: false } } });
  let report;
  try {
    report = await measureAll(values.root ?? REPO);
  } catch (error) {
    const hint = values.root ? '' : ' (run `npm run build` first)';
    console.error(`size: could not bundle the browser entries${hint}:\n${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    console.log('browser bundles (esbuild, minified, `browser` condition, viem and ethers external):');
    console.log(`${'entry'.padEnd(20)}${'raw'.padStart(10)}${'gzip'.padStart(10)}  budget`);
    for (const e of report.entries) {
      const verdict = values['no-budget'] ? '(not checked)' : e.gzipBytes > e.budget ? 'OVER' : 'ok';
      const budget = e.budget === null ? '' : `≤ ${kb(e.budget)} gzip ${verdict}`;
      console.log(`${e.entry.padEnd(20)}${kb(e.rawBytes).padStart(10)}${kb(e.gzipBytes).padStart(10)}  ${budget}`);
    }
    if (report.stale) console.log('note: src/ is newer than dist/browser: these are the sizes of the last build');
  }
  const problems = report.entries.flatMap((e) => e.problems.filter((p) => !(values['no-budget'] && p.includes('over its budget'))).map((p) => `${e.entry}: ${p}`));
  for (const p of problems) console.error(`size: ${p}`);
  if (problems.length > 0) process.exit(1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
