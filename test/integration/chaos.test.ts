/**
 * Chaos: many clients, a seeded fault schedule, exact counts. `npm test` runs a short version;
 * `npm run test:chaos` runs 90 s with 50 clients. Replay a failure with CHAOS_SEED=<printed seed>.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos.js';

const seconds = Number(process.env.CHAOS_SECONDS ?? 12);
const clients = Number(process.env.CHAOS_CLIENTS ?? 20);
const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('chaos', () => {
  it.each([
    ['a socket per client session', false],
    ['the sessions sharing upstream sockets (--share-upstreams)', true],
  ])(`${clients} clients through the reference proxy, %s, survive ${seconds} s of faults (seed ${seed})`, { timeout: (seconds + 120) * 1_000 }, async (_how, shareUpstreams) => {
    console.log(`chaos: seed ${seed} (replay with CHAOS_SEED=${seed}), ${clients} clients, ${seconds} s${shareUpstreams ? ', shared upstream sockets' : ''}`);
    const counts = await runChaos({ seconds, clients, seed, rate: 5, shareUpstreams });
    console.log(`chaos: faults ${counts.faults.join(' | ')}`);
    console.log(
      `chaos: ${counts.requests} requests, ${counts.answers} answers (errors by code ${JSON.stringify(counts.errorAnswers)}), ` +
        `lost ${counts.lostAnswers}, duplicated ${counts.duplicatedAnswers}, wrong id ${counts.wrongIdAnswers}, ` +
        `leaked replay answers ${counts.leakedReplayAnswers}, subscriptions delivering with their original id ` +
        `${counts.subscriptionsDeliveringWithOriginalId}/${counts.subscriptions}, newHeads duplicates ${counts.newHeadsDuplicates}, ` +
        `session switches ${counts.switches}`,
    );
    expect(counts.lostAnswers).toBe(0);
    expect(counts.duplicatedAnswers).toBe(0);
    expect(counts.wrongIdAnswers).toBe(0);
    expect(counts.leakedReplayAnswers).toBe(0);
    expect(counts.subscriptionsDeliveringWithOriginalId).toBe(counts.subscriptions);
    expect(counts.newHeadsDuplicates).toBe(0);
  });
});
