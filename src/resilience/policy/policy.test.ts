import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getHistogram, getValue, parseExposition, type ParsedExposition } from '../../../test/helpers/exposition.js';
import { isCircuitOpenError, isConfigError, isPoolRejectedError, isTimeoutError, TimeoutError } from '../../errors.js';
import { createObservability, type Observability, type ObservabilityOptions } from '../../observability.js';

const created: Observability[] = [];
function make(options: ObservabilityOptions = {}): Observability {
  const obs = createObservability({ runtimeMetrics: false, logger: false, ...options });
  created.push(obs);
  return obs;
}
afterEach(async () => {
  await Promise.all(created.splice(0).map((o) => o.shutdown()));
  vi.useRealTimers();
});
async function scrape(obs: Observability): Promise<ParsedExposition> {
  return parseExposition((await obs.metrics()).body, 'prometheus');
}

describe('timeout', () => {
  it('rejects with TimeoutError, recorded as error_type="timeout" by an enclosing instrumented call', async () => {
    vi.useFakeTimers();
    const obs = make({ clock: () => Date.now() });
    const slow = obs.timeout(() => new Promise<string>((r) => setTimeout(() => r('late'), 1_000)), { ms: 50 });
    const tool = obs.instrumentTool(slow, { tool: 'slow_search' });
    const p = tool();
    const check = expect(p).rejects.toSatisfy((e: unknown) => isTimeoutError(e) && e.timeoutMs === 50);
    await vi.advanceTimersByTimeAsync(50);
    await check;
    const exp = await scrape(obs);
    expect(getHistogram(exp, 'gen_ai_execute_tool_duration_seconds', { gen_ai_tool_name: 'slow_search', gen_ai_agent_name: '', error_type: 'timeout' }).count).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000); // the abandoned call settles later without an unhandled rejection
  });

  it('clears its timer when the call settles first; passes values, errors, this and args through', async () => {
    vi.useFakeTimers();
    const obs = make();
    const baseline = vi.getTimerCount();
    const boom = new Error('boom');
    const obj = { k: 2, f: obs.timeout(async function (this: { k: number }, x: number) { if (x < 0) throw boom; return this.k * x; }, { ms: 1_000 }) };
    expect(await obj.f(21)).toBe(42);
    await expect(obj.f(-1)).rejects.toBe(boom);
    expect(vi.getTimerCount()).toBe(baseline);
  });

  it('aborts the signal given to execute() with the TimeoutError', async () => {
    vi.useFakeTimers();
    const obs = make();
    const policy = obs.policy({ name: 'to', timeout: 100 });
    let seen: AbortSignal | undefined;
    const p = policy.execute(({ signal }) => {
      seen = signal;
      return new Promise((_r, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    });
    const check = expect(p).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(100);
    await check;
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(TimeoutError);
  });

  it('throws a ConfigError for a bad ms', () => {
    const obs = make();
    for (const ms of [0, -1, NaN, Infinity, '10']) expect(() => obs.timeout(async () => 1, { ms } as never)).toThrow(expect.objectContaining({ code: 'ERR_AGENTOBS_CONFIG' }));
  });
});

describe('policy: composition retry -> pool -> breaker -> timeout', () => {
  it('retries timed-out attempts, each one a breaker call and a pool slot', async () => {
    vi.useFakeTimers();
    const obs = make({ clock: () => Date.now() });
    let n = 0;
    const policy = obs.policy({
      name: 'llm',
      timeout: 100,
      retry: { maxAttempts: 3, baseDelayMs: 10, random: () => 0 },
      breaker: { volumeThreshold: 10 },
      pool: { concurrency: 2, queue: 2 },
    });
    const ask = policy.wrap((q: string) => (n++ < 2 ? new Promise<string>(() => {}) : Promise.resolve(`A:${q}`)));
    const p = ask('hi');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await p).toBe('A:hi');
    const exp = await scrape(obs);
    expect(getValue(exp, 'agentobs_circuit_breaker_calls_total', { breaker: 'llm', outcome: 'timeout' })).toBe(2);
    expect(getValue(exp, 'agentobs_circuit_breaker_calls_total', { breaker: 'llm', outcome: 'success' })).toBe(1);
    expect(getHistogram(exp, 'agentobs_retry_attempts', { kind: 'policy', name: 'llm' }).sum).toBe(3);
    expect(getHistogram(exp, 'agentobs_pool_wait_time_seconds', { pool: 'llm' }).count).toBe(3);
    expect(policy.pool?.active).toBe(0);
  });

  it('stops retrying once the breaker opens, skips the queue while open, and serves the fallback once', async () => {
    vi.useFakeTimers();
    const obs = make({ clock: () => Date.now() });
    const calls: number[] = [];
    const policy = obs.policy({
      name: 'cb',
      retry: { maxAttempts: 5, baseDelayMs: 1, random: () => 0 },
      breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeout: 60_000 },
      pool: { concurrency: 1, queue: 0 },
    });
    const f = policy.wrap(async (x: number): Promise<string> => {
      calls.push(x);
      throw Object.assign(new Error('down'), { status: 503 });
    }, { fallback: (e, x) => (isCircuitOpenError(e) ? `fallback ${x}` : 'other') });
    const p = f(7);
    await vi.advanceTimersByTimeAsync(100);
    expect(await p).toBe('fallback 7');
    expect(calls).toEqual([7, 7]); // attempt 3 hit the open breaker and was not retried
    expect(policy.breaker?.state).toBe('open');
    // While open, even with the pool's only slot taken a call is refused by the breaker, not by the queue.
    let release!: () => void;
    const busy = policy.pool!.run(() => new Promise<void>((r) => (release = r)));
    await expect(policy.execute(() => 1)).rejects.toSatisfy(isCircuitOpenError);
    release();
    await busy;
    const exp = await scrape(obs);
    expect(getValue(exp, 'agentobs_circuit_breaker_calls_total', { breaker: 'cb', outcome: 'failure' })).toBe(2);
    expect(getValue(exp, 'agentobs_circuit_breaker_calls_total', { breaker: 'cb', outcome: 'rejected_open' })).toBe(2);
    expect(getValue(exp, 'agentobs_circuit_breaker_calls_total', { breaker: 'cb', outcome: 'fallback' })).toBe(1);
    expect(getValue(exp, 'agentobs_pool_rejections_total', { pool: 'cb', reason: 'queue_full' })).toBe(0);
  });

  it('does not retry a full pool, and does not count it as a breaker failure', async () => {
    const obs = make();
    const policy = obs.policy({ name: 'full', retry: { maxAttempts: 3 }, breaker: { volumeThreshold: 1 }, pool: { concurrency: 1 } });
    let release!: () => void;
    const first = policy.execute(() => new Promise<void>((r) => (release = r)));
    await Promise.resolve();
    await expect(policy.execute(() => 1)).rejects.toSatisfy((e: unknown) => isPoolRejectedError(e) && e.reason === 'queue_full');
    release();
    await first;
    const exp = await scrape(obs);
    expect(getValue(exp, 'agentobs_circuit_breaker_calls_total', { breaker: 'full', outcome: 'failure' })).toBe(0);
    expect(policy.breaker?.state).toBe('closed');
  });

  it('honours the caller signal across queue, backoff and attempt, without serving the fallback', async () => {
    vi.useFakeTimers();
    const obs = make();
    const policy = obs.policy({ name: 'ab', retry: { maxAttempts: 5, baseDelayMs: 10_000, random: () => 0.5 }, timeout: 60_000 });
    const ac = new AbortController();
    let attempts = 0;
    const p = policy.execute(async () => {
      attempts++;
      throw Object.assign(new Error('x'), { status: 500 });
    }, { signal: ac.signal, fallback: () => 'fb' });
    await vi.advanceTimersByTimeAsync(10);
    const reason = new Error('user left');
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(attempts).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('shares a pool handle between policies', async () => {
    const obs = make();
    const pool = obs.pool('shared', { concurrency: 1, queue: 10 });
    const a = obs.policy({ name: 'a', pool });
    const b = obs.policy({ name: 'b', pool });
    const order: string[] = [];
    await Promise.all([a.execute(async () => order.push('a')), b.execute(async () => order.push('b'))]);
    expect(order).toEqual(['a', 'b']);
    a.dispose();
    expect(await b.execute(() => 'still')).toBe('still');
    expect(pool.active).toBe(0);
  });

  it('rejects bad options with ConfigError and registers nothing', async () => {
    const obs = make();
    const bad: unknown[] = [
      {},
      { name: 'x', timeout: 0 },
      { name: 'x', retry: { maxAttempts: 0 } },
      { name: 'x', breaker: { cache: true } },
      { name: 'x', breaker: { fallback: () => 1 } },
      { name: 'x', pool: { concurrency: 0 } },
    ];
    for (const o of bad) {
      let err: unknown;
      try {
        obs.policy(o as never);
      } catch (e) {
        err = e;
      }
      expect(isConfigError(err), JSON.stringify(o)).toBe(true);
    }
    expect(obs.breakers()).toEqual([]);
    obs.policy({ name: 'x', breaker: {}, pool: { concurrency: 1 } });
    expect(() => obs.policy({ name: 'x', breaker: {} })).toThrow(/breaker name/);
  });
});

describe('policy: transparency (property)', () => {
  it('returns the same value, rejects with the same error object, keeps this and arguments', async () => {
    const obs = make();
    const policy = obs.policy({ name: 'prop', timeout: 10_000, retry: { maxAttempts: 1 }, breaker: { volumeThreshold: 1_000_000 }, pool: { concurrency: 4, queue: 1_000 } });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.anything(), { maxLength: 5 }),
        fc.anything(),
        fc.boolean(),
        fc.boolean(),
        async (args, value, fail, sync) => {
          const thisArg = { marker: Symbol('this') };
          const error = fail ? Object.assign(new Error('e'), { status: 400 }) : undefined;
          const seenThis: unknown[] = [];
          let seenArgs: unknown[] = [];
          const fn = function (this: unknown, ...a: unknown[]): unknown {
            seenThis.push(this);
            seenArgs = a;
            if (error !== undefined) {
              if (sync) throw error;
              return Promise.reject(error);
            }
            return sync ? value : Promise.resolve(value);
          };
          const wrapped = policy.wrap(fn);
          const settled = await wrapped.apply(thisArg, args as never).then((v) => ({ v }), (e: unknown) => ({ e }));
          expect(seenThis).toHaveLength(1);
          expect(seenThis[0]).toBe(thisArg);
          expect(seenArgs).toEqual(args);
          expect(seenArgs.every((a, i) => Object.is(a, args[i]))).toBe(true);
          if (error !== undefined) expect((settled as { e: unknown }).e).toBe(error);
          else expect(Object.is((settled as { v: unknown }).v, value) || (value !== null && typeof value === 'object' && 'then' in value)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
    expect(policy.breaker?.state).toBe('closed');
  });
});
