import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getHistogram, getValue, parseExposition } from '../../../test/helpers/exposition.js';
import { CircuitOpenError, PoolRejectedError, TimeoutError } from '../../errors.js';
import { createObservability, type Observability } from '../../observability.js';
import type { RetryEvent, RetryOptions } from './retry.js';
import { defaultRetryable } from './retry.js';

let obs: Observability;
beforeEach(() => {
  vi.useFakeTimers();
  obs = createObservability({ runtimeMetrics: false, logger: false, clock: () => Date.now() });
});
afterEach(async () => {
  await obs.shutdown();
  vi.useRealTimers();
});

const httpError = (status: number, headers?: unknown): Error => Object.assign(new Error(`HTTP ${status}`), { status, headers });

/** A function failing with `errors` in turn, then returning 'ok'; records call times. */
function scripted(errors: unknown[]): { fn: () => Promise<string>; at: number[] } {
  const at: number[] = [];
  let i = 0;
  return {
    at,
    fn: async () => {
      at.push(Date.now());
      if (i < errors.length) throw errors[i++];
      return 'ok';
    },
  };
}

async function run<T>(p: Promise<T>): Promise<{ ok: T } | { err: unknown }> {
  const settled = p.then((ok) => ({ ok }), (err: unknown) => ({ err }));
  // Not runAllTimers: opossum keeps an interval running, so "all timers" never ends.
  await vi.advanceTimersByTimeAsync(600_000);
  return settled;
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  return getValue(parseExposition((await obs.metrics()).body, 'prometheus'), name, labels);
}

describe('retry: backoff', () => {
  it('waits random() * min(maxDelayMs, baseDelayMs * 2^(n-1)) before retry n (full jitter)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 0, max: 0.999, noNaN: true }), fc.integer({ min: 1, max: 500 }), async (r, base) => {
        const delays: number[] = [];
        const s = scripted([httpError(503), httpError(503), httpError(503), httpError(503)]);
        const f = obs.retry(s.fn, { name: 'bounds', maxAttempts: 5, baseDelayMs: base, maxDelayMs: base * 4, random: () => r, onRetry: (e) => delays.push(e.delayMs) });
        expect(await run(f())).toEqual({ ok: 'ok' });
        const caps = [base, base * 2, base * 4, base * 4];
        expect(delays).toHaveLength(4);
        delays.forEach((d, i) => {
          expect(d).toBeCloseTo(r * (caps[i] as number), 6);
          expect(d).toBeLessThanOrEqual(caps[i] as number);
        });
        // The waits really happened: each attempt starts no earlier than the previous plus its delay.
        for (let i = 1; i < s.at.length; i++) expect((s.at[i] as number) - (s.at[i - 1] as number)).toBeGreaterThanOrEqual(Math.floor(delays[i - 1] as number));
      }),
      { numRuns: 25 },
    );
  });

  it('records attempts per call and exhaustion, rethrowing the last error object itself', async () => {
    const last = httpError(502);
    const s = scripted([httpError(500), httpError(503), last]);
    const f = obs.retry(s.fn, { name: 'llm', kind: 'llm', maxAttempts: 3, baseDelayMs: 10, random: () => 0.5 });
    expect(await run(f())).toEqual({ err: last });
    expect(s.at).toHaveLength(3);
    expect(await metric('agentobs_retry_exhausted_total', { kind: 'llm', name: 'llm' })).toBe(1);
    const ok = obs.retry(scripted([httpError(500)]).fn, { name: 'llm', kind: 'llm', baseDelayMs: 10 });
    expect(await run(ok())).toEqual({ ok: 'ok' });
    const h = getHistogram(parseExposition((await obs.metrics()).body, 'prometheus'), 'agentobs_retry_attempts', { kind: 'llm', name: 'llm' });
    expect(h.count).toBe(2);
    expect(h.sum).toBe(3 + 2);
  });
});

describe('retry: deadline', () => {
  it('gives up (counted as exhausted) when the next wait would end past deadlineMs', async () => {
    const errors = Array.from({ length: 10 }, () => httpError(503));
    const s = scripted(errors);
    const f = obs.retry(s.fn, { name: 'dl', maxAttempts: 10, baseDelayMs: 1_000, maxDelayMs: 1_000, random: () => 0.999, deadlineMs: 2_500 });
    const t0 = Date.now();
    let settledAt = NaN;
    const r = await run(f().finally(() => (settledAt = Date.now())));
    expect(r).toEqual({ err: errors[2] });
    // Attempts at ~0, ~999, ~1998; a third wait would end at ~2997 > 2500, so it gives up at once.
    expect(s.at).toHaveLength(3);
    expect((s.at.at(-1) as number) - t0).toBeLessThanOrEqual(2_500);
    expect(settledAt - t0).toBeLessThanOrEqual(2_500);
    expect(await metric('agentobs_retry_exhausted_total', { kind: 'call', name: 'dl' })).toBe(1);
  });
});

