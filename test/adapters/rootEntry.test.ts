/**
 * viem and ethers are optional peer dependencies: importing `steadyrpc` must load neither. Checked
 * twice, without a build: the static import graph of src/index.ts, and a real import of it in a
 * child process whose resolve hook refuses both packages. (scripts/smoke-exports.mjs checks the
 * built entries the same way.)
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PEER = /^(viem|ethers)(\/|$)/;

/** Every module specifier reachable from `entry` through relative imports (type-only ones included). */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier);
    }
  };
  visit(resolve(root, entry));
  return { files, packages };
}

const refuseHook = `export async function resolve(specifier, context, next) {
  if (${PEER}.test(specifier)) throw new Error('loaded ' + specifier);
  return next(specifier, context);
}`;
const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(refuseHook)}`)});`;

function importWithHook(file: string): Promise<unknown> {
  const args = ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', `await import(${JSON.stringify(`./${file}`)});`];
  return promisify(execFile)(process.execPath, args, { cwd: root, timeout: 20_000 });
}

describe('the root entry and the optional peers', () => {
  it('src/index.ts imports neither viem nor ethers, directly or through any module it reaches', () => {
    const { files, packages } = importGraph('src/index.ts');
    expect(files.size).toBeGreaterThan(20);
    expect([...files].some((f) => f.endsWith('adapters/eip1193.ts'))).toBe(true);
    expect([...packages].filter((p) => PEER.test(p))).toEqual([]);
  });

  it('the subpath entries do import them (the check above can fail)', () => {
    expect(importGraph('src/viem.ts').packages).toContain('viem');
    expect(importGraph('src/ethers.ts').packages).toContain('ethers');
  });

  it('loads src/index.ts in a process that refuses to resolve viem and ethers', { timeout: 30_000 }, async () => {
    await expect(importWithHook('src/index.ts')).resolves.toBeDefined();
    await expect(importWithHook('src/viem.ts')).rejects.toThrow(/loaded viem/);
  });
});
