// `npm run size` (after `npm run build`): what each public entry costs a web app. Bundles every
// entry as a browser bundler resolves it (the package's exports map, `browser` condition), with
// esbuild, minified, viem and ethers left out (the app has them anyway); prints the raw and gzipped
// sizes; fails when a bundle pulls in `ws` or a `node:` module, when an entry is over its budget,
// or when one small import from the root entry brings the rest along (tree-shaking broken).
//
//   node scripts/size.mjs [--json] [--root <dir>] [--no-budget] [--modules <entry>]
//
// --json prints the measurements as JSON (for `npm run bench`); --root resolves `steadyrpc` from
// another project (a fresh install of the packed tarball, say) instead of this repository;
// --no-budget checks what the bundles hold but not their sizes (scripts/smoke-pack.mjs);
// --modules steadyrpc/viem prints what that bundle is made of: each source module's minified
// bytes and what it adds to the gzipped size (the bundle gzipped without its bytes, subtracted).
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

/**
 * One small import from the root entry, and what it may cost minified: more means an app's bundler
 * cannot leave the rest out (issue 14: `sideEffects: false` keeps tree-shaking working).
 */
export const SHAKEN = { name: 'redactUrl', from: 'steadyrpc', maxBytes: 2 * 1024 };

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
  const result = await bundleEntry(entry, root);
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

/** `import { redactUrl } from 'steadyrpc'` bundled for the browser: `{ import, rawBytes, maxBytes, problems }`. */
export async function measureTreeShaking(root = REPO) {
  const result = await bundleEntry(SHAKEN.from, root, false, `export { ${SHAKEN.name} } from '${SHAKEN.from}';`);
  const rawBytes = Buffer.byteLength(result.outputFiles[0].text);
  const problems = rawBytes > SHAKEN.maxBytes ? [`import { ${SHAKEN.name} } from '${SHAKEN.from}' bundles to ${kb(rawBytes)}, over ${kb(SHAKEN.maxBytes)}: the rest of the entry is not shaken out`] : [];
  return { import: `{ ${SHAKEN.name} } from '${SHAKEN.from}'`, rawBytes, maxBytes: SHAKEN.maxBytes, problems };
}

/** The browser bundle of `entry` as an app's bundler makes it (with a source map back to src/ when asked). */
function bundleEntry(entry, root, sourcemap = false, contents = `export * from '${entry}';`) {
  return build({
    stdin: { contents, resolveDir: root, loader: 'js', sourcefile: `${entry}.browser-size.js` },
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
    ...(sourcemap ? { sourcemap: 'external', outfile: join(root, 'size.js') } : {}),
  });
}

/**
 * What the browser bundle of `entry` is made of, by source module (dist's source maps lead back
 * to src/): `{ gzipBytes, modules: [{ module, bytes, gzipBytes }] }`, largest gzip share first.
 * A module's gzip share is what the bundle loses, gzipped, without its minified bytes; the shares
 * add up to a little less than the whole (gzip finds repeats across modules).
 */
export async function measureModules(entry, root = REPO) {
  const result = await bundleEntry(entry, root, true);
  const text = result.outputFiles.find((f) => f.path.endsWith('.js')).text;
  const map = JSON.parse(result.outputFiles.find((f) => f.path.endsWith('.map')).text);
  // Which source each byte of the bundle came from (-1: esbuild's own helpers).
  const owner = new Int32Array(text.length).fill(-1);
  let lineStart = 0;
  const lines = text.split('\n');
  decodeMappings(map.mappings).forEach((segments, index) => {
    segments.forEach(([column, source], i) => {
      if (source === undefined) return;
      const end = i + 1 < segments.length ? segments[i + 1][0] : lines[index].length;
      owner.fill(source, lineStart + column, lineStart + end);
    });
    lineStart += lines[index].length + 1;
  });
  const gzipBytes = gzipSync(text).length;
  const modules = map.sources.map((source, index) => {
    let bytes = 0;
    let without = '';
    for (let i = 0; i < text.length; ) {
      let j = i;
      while (j < text.length && (owner[j] === index) === (owner[i] === index)) j++;
      if (owner[i] === index) bytes += j - i;
      else without += text.slice(i, j);
      i = j;
    }
    return { module: source.replace(/^(\.\.\/)+/, '').replace(/^.*node_modules\//, 'node_modules/'), bytes, gzipBytes: bytes === 0 ? 0 : gzipBytes - gzipSync(without).length };
  });
  return { entry, rawBytes: text.length, gzipBytes, modules: modules.filter((m) => m.bytes > 0).sort((a, b) => b.gzipBytes - a.gzipBytes) };
}

/** A source map's mappings: for each line of the output, `[column, source]` per segment, both absolute. */
function decodeMappings(mappings) {
  const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let source = 0; // relative across lines; the column starts over on each
  return mappings.split(';').map((line) => {
    let column = 0;
    return (line === '' ? [] : line.split(',')).map((segment) => {
      const fields = [];
      for (let i = 0, value = 0, shift = 0; i < segment.length; i++) {
        const digit = BASE64.indexOf(segment[i]);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
          continue;
        }
        fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
        value = 0;
        shift = 0;
      }
      column += fields[0];
      if (fields.length < 2) return [column, undefined];
      source += fields[1];
      return [column, source];
    });
  });
}

/** Every entry, plus whether the build looks older than the sources. */
export async function measureAll(root = REPO) {
  const entries = [];
  for (const entry of ENTRIES) entries.push(await measureEntry(entry, root));
  return { entries, treeShaking: await measureTreeShaking(root), stale: root === REPO && isStale() };
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
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, root: { type: 'string' }, 'no-budget': { type: 'boolean', default: false }, modules: { type: 'string' } } });
  if (values.modules !== undefined) {
    const report = await measureModules(values.modules, values.root ?? REPO);
    if (values.json) return void process.stdout.write(`${JSON.stringify(report)}\n`);
    console.log(`${report.entry}, browser bundle: ${kb(report.rawBytes)} minified, ${kb(report.gzipBytes)} gzipped; by source module:`);
    console.log(`${'minified'.padStart(9)}${'gzip share'.padStart(12)}  module`);
    for (const m of report.modules) console.log(`${String(m.bytes).padStart(9)}${String(m.gzipBytes).padStart(12)}  ${m.module}`);
    return;
  }
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
    const shaken = report.treeShaking;
    console.log(`tree-shaking: import ${shaken.import} bundles to ${kb(shaken.rawBytes)} minified (≤ ${kb(shaken.maxBytes)} ${shaken.problems.length > 0 ? 'OVER' : 'ok'})`);
    if (report.stale) console.log('note: src/ is newer than dist/browser: these are the sizes of the last build');
  }
  const problems = report.entries.flatMap((e) => e.problems.filter((p) => !(values['no-budget'] && p.includes('over its budget'))).map((p) => `${e.entry}: ${p}`));
  problems.push(...report.treeShaking.problems);
  for (const p of problems) console.error(`size: ${p}`);
  if (problems.length > 0) process.exit(1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