describe('retry: Retry-After', () => {
  it.each<[string, unknown, number]>([
    ['delta-seconds in a plain object', { 'Retry-After': '3' }, 3_000],
    ['delta-seconds in fetch Headers', new Headers({ 'retry-after': '2' }), 2_000],
    ['retry-after-ms in a Map', new Map([['retry-after-ms', '1500']]), 1_500],
    ['an HTTP date', { 'retry-after': 'DATE+4' }, 4_000],
  ])('waits at least what the server asks: %s', async (_what, headers, expected) => {
    const h = headers instanceof Headers || headers instanceof Map ? headers : Object.fromEntries(Object.entries(headers as object).map(([k, v]) => [k, v === 'DATE+4' ? new Date(Date.now() + 4_000).toUTCString() : v]));
    const delays: RetryEvent[] = [];
    const s = scripted([httpError(429, h)]);
    const f = obs.retry(s.fn, { name: 'ra', baseDelayMs: 10, random: () => 0, onRetry: (e) => delays.push(e) });
    expect(await run(f())).toEqual({ ok: 'ok' });
    // HTTP dates have whole seconds: up to 1 s less than asked.
    expect(delays[0]?.delayMs).toBeGreaterThan(expected - 1_000);
    expect(delays[0]?.delayMs).toBeLessThanOrEqual(expected);
    expect((s.at[1] as number) - (s.at[0] as number)).toBeGreaterThanOrEqual(expected - 1_000);
  });

  it('reads headers from err.response.headers too, and gives up when Retry-After exceeds maxRetryAfterMs', async () => {
    const err = Object.assign(new Error('slow down'), { response: { status: 429, headers: { 'retry-after': '120' } } });
    const s = scripted([err]);
    const f = obs.retry(s.fn, { name: 'long', maxRetryAfterMs: 60_000 });
    expect(await run(f())).toEqual({ err });
    expect(s.at).toHaveLength(1);
  });

  it('gives up when Retry-After would pass the deadline', async () => {
    const err = httpError(429, { 'retry-after': '10' });
    const s = scripted([err]);
    const f = obs.retry(s.fn, { name: 'radl', deadlineMs: 5_000 });
    expect(await run(f())).toEqual({ err });
    expect(s.at).toHaveLength(1);
  });
});

describe('retry: what is retried', () => {
  it('never retries an open circuit breaker, even when the predicate says yes', async () => {
    const b = obs.circuitBreaker(async () => 'x', { name: 'open-one', timeout: false });
    b.open();
    const spy = vi.fn(b.fn);
    const f = obs.retry(spy, { name: 'cb', maxAttempts: 5, retryable: () => true });
    const r = await run(f());
    expect('err' in r && r.err instanceof CircuitOpenError).toBe(true);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it.each<[string, unknown, boolean]>([
    ['400', httpError(400), false],
    ['404 via statusCode', Object.assign(new Error(), { statusCode: 404 }), false],
    ['408', httpError(408), true],
    ['429', httpError(429), true],
    ['500', httpError(500), true],
    ['503 via response.status', { response: { status: 503 } }, true],
    ['a network error', Object.assign(new Error('reset'), { code: 'ECONNRESET' }), true],
    ['a TimeoutError', new TimeoutError(10), true],
    ['a CircuitOpenError', new CircuitOpenError('b'), false],
    ['a PoolRejectedError', new PoolRejectedError('p', 'queue_full'), false],
    ['an AbortError', new DOMException('aborted', 'AbortError'), false],
  ])('default predicate: %s -> %s', (_w, err, expected) => {
    expect(defaultRetryable(err)).toBe(expected);
  });

  it('does not retry a 4xx by default', async () => {
    const err = httpError(401);
    const s = scripted([err]);
    expect(await run(obs.retry(s.fn, { name: 'auth' })())).toEqual({ err });
    expect(s.at).toHaveLength(1);
    expect(await metric('agentobs_retry_exhausted_total', { kind: 'call', name: 'auth' })).toBe(0);
  });
});

describe('retry: transparency and validation', () => {
  it('passes this and arguments to every attempt', async () => {
    const seen: unknown[] = [];
    let n = 0;
    const obj = {
      tag: 'me',
      f: obs.retry(async function (this: { tag: string }, a: number, b: string) {
        seen.push([this.tag, a, b]);
        if (n++ === 0) throw httpError(503);
        return `${a}${b}`;
      }, { name: 'this', baseDelayMs: 1 }),
    };
    expect(await run(obj.f(1, 'x'))).toEqual({ ok: '1x' });
    expect(seen).toEqual([['me', 1, 'x'], ['me', 1, 'x']]);
  });

  it.each<[string, unknown]>([
    ['no name', {}],
    ['maxAttempts 0', { name: 'r', maxAttempts: 0 }],
    ['maxDelayMs below baseDelayMs', { name: 'r', baseDelayMs: 100, maxDelayMs: 10 }],
    ['a non-function retryable', { name: 'r', retryable: true }],
    ['timers without clearTimeout', { name: 'r', timers: { setTimeout } }],
  ])('throws a ConfigError for %s', (_w, o) => {
    expect(() => obs.retry(async () => 1, o as RetryOptions)).toThrow(expect.objectContaining({ code: 'ERR_AGENTOBS_CONFIG' }));
  });

  it('uses injected timers', async () => {
    vi.useRealTimers();
    const waits: number[] = [];
    const timers = { setTimeout: (cb: () => void, ms: number) => (waits.push(ms), queueMicrotask(cb), 0), clearTimeout: () => undefined };
    const f = obs.retry(scripted([httpError(500), httpError(500)]).fn, { name: 'inj', baseDelayMs: 100, random: () => 0.5, timers });
    expect(await f()).toBe('ok');
    expect(waits).toEqual([50, 100]);
  });
});
