import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { findSamples, getHistogram, getValue, parseExposition, sumValues, type ParsedExposition } from '../../test/helpers/exposition.js';
import { createObservability, type Observability, type ObservabilityOptions } from '../observability.js';
import type { AnyFunction } from './handles.js';

const created: Observability[] = [];
function make(options: ObservabilityOptions = {}): Observability {
  const obs = createObservability({ runtimeMetrics: false, logger: false, ...options });
  created.push(obs);
  return obs;
}
afterEach(async () => {
  await Promise.all(created.splice(0).map((o) => o.shutdown()));
});

async function scrape(obs: Observability): Promise<ParsedExposition> {
  return parseExposition((await obs.metrics()).body, 'prometheus');
}

const TOOL = 'gen_ai_execute_tool_duration_seconds';
const toolLabels = (tool: string, error_type = '', agent = '') => ({ gen_ai_tool_name: tool, gen_ai_agent_name: agent, error_type });
const internalErrors = (exp: ParsedExposition, component: string): number =>
  findSamples(exp, 'agentobs_internal_errors_total', { component })[0]?.value ?? 0;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Every way to wrap a function, so each transparency property runs against all of them. */
function wrappers(obs: Observability): [string, <F extends AnyFunction>(fn: F) => F][] {
  return [
    ['instrumentAgent', (fn) => obs.instrumentAgent(fn, { agent: 'a' })],
    ['instrumentWorkflow', (fn) => obs.instrumentWorkflow(fn, { workflow: 'w' })],
    ['instrumentStep', (fn) => obs.instrumentStep(fn, { step: 's', workflow: 'w' })],
    ['instrumentTool', (fn) => obs.instrumentTool(fn, { tool: 't' })],
    ['instrumentLlmCall', (fn) => obs.instrumentLlmCall(fn, { model: 'm', usage: () => ({ input: 1, output: 1 }) })],
    ['instrument(llm)', (fn) => obs.instrument('llm', fn, { model: 'm2' })],
    ['tool().wrap', (fn) => obs.tool('t2').wrap(fn)],
  ];
}

function caught(fn: () => unknown): { threw: boolean; value: unknown } {
  try {
    fn();
    return { threw: false, value: undefined };
  } catch (e) {
    return { threw: true, value: e };
  }
}

// fc.anything() never yields functions, so no generated value is a thenable.
const anyValue = fc.anything();

