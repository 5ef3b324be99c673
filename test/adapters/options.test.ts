import { describe, expect, it } from 'vitest';
import { openUpstream } from '../../src/adapters/options.js';
import { NodePool } from '../../src/index.js';
import { adapterWorld } from './world.js';

describe('adapter options', () => {
  it('takes nodes (and builds pool, checker and session) or a pool, not both or neither', () => {
    const world = adapterWorld();
    const { pool } = world.poolOptions();
    expect(() => openUpstream({ nodes: world.configs, pool } as never)).toThrow(/either `nodes` or `pool`/);
    expect(() => openUpstream({} as never)).toThrow(/either `nodes` or `pool`/);
    expect(() => openUpstream(null as never)).toThrow(/object/);
    expect(() => openUpstream({ pool: {} as NodePool })).toThrow(/NodePool/);
    pool.close();
    expect(() => openUpstream({ pool })).toThrow(/closed/);
  });

  it('closes only what it created, and everything it created', async () => {
    const world = adapterWorld();
    const built = openUpstream(world.nodesOptions());
    expect(built.checker?.running).toBe(true);
    await world.settle();
    built.close();
    built.close();
    expect([built.session.state, built.pool.closed, built.checker?.running]).toEqual(['closed', true, false]);
    expect(world.clock.pendingTimers).toBe(0);

    const { pool, session } = world.poolOptions();
    const given = openUpstream({ pool, session });
    expect(given.checker).toBeUndefined();
    given.close();
    expect([given.session.state, pool.closed]).toEqual(['closed', false]);
    pool.close();
  });

  it('leaves nothing behind when the session cannot be built (no node has ws)', () => {
    const world = adapterWorld();
    const options = { ...world.nodesOptions(), nodes: [{ name: 'h', http: 'http://h.test/' }] };
    expect(() => openUpstream(options)).toThrow(/ws/);
    expect(world.clock.pendingTimers).toBe(0);
  });
});
