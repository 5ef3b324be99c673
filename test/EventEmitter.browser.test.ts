import { EventEmitter as Package } from 'eventemitter3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventEmitter as Variant } from '../src/EventEmitter.browser.js';

/** Runs of the property; `PROPS_RUNS=10000` for a long search. */
const RUNS = Number(process.env.PROPS_RUNS ?? 1_000);

const SYMBOL = Symbol('s');
const EVENTS = ['a', 'b', '1', '__proto__', '', SYMBOL] as const;
const CONTEXTS = [undefined, 0, 'ctx-1', 'ctx-2'] as const;
const LISTENERS = 4;

type Op =
  | { kind: 'on' | 'once' | 'addListener'; event: number; fn: number; context: number }
  | { kind: 'removeListener' | 'off'; event: number; fn: number | undefined; context: number; once: boolean | undefined }
  | { kind: 'removeAllListeners'; event: number | undefined }
  | { kind: 'emit'; event: number; args: number[] }
  | { kind: 'listeners' | 'listenerCount'; event: number }
  | { kind: 'eventNames' };

// Mostly two events and two listeners, so that calls meet: a listener adding to the event being emitted.
const event = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 1) }, { weight: 1, arbitrary: fc.nat(EVENTS.length - 1) });
const fn = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 1) }, { weight: 1, arbitrary: fc.nat(LISTENERS - 1) });
const context = fc.nat(CONTEXTS.length - 1);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('on', 'once', 'addListener'), event, fn, context }),
  fc.record({ kind: fc.constantFrom('removeListener', 'off'), event, fn: fc.option(fn, { nil: undefined }), context, once: fc.option(fc.boolean(), { nil: undefined }) }),
  fc.record({ kind: fc.constant('removeAllListeners'), event: fc.option(event, { nil: undefined }) }),
  fc.record({ kind: fc.constant('emit'), event, args: fc.array(fc.integer(), { maxLength: 7 }) }),
  fc.record({ kind: fc.constantFrom('listeners', 'listenerCount'), event }),
  fc.record({ kind: fc.constant('eventNames') }),
);

/** What a listener does when called, besides recording the call: an operation of its own, or a throw. */
const reaction = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: op },
  { weight: 1, arbitrary: fc.constant('throw' as const) },
);

type Emitter = Package | Variant;

/**
 * Runs `ops` on one emitter and writes what a caller could observe: each call's result (an emitter
 * as `this`, listeners by number), each listener call with its `this` and arguments, and throws.
 */
function observe(Class: new () => Emitter, ops: readonly Op[], reactions: readonly (Op | 'throw' | undefined)[]): unknown[] {
  const emitter = new Class();
  const seen: unknown[] = [];
  let depth = 0;
  // eventemitter3 makes a bounded number of calls; an emitter that calls listeners added during
  // an emit could loop forever (a listener adding itself): stop it, as a difference.
  let calls = 0;
  const name = (value: unknown) => (value === emitter ? 'emitter' : value);
  const fns = Array.from({ length: LISTENERS }, (_, id) =>
    function (this: unknown, ...args: unknown[]) {
      seen.push(['call', id, name(this), args]);
      if (++calls > 10_000) throw new Error('more than 10,000 listener calls');
      const reaction = reactions[id];
      if (reaction === 'throw') throw new Error(`listener ${id}`);
      if (reaction !== undefined && depth < 3) {
        depth++;
        try {
          seen.push(['nested', apply(reaction)]);
        } finally {
          depth--;
        }
      }
    },
  );
  const label = (value: unknown): unknown => (value === emitter ? 'this' : Array.isArray(value) ? value.map((f) => fns.indexOf(f)) : value);
  // The same calls on either class; the types differ only in their generics.
  const apply = (o: Op): unknown => {
    const e = emitter as any;
    switch (o.kind) {
      case 'on':
      case 'once':
      case 'addListener':
        return label(e[o.kind](EVENTS[o.event], fns[o.fn], CONTEXTS[o.context]));
      case 'removeListener':
      case 'off':
        return label(e[o.kind](EVENTS[o.event], o.fn === undefined ? undefined : fns[o.fn], CONTEXTS[o.context], o.once));
      case 'removeAllListeners':
        return label(o.event === undefined ? e.removeAllListeners() : e.removeAllListeners(EVENTS[o.event]));
      case 'emit':
        return label(e.emit(EVENTS[o.event], ...o.args));
      case 'listeners':
      case 'listenerCount':
        return label(e[o.kind](EVENTS[o.event]));
      case 'eventNames':
        return e.eventNames();
    }
  };
  for (const o of ops) {
    try {
      seen.push(['result', apply(o)]);
    } catch (error) {
      seen.push(['threw', String(error)]);
      depth = 0;
    }
  }
  return seen;
}