describe('wrappers are transparent', () => {
  const obs = make();
  for (const [label, wrap] of wrappers(obs)) {
    describe(label, () => {
      it('returns exactly what a sync function returns, synchronously', () => {
        fc.assert(
          fc.property(anyValue, (v) => {
            const out = wrap(() => v)();
            expect(Object.is(out, v)).toBe(true);
          }),
        );
        expect(wrap(() => 42)()).toBe(42); // a plain value, not a promise of one
        expect(wrap(() => undefined)()).toBeUndefined();
      });

      it('rethrows exactly what a sync function throws (Errors and any other throwable)', () => {
        fc.assert(
          fc.property(fc.oneof(anyValue, fc.constant(new TypeError('x')), fc.constant(null), fc.constant(undefined)), (v) => {
            const r = caught(() =>
              wrap(() => {
                throw v;
              })(),
            );
            expect(r.threw).toBe(true);
            expect(Object.is(r.value, v)).toBe(true);
          }),
        );
      });

      it('returns the very promise an async function returns, resolving to the same value', async () => {
        await fc.assert(
          fc.asyncProperty(anyValue, async (v) => {
            let inner: Promise<unknown> | undefined;
            const out = wrap(() => (inner = Promise.resolve(v)))();
            expect(out).toBe(inner);
            expect(Object.is(await out, v)).toBe(true);
          }),
        );
      });

      it('returns the very promise of a rejection, rejecting with the same value', async () => {
        await fc.assert(
          fc.asyncProperty(anyValue, async (v) => {
            let inner: Promise<unknown> | undefined;
            const p = wrap(() =>
              (inner = (async () => {
                await null;
                throw v;
              })()),
            )();
            expect(p).toBe(inner);
            const reason = await p.then(
              () => ({ rejected: false, v: undefined as unknown }),
              (e: unknown) => ({ rejected: true, v: e }),
            );
            expect(reason.rejected).toBe(true);
            expect(Object.is(reason.v, v)).toBe(true);
          }),
        );
      });

      it('keeps a promise subclass (SDK-style APIPromise) as is, extra methods included', async () => {
        class APIPromise<T> extends Promise<T> {
          withResponse(): string {
            return 'raw';
          }
        }
        const p = new APIPromise<number>((resolve) => resolve(7));
        const out = wrap(() => p)();
        expect(out).toBe(p);
        expect((out as APIPromise<number>).withResponse()).toBe('raw');
        expect(await out).toBe(7);
      });

      it('passes `this` and every argument through unchanged', () => {
        fc.assert(
          fc.property(anyValue, fc.array(anyValue, { maxLength: 6 }), (self, args) => {
            const seenThis: unknown[] = [];
            let seenArgs: unknown[] = [];
            const fn = wrap(function (this: unknown, ...a: unknown[]) {
              seenThis.push(this);
              seenArgs = a;
              return a.length;
            });
            expect((fn as unknown as (...a: unknown[]) => unknown).apply(self, args)).toBe(args.length);
            expect(seenThis).toHaveLength(1);
            expect(Object.is(seenThis[0], self)).toBe(true);
            expect(seenArgs).toHaveLength(args.length);
            seenArgs.forEach((a, i) => expect(Object.is(a, args[i])).toBe(true));
          }),
        );
      });

      it('works as a method: `this` is the receiver', () => {
        const counter = {
          n: 41,
          bump: wrap(function (this: { n: number }, by: number) {
            this.n += by;
            return this;
          }),
        };
        expect(counter.bump(1)).toBe(counter);
        expect(counter.n).toBe(42);
      });

      it('keeps name and length', () => {
        function searchTheWeb(_query: string, _limit: number, _opts: object = {}): void {}
        const w = wrap(searchTheWeb);
        expect(w.name).toBe('searchTheWeb');
        expect(w.length).toBe(2);
        fc.assert(
          fc.property(fc.string(), fc.nat({ max: 20 }), (name, length) => {
            const f = (): void => {};
            Object.defineProperty(f, 'name', { value: name });
            Object.defineProperty(f, 'length', { value: length });
            const g = wrap(f);
            expect(g.name).toBe(name);
            expect(g.length).toBe(length);
            expect(g).not.toBe(f);
          }),
        );
      });
    });
  }

  it('run() is transparent too: value, throwable and promise identity', async () => {
    const h = obs.step('plan', { workflow: 'w' });
    fc.assert(
      fc.property(anyValue, (v) => {
        expect(Object.is(h.run(() => v), v)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(anyValue, (v) => {
        const r = caught(() =>
          h.run(() => {
            throw v;
          }),
        );
        expect(r.threw && Object.is(r.value, v)).toBe(true);
      }),
    );
    const p = Promise.resolve('x');
    expect(h.run(() => p)).toBe(p);
  });
});

describe('recording', () => {
  it('counts every call, split by outcome, as many times as the function was called', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { maxLength: 30 }), fc.boolean(), async (outcomes, isAsync) => {
        const o = createObservability({ runtimeMetrics: false, logger: false });
        const fn = o.instrumentTool(
          (ok: boolean) => {
            if (isAsync) return ok ? Promise.resolve(1) : Promise.reject(new RangeError('no'));
            if (!ok) throw new RangeError('no');
            return 1;
          },
          { tool: 'calc' },
        );
        for (const ok of outcomes) {
          try {
            await fn(ok);
          } catch {
            // expected for failures
          }
        }
        const exp = await scrape(o);
        const okCount = outcomes.filter(Boolean).length;
        const failCount = outcomes.length - okCount;
        const count = (et: string) => findSamples(exp, `${TOOL}_count`, toolLabels('calc', et))[0]?.value ?? 0;
        expect(count('')).toBe(okCount);
        expect(count('RangeError')).toBe(failCount);
        expect(sumValues(exp, `${TOOL}_count`)).toBe(outcomes.length);
        await o.shutdown();
      }),
      { numRuns: 40 },
    );
  });

  it('labels errors by code or class, never by message', async () => {
    class RateLimitError extends Error {}
    const obs = make();
    const throws = [new TypeError('user 1'), { code: 'ECONNRESET' }, 'a string', new RateLimitError('429 for key sk-123'), null, undefined, new Error('x')];
    for (const t of throws) {
      const fn = obs.instrumentTool(() => {
        throw t;
      }, { tool: 'x' });
      expect(() => fn()).toThrow();
    }
    const rejecting = obs.instrumentTool(() => Promise.reject(new TypeError('async')), { tool: 'x' });
    await expect(rejecting()).rejects.toBeInstanceOf(TypeError);
    const exp = await scrape(obs);
    const byType = Object.fromEntries(findSamples(exp, `${TOOL}_count`, { gen_ai_tool_name: 'x' }).map((s) => [s.labels.error_type, s.value]));
    expect(byType).toEqual({ '': 0, TypeError: 2, ECONNRESET: 1, _OTHER: 3, RateLimitError: 1, Error: 1 });
  });

  it('uses a custom errorType, bounded by the cardinality guard', async () => {
    const obs = make({ errorType: (e) => `E:${String(e)}\n`, cardinality: { maxValuesPerLabel: 2 } });
    const fn = obs.instrumentTool((x: string) => {
      throw x;
    }, { tool: 't' });
    for (const x of ['a', 'b', 'c', 'd']) expect(() => fn(x)).toThrow();
    const exp = await scrape(obs);
    const types = findSamples(exp, `${TOOL}_count`, { gen_ai_tool_name: 't' }).map((s) => s.labels.error_type);
    expect(types.sort()).toEqual(['', 'E:a_', 'E:b_', '_OTHER']);
  });

  it('tracks calls in flight per kind and name, back to 0 when they settle', async () => {
    const obs = make();
    const gates: { resolve: (v: string) => void; reject: (e: unknown) => void }[] = [];
    const fn = obs.instrumentTool(() => new Promise<string>((resolve, reject) => gates.push({ resolve, reject })), { tool: 'slow' });
    const active = async () => getValue(await scrape(obs), 'agentobs_operation_active', { kind: 'tool', name: 'slow' });
    const a = fn();
    const b = fn();
    expect(await active()).toBe(2);
    gates[0]?.resolve('done');
    await a;
    await tick();
    expect(await active()).toBe(1);
    gates[1]?.reject(new Error('x'));
    await expect(b).rejects.toThrow('x');
    await tick();
    expect(await active()).toBe(0);
    const sync = obs.instrumentTool(() => {
      throw new Error('sync');
    }, { tool: 'slow' });
    expect(() => sync()).toThrow('sync');
    expect(await active()).toBe(0);
  });

  it('observes durations from the injected clock, in seconds', async () => {
    let now = 1_000;
    const obs = make({ clock: () => now });
    const fn = obs.instrumentAgent(async (ms: number) => {
      now += ms;
      return 'ok';
    }, { agent: 'planner' });
    await fn(250);
    await fn(3_000);
    const h = getHistogram(await scrape(obs), 'gen_ai_invoke_agent_duration_seconds', { gen_ai_agent_name: 'planner', error_type: '' });
    expect(h.count).toBe(2);
    expect(h.sum).toBe(3.25);
    const le = (bound: number) => h.buckets.find((b) => b.le === bound)?.count;
    expect(le(0.2)).toBe(0);
    expect(le(0.4)).toBe(1);
    expect(le(3.2)).toBe(2);
  });
});

