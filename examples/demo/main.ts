/**
 * `npm run demo`: steadyrpc keeping three clients alive while their primary node is cut, then
 * blackholed, then restored. About 35 s; prints a live timeline and a summary, and writes the
 * timeline as an SVG chart. Ctrl-C stops it early and still stops every node and server.
 *
 *   npm run demo
 *   npm run demo -- --fake          # in-process fake nodes instead of anvil
 *   npm run demo -- --help
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runDemo, type DemoOptions } from './runDemo.js';

export { runDemo };
export type { DemoOptions, DemoResult } from './runDemo.js';

const HELP = `Usage: npm run demo -- [options]

Starts two local nodes (anvil; in-process fake nodes if anvil cannot run) behind fault proxies,
the reference proxy, and three clients (plain ws through the proxy, viem, ethers); cuts the
primary, restores it, blackholes it, restores it; prints what every client sees, then a summary.

Options:
  --fake         use in-process fake nodes (steadyrpc/testing) even if anvil can run
  --anvil        use anvil, or fail
  --scale N      multiply the script's waits by N (default 1, about 35 s in all)
  --svg PATH     where to write the chart (default demo-output/timeline.svg)
  --no-color     no ANSI colours (they are used only when stdout is a terminal anyway)
  --help         show this help`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      fake: { type: 'boolean', default: false },
      anvil: { type: 'boolean', default: false },
      scale: { type: 'string' },
      svg: { type: 'string' },
      'no-color': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const options: DemoOptions = {
    nodes: values.fake ? 'fake' : values.anvil ? 'anvil' : 'auto',
    color: process.stdout.isTTY === true && !values['no-color'] && process.env.NO_COLOR === undefined,
    out: (line) => process.stdout.write(`${line}\n`),
  };
  if (values.scale !== undefined) options.scale = Number(values.scale);
  if (values.svg !== undefined) options.svgPath = values.svg;

  // First Ctrl-C: stop the script and clean up. Second: leave now (anvil's exit hook still kills it).
  const controller = new AbortController();
  options.signal = controller.signal;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stdout.write(`\n${signal}: stopping nodes, proxy and clients…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const result = await runDemo(options);
  if (result.interrupted) return 130;
  return result.ok ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
