import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { isConfigError, isTimeoutError } from '../errors.js';
import { createObservability } from '../observability.js';

/** Active resources as a sorted multiset (type names repeat). */
const resources = (): string[] => [...process.getActiveResourcesInfo()].sort();

describe('obs.shutdown()', () => {
  it('leaves no active resource the library created (runtime collector, breakers, pools, retries, timeouts, budgets)', async () => {
    const before = resources();
    const obs = createObservability({ logger: false });
    const b = obs.circuitBreaker(async (x: number) => x, { name: 'b', resetTimeout: 60_000, timeout: 5_000 });
    await b.fire(1);
    b.open();
    const pool = obs.pool('p', { concurrency: 1, queue: 5, queueTimeoutMs: 60_000 });
    const policy = obs.policy({ name: 'pol', timeout: 60_000, retry: { maxAttempts: 3, baseDelayMs: 1 }, breaker: { volumeThreshold: 5 }, pool: { concurrency: 2 } });
    let n = 0;
    const flaky = policy.wrap(async () => (n++ === 0 ? Promise.reject(new Error('once')) : 'ok'));
    const timed = obs.timeout(async () => 'fast', { ms: 60_000 });
    const retried = obs.retry(async () => 'ok', { name: 'r' });
    await Promise.all([pool.run(async () => 1), pool.run(async () => 2), flaky(), timed(), retried()]);
    obs.tokenBudget('t', { limit: 10, windowMs: 1_000 }).record({ input: 1 });
    obs.recordRateLimit('openai', 'm', { 'x-ratelimit-limit-requests': '10' });
    await obs.metrics();
    await obs.shutdown();
    expect(resources()).toEqual(before);
    expect(b.opossum.isShutdown).toBe(true);
    expect(obs.breakers()).toEqual([]);
    expect(await flaky()).toBe('ok'); // wrappers keep working after shutdown
  });

  it('one rule after it: every factory still returns a working object, nothing is recorded, registered or left running; only listen() refuses', async () => {
    const registry = new Registry();
    const obs = createObservability({ registry, logger: false, slos: [] });
    await obs.shutdown();
    const before = resources();
    const boom = new Error('boom');

    const b = obs.circuitBreaker(async (x: number) => x * 2, { name: 'late', resetTimeout: 60_000 });
    expect(await b.fire(2)).toBe(4);
    const failing = obs.circuitBreaker(async () => Promise.reject(boom), { name: 'late-failing', volumeThreshold: 1 });
    for (let i = 0; i < 5; i++) await expect(failing.fire()).rejects.toBe(boom);
    // Created disposed: a pass-through, like a breaker left over from before shutdown; the name is free again.
    expect(obs.breakers()).toEqual([]);
    expect(await obs.circuitBreaker(async () => 'again', { name: 'late' }).fire()).toBe('again');

    // A disposed pool still limits concurrency, unrecorded (as one disposed before shutdown does).
    const pool = obs.pool('late-pool', { concurrency: 1, queue: 1, queueTimeoutMs: 60_000 });
    const calls = [pool.run(async () => 1), pool.run(async () => 2)];
    const third = pool.run(async () => 3).catch((e: unknown) => e);
    expect(await Promise.all(calls)).toEqual([1, 2]);
    expect((await third) as Error).toMatchObject({ name: 'PoolRejectedError' });

    let n = 0;
    const retried = obs.retry(async () => (n++ < 2 ? Promise.reject(new Error('again')) : 'third'), { name: 'late-retry', maxAttempts: 3, baseDelayMs: 1 });
    expect(await retried()).toBe('third');
    expect(n).toBe(3); // still retries: behaviour stays, only recording stops

    let finished: Promise<void> = Promise.resolve();
    const slow = obs.timeout(() => (finished = new Promise((r) => setTimeout(r, 30))), { ms: 5 });
    const timedOut = await slow().catch((e: unknown) => e);
    expect(isTimeoutError(timedOut)).toBe(true);
    await finished; // the test's own timer, not ours

    const policy = obs.policy({ name: 'late-policy', timeout: 60_000, retry: { maxAttempts: 2, baseDelayMs: 1 }, breaker: {}, pool: { concurrency: 1 } });
    let m = 0;
    expect(await policy.wrap(async () => (m++ === 0 ? Promise.reject(new Error('once')) : 'ok'))()).toBe('ok');

    const budget = obs.tokenBudget('late-budget', { limit: 10, windowMs: 1_000 });
    budget.record({ input: 4 });
    obs.recordRateLimit('openai', 'm', { 'x-ratelimit-limit-requests': '10' });
    expect(obs.instrumentTool((x: number) => x + 1, { tool: 'late-tool' })(1)).toBe(2);
    expect(await obs.tool('late-tool-2').run(async () => 'ran')).toBe('ran');

    // Nothing of it went into the registry, and nothing holds a timer or handle.
    expect(await registry.getMetricsAsJSON()).toEqual([]);
    expect(resources()).toEqual(before);
    const refused = await obs.listen({ port: 0 }).catch((e: unknown) => e);
    expect(isConfigError(refused)).toBe(true);
    expect((refused as Error).message).toBe('listen: expected a handle that is not shut down, got "shutdown() already called"');
    expect(resources()).toEqual(before);
    // Bad options are still refused: shutdown does not make configuration errors silent.
    expect(() => obs.pool('bad', { concurrency: 0 })).toThrow(expect.objectContaining({ code: 'ERR_AGENTOBS_CONFIG' }));
  });
});