describe('token usage', () => {
  const llmLabels = (type: 'input' | 'output') => ({
    gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-4o', gen_ai_agent_name: '', gen_ai_token_type: type,
  });

  it('records input and output tokens per call from the usage mapper', async () => {
    const obs = make();
    const call = obs.instrumentLlmCall(async (i: number, o: number) => ({ usage: { prompt: i, completion: o } }), {
      model: 'gpt-4o',
      provider: 'openai',
      usage: (r) => ({ input: r.usage.prompt, output: r.usage.completion }),
    });
    await call(10, 20);
    await call(100, 1);
    const exp = await scrape(obs);
    const input = getHistogram(exp, 'gen_ai_client_token_usage', llmLabels('input'));
    const output = getHistogram(exp, 'gen_ai_client_token_usage', llmLabels('output'));
    expect([input.sum, input.count, output.sum, output.count]).toEqual([110, 2, 21, 2]);
    // TOKEN_BUCKETS are 1, 4, 16, 64, 256…
    expect(input.buckets.slice(0, 5).map((b) => b.count)).toEqual([0, 0, 1, 1, 2]);
    expect(output.buckets.slice(0, 4).map((b) => b.count)).toEqual([1, 1, 1, 2]);
    expect(getValue(exp, 'gen_ai_client_operation_duration_seconds_count', {
      gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-4o', gen_ai_agent_name: '', error_type: '',
    })).toBe(2);
  });

  it('maps the result of a sync call too, and recordUsage() records usage measured elsewhere', async () => {
    const obs = make();
    obs.instrumentLlmCall(() => ({ n: 5 }), { model: 'gpt-4o', provider: 'openai', usage: (r) => ({ input: r.n }) })();
    obs.llm({ model: 'gpt-4o', provider: 'openai' }).recordUsage({ input: 7, output: 3 });
    const exp = await scrape(obs);
    expect(getHistogram(exp, 'gen_ai_client_token_usage', llmLabels('input')).sum).toBe(12);
    expect(getHistogram(exp, 'gen_ai_client_token_usage', llmLabels('output'))).toMatchObject({ sum: 3, count: 1 });
  });

  it.each<[string, unknown]>([
    ['missing fields', {}],
    ['undefined', undefined],
    ['null', null],
    ['negative counts', { input: -1, output: -5 }],
    ['NaN', { input: NaN, output: NaN }],
    ['Infinity', { input: Infinity, output: Infinity }],
    ['strings', { input: '5', output: '6' }],
  ])('records nothing for %s', async (_what, usage) => {
    const obs = make();
    const call = obs.instrumentLlmCall(async () => 'r', { model: 'gpt-4o', provider: 'openai', usage: () => usage as never });
    expect(await call()).toBe('r');
    const exp = await scrape(obs);
    expect(sumValues(exp, 'gen_ai_client_token_usage_count')).toBe(0);
    expect(internalErrors(exp, 'usage')).toBe(0);
  });

  it('records only the valid half of a half-valid usage', async () => {
    const obs = make();
    await obs.instrumentLlmCall(async () => 'r', { model: 'gpt-4o', provider: 'openai', usage: () => ({ input: 0, output: -3 }) })();
    const exp = await scrape(obs);
    expect(getHistogram(exp, 'gen_ai_client_token_usage', llmLabels('input')).count).toBe(1);
    expect(getHistogram(exp, 'gen_ai_client_token_usage', llmLabels('output')).count).toBe(0);
  });

  it('does not call the mapper for failed calls', async () => {
    const obs = make();
    let calls = 0;
    const call = obs.instrumentLlmCall(async () => {
      throw new Error('x');
    }, { model: 'gpt-4o', usage: () => ((calls += 1), { input: 1 }) });
    await expect(call()).rejects.toThrow('x');
    expect(calls).toBe(0);
  });
});