describe('EventEmitter.browser (eventemitter3 in the browser build)', () => {
  it('does what eventemitter3 does for any sequence of calls, listeners that add, remove, emit or throw included', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.array(reaction, { minLength: LISTENERS, maxLength: LISTENERS }), (ops, reactions) => {
        expect(observe(Variant, ops, reactions)).toEqual(observe(Package, ops, reactions));
      }),
      { numRuns: RUNS },
    );
  });

  it('the cases a random search meets rarely: changes during an emit, a once listener under two contexts', () => {
    const cases: Array<[Op[], (Op | 'throw' | undefined)[]]> = [
      // Listener 0 adds listener 1: this emit does not call it, the next one does.
      [[{ kind: 'on', event: 0, fn: 0, context: 0 }, { kind: 'emit', event: 0, args: [1] }, { kind: 'emit', event: 0, args: [2] }], [{ kind: 'on', event: 0, fn: 1, context: 0 }, undefined, undefined, undefined]],
      // Listener 2 removes listener 0, which this emit still calls; listener 0 then adds listener 1.
      [[{ kind: 'on', event: 0, fn: 2, context: 0 }, { kind: 'on', event: 0, fn: 0, context: 0 }, { kind: 'emit', event: 0, args: [1] }, { kind: 'emit', event: 0, args: [2] }], [{ kind: 'on', event: 0, fn: 1, context: 0 }, undefined, { kind: 'removeListener', event: 0, fn: 0, context: 0, once: undefined }, undefined]],
      // The first to run of two once registrations of one function removes both, whatever their contexts.
      [[{ kind: 'once', event: 1, fn: 1, context: 0 }, { kind: 'once', event: 1, fn: 1, context: 2 }, { kind: 'emit', event: 1, args: [] }], [undefined, { kind: 'eventNames' }, undefined, undefined]],
      // A listener that throws stops the emit; the once registrations it removed stay removed.
      [[{ kind: 'once', event: 0, fn: 2, context: 2 }, { kind: 'once', event: 0, fn: 2, context: 3 }, { kind: 'emit', event: 0, args: [] }, { kind: 'listenerCount', event: 0 }], [undefined, undefined, 'throw', undefined]],
    ];
    for (const [ops, reactions] of cases) expect(observe(Variant, ops, reactions)).toEqual(observe(Package, ops, reactions));
  });

  it('refuses a listener that is not a function with the same TypeError', () => {
    for (const Class of [Package, Variant]) {
      expect(() => new Class().on('a', 'nope' as never)).toThrow(new TypeError('The listener must be a function'));
    }
  });

  it('has the same statics, aliases and exports', async () => {
    expect(Variant.prefixed).toBe(Package.prefixed);
    expect(Variant.EventEmitter).toBe(Variant);
    expect(Variant.prototype.off).toBe(Variant.prototype.removeListener);
    expect(Variant.prototype.addListener).toBe(Variant.prototype.on);
    const methods = (C: { prototype: object }) => Object.getOwnPropertyNames(C.prototype).sort();
    expect(methods(Variant)).toEqual(methods(Package));
    expect((await import('../src/EventEmitter.browser.js')).default).toBe(Variant);
    // Where the Node build's types say eventemitter3, the browser build's class fits them.
    const typed: Package = new Variant();
    expect(typed.listenerCount('a')).toBe(0);
  });
});
