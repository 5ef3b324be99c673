// The package as users get it: `npm pack`, install the tarball (with viem and ethers, its optional
// peers) into a fresh project, and run the export checks there under both module systems and the
// `browser` condition; then bundle every entry from there for the browser, as a web app's bundler
// would (scripts/size.mjs: no ws, no node: import, no bare Node global).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const project = mkdtempSync(join(tmpdir(), 'steadyrpc-consumer-'));
const run = (command, args, cwd) => execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
try {
  const [{ filename, files }] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', project], root));
  const outside = files.map((f) => f.path).filter((path) => !/^(dist\/|README\.md$|CHANGELOG\.md$|LICENSE$|package\.json$)/.test(path));
  if (outside.length > 0) throw new Error(`the tarball holds files users do not need: ${outside.join(', ')}`);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', `./${filename}`, `viem@${pkg.devDependencies.viem}`, `ethers@${pkg.devDependencies.ethers}`], project);
  mkdirSync(join(project, 'scripts'));
  copyFileSync(join(root, 'scripts', 'smoke-exports.mjs'), join(project, 'scripts', 'smoke-exports.mjs'));
  process.stdout.write(run(process.execPath, [join(project, 'scripts', 'smoke-exports.mjs')], project));
  process.stdout.write(run(process.execPath, [join(root, 'scripts', 'size.mjs'), '--root', project, '--no-budget'], root));
  console.log(`packed ${filename} (${files.length} files) installs and loads in a fresh project`);
} finally {
  rmSync(project, { recursive: true, force: true });
}