describe('telemetry failures never reach user code', () => {
  it('a throwing usage mapper: the result comes back, internal_errors{component="usage"} counts it', async () => {
    const obs = make({ logger: { warn: () => {} } });
    const result = { id: 1 };
    const call = obs.instrumentLlmCall(async () => result, {
      model: 'm',
      usage: () => {
        throw new Error('mapper bug');
      },
    });
    expect(await call()).toBe(result);
    expect(await call()).toBe(result);
    const exp = await scrape(obs);
    expect(internalErrors(exp, 'usage')).toBe(2);
    expect(sumValues(exp, 'gen_ai_client_operation_duration_seconds_count')).toBe(2);
  });

  it('a throwing errorType: the original error is rethrown and recorded as _OTHER', async () => {
    const obs = make({
      errorType: () => {
        throw new Error('mapper bug');
      },
    });
    const original = new TypeError('original');
    const fn = obs.instrumentTool(() => {
      throw original;
    }, { tool: 't' });
    expect(caught(fn).value).toBe(original);
    const asyncFn = obs.instrumentTool(() => Promise.reject(original), { tool: 't' });
    await expect(asyncFn()).rejects.toBe(original);
    const exp = await scrape(obs);
    expect(internalErrors(exp, 'error_type')).toBe(2);
    expect(getValue(exp, `${TOOL}_count`, toolLabels('t', '_OTHER'))).toBe(2);
  });

  it('an errorType returning a non-string or empty string records _OTHER', async () => {
    for (const bad of [undefined, 42, '', null]) {
      const obs = make({ errorType: () => bad as unknown as string });
      expect(() => obs.instrumentTool(() => {
        throw new Error('x');
      }, { tool: 't' })()).toThrow('x');
      expect(getValue(await scrape(obs), `${TOOL}_count`, toolLabels('t', '_OTHER'))).toBe(1);
    }
  });

  it('a throwing clock: values and errors pass through, nothing bogus is observed, internal_errors{component="clock"} counts it', async () => {
    const obs = make({
      clock: () => {
        throw new Error('clock broke');
      },
    });
    const value = { v: 1 };
    expect(obs.tool('t').run(() => value)).toBe(value);
    const err = new RangeError('mine');
    expect(caught(() => obs.instrumentTool(() => {
      throw err;
    }, { tool: 't' })()).value).toBe(err);
    const p = Promise.resolve(3);
    expect(obs.tool('t').run(() => p)).toBe(p);
    await p;
    await tick();
    const exp = await scrape(obs);
    expect(internalErrors(exp, 'clock')).toBeGreaterThanOrEqual(3);
    expect(sumValues(exp, `${TOOL}_sum`)).toBe(0);
    expect(getValue(exp, 'agentobs_operation_active', { kind: 'tool', name: 't' })).toBe(0);
  });

  it.each<[string, () => number, number]>([
    ['NaN', () => NaN, 2],
    ['a non-number', () => 'soon' as unknown as number, 2],
    ['a clock running backwards', (() => {
      let t = 1e6;
      return () => (t -= 10);
    })(), 1],
  ])('a clock returning %s: no observation corrupts _sum, each bad reading is counted', async (_what, clock, bad) => {
    const obs = make({ clock });
    expect(obs.tool('t').run(() => 'ok')).toBe('ok');
    const exp = await scrape(obs);
    expect(internalErrors(exp, 'clock')).toBe(bad);
    expect(getHistogram(exp, TOOL, toolLabels('t')).sum).toBe(0);
  });

  it('a thenable whose `then` getter throws: the same object comes back, counted as a sync success', async () => {
    const obs = make();
    const hostile = {
      get then(): never {
        throw new Error('getter bomb');
      },
    };
    expect(obs.tool('t').run(() => hostile)).toBe(hostile);
    expect(obs.instrumentTool(() => hostile, { tool: 't' })()).toBe(hostile);
    const exp = await scrape(obs);
    expect(internalErrors(exp, 'record')).toBe(2);
    expect(getValue(exp, `${TOOL}_count`, toolLabels('t'))).toBe(2);
    expect(getValue(exp, 'agentobs_operation_active', { kind: 'tool', name: 't' })).toBe(0);
  });

  it('a thenable whose `then` throws when called: returned as is, in-flight gauge restored', async () => {
    const obs = make();
    const hostile = {
      then(): never {
        throw new Error('then bomb');
      },
    };
    expect(obs.tool('t').run(() => hostile)).toBe(hostile);
    const exp = await scrape(obs);
    expect(internalErrors(exp, 'record')).toBe(1);
    expect(getValue(exp, 'agentobs_operation_active', { kind: 'tool', name: 't' })).toBe(0);
  });

  it('a non-conforming thenable that calls back twice and then throws is recorded once', async () => {
    const obs = make();
    const weird = {
      then(ok: (v: unknown) => void, ko: (e: unknown) => void): void {
        ok(1);
        ok(2);
        ko(new Error('also'));
        throw new Error('and throws');
      },
    };
    expect(obs.tool('t').run(() => weird)).toBe(weird);
    const exp = await scrape(obs);
    expect(sumValues(exp, `${TOOL}_count`, { gen_ai_tool_name: 't' })).toBe(1);
    expect(getValue(exp, 'agentobs_operation_active', { kind: 'tool', name: 't' })).toBe(0);
  });

  it('a logger that throws does not escape either', async () => {
    const obs = make({
      logger: {
        warn: () => {
          throw new Error('logger down');
        },
      },
    });
    const call = obs.instrumentLlmCall(async () => 'r', {
      model: 'm',
      usage: () => {
        throw new Error('x');
      },
    });
    expect(await call()).toBe('r');
    expect(internalErrors(await scrape(obs), 'usage')).toBe(1);
  });

  it('logs an internal failure once per component and error class, without the value', async () => {
    const logged: [Record<string, unknown>, string][] = [];
    const obs = make({ logger: { warn: (d, m) => void logged.push([d, m]) } });
    const call = obs.instrumentLlmCall(async () => 'r', {
      model: 'm',
      usage: () => {
        throw new TypeError('secret-prompt-text '.repeat(30));
      },
    });
    for (let i = 0; i < 5; i++) await call();
    expect(logged).toHaveLength(1);
    expect(logged[0]?.[0]).toEqual({ component: 'usage', error_type: 'TypeError' });
    expect(JSON.stringify(logged)).not.toContain('secret-prompt-text');
    expect(logged[0]?.[1]).toMatch(/agentobs_internal_errors_total/);
    expect(internalErrors(await scrape(obs), 'usage')).toBe(5);
  });

  it('record() with an invalid duration is counted as an internal error, not thrown', async () => {
    const obs = make();
    const h = obs.tool('t');
    for (const d of [-1, NaN, Infinity]) expect(() => h.record(d)).not.toThrow();
    h.record(0.5);
    h.record(0.2, new TypeError('x'));
    const exp = await scrape(obs);
    expect(internalErrors(exp, 'record')).toBe(3);
    expect(getHistogram(exp, TOOL, toolLabels('t'))).toMatchObject({ sum: 0.5, count: 1 });
    expect(getHistogram(exp, TOOL, toolLabels('t', 'TypeError'))).toMatchObject({ sum: 0.2, count: 1 });
  });
});
