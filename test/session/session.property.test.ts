import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Env } from '../helpers/sessionCommands.js';
import { closeAndCheck, traceTo, commandsFor, createEnv, runSettings, settle, start } from '../helpers/sessionRun.js';

/** Runs of the property; `PROPS_RUNS=10000` (see `npm run test:props:long`) for a long search. */
const RUNS = Number(process.env.PROPS_RUNS ?? 1_000);
const MAX_COMMANDS = 40;
/** `PROPS_SEED=<n>` replays the runs of a seed fast-check reported. */
const SEED = process.env.PROPS_SEED === undefined ? undefined : Number(process.env.PROPS_SEED);
/** With `PROPS_SEED`, `PROPS_PATH=<path>` runs only the case at that path fast-check reported (`8864`, or a shrunk `8864:3:1`). */
const PATH = process.env.PROPS_PATH;
/** With a shrunk `PROPS_PATH`, `PROPS_REPLAY=<replayPath>` (printed in the counterexample) replays its commands. */
const REPLAY = process.env.PROPS_REPLAY;
// `PROPS_TRACE=1` prints a run as it happens.

let current: Env | undefined;
const onUnhandled = (reason: unknown) => current?.unhandled.push(reason);
beforeAll(() => void process.on('unhandledRejection', onUnhandled));
afterAll(() => void process.off('unhandledRejection', onUnhandled));

describe('UpstreamSession under any interleaving of client traffic, node faults, pool changes and time', () => {
  it(
    'answers every request exactly once under its own id, shows the client only what it asked for, keeps subscription ids, and leaves nothing behind',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          runSettings.chain((settings) => fc.tuple(fc.constant(settings), commandsFor(settings.tiers.length, MAX_COMMANDS, REPLAY))),
          async ([settings, commands]) => {
            const env = createEnv(settings);
            current = env;
            if (process.env.PROPS_TRACE) traceTo(env, console.log);
            try {
              await start(env, settings);
              await fc.asyncModelRun(() => ({ model: {}, real: env }), commands);
              if (settings.settleFirst) await settle(env);
              await closeAndCheck(env);
            } finally {
              current = undefined;
              env.world.session.close();
              env.world.pool.close();
            }
          },
        ),
        { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), ...(PATH === undefined ? {} : { path: PATH }) },
      );
    },
    Math.max(60_000, RUNS * 30),
  );
});
