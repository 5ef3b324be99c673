/**
 * The child process of the runtimes test: runs the session scenario (sessionScenario.ts) in
 * whatever runtime started it — Bun runs this file as TypeScript, Deno and Node 22 an esbuild bundle
 * of it — and prints the report as the last stdout line. Deno runs it through its Node
 * compatibility (`process`, stdin and stdout as streams), with the permissions runtimes.ts gives.
 *
 * The global `WebSocket` is wrapped (before steadyrpc is loaded) to count the sockets built through
 * it: that is how the report shows which transport the session really used. `ws`, and Bun's own
 * `ws` module, never go through the global.
 */
import type { ChildLine, ParentCommand, ScenarioConfig, ScenarioReport } from './protocol.js';
import { CONFIG_ENV } from './protocol.js';
import { runSessionScenario } from './sessionScenario.js';

const config = JSON.parse(process.env[CONFIG_ENV] ?? 'null') as ScenarioConfig | null;
if (config === null) {
  process.stderr.write(`${CONFIG_ENV} is not set: this script is started by test/runtimes/runtimes.test.ts\n`);
  process.exit(2);
}

const uncaught: string[] = [];
process.on('uncaughtException', (error) => uncaught.push(`uncaught: ${error?.stack ?? error}`));
process.on('unhandledRejection', (reason) => uncaught.push(`unhandled rejection: ${(reason as Error)?.stack ?? reason}`));

let opened = 0;
const Native = globalThis.WebSocket;
if (typeof Native === 'function') {
  globalThis.WebSocket = class CountedWebSocket extends Native {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      opened += 1;
    }
  };
}

// Deno reports a `node` version too (the Node API it emulates): its own key comes first.
const versions = process.versions as NodeJS.ProcessVersions & { bun?: string; deno?: string };
const runtime: ScenarioReport['runtime'] = versions.bun
  ? { name: 'bun', version: versions.bun }
  : versions.deno
    ? { name: 'deno', version: versions.deno }
    : versions.node
      ? { name: 'node', version: versions.node }
      : { name: 'other', version: 'unknown' };

const say = (line: ChildLine) => process.stdout.write(`${JSON.stringify(line)}\n`);

/** The parent's commands, one a line on stdin, handed out in order. */
const commands: ParentCommand[] = [];
const waiting: Array<(command: ParentCommand) => void> = [];
let buffered = '';
const onData = (chunk: Buffer | string) => {
  buffered += chunk.toString();
  let newline: number;
  while ((newline = buffered.indexOf('\n')) >= 0) {
    const command = buffered.slice(0, newline).trim() as ParentCommand;
    buffered = buffered.slice(newline + 1);
    const resolve = waiting.shift();
    if (resolve) resolve(command);
    else commands.push(command);
  }
};
process.stdin.on('data', onData);

// Loaded only now, so that anything steadyrpc reads from the global WebSocket is the counted one.
const lib = await import('../../src/index.js');
const report = await runSessionScenario(lib, config, {
  say,
  next: () => new Promise((resolve) => (commands.length > 0 ? resolve(commands.shift()!) : waiting.push(resolve))),
  uncaught,
  runtime,
  webSocket: () => ({ global: typeof Native, opened }),
});
say(report);
process.exitCode = report.ok ? 0 : 1;
// Stop reading stdin; the process then ends by itself once steadyrpc holds nothing open: the
// parent checks that it does, as a sign that close() left no timer or socket behind.
process.stdin.off('data', onData);
process.stdin.pause();
process.stdin.destroy();
