import { describe, expect, it } from 'vitest';
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
    expect(() => obs.pool('late', { concurrency: 1 })).toThrow(expect.objectContaining({ code: 'ERR_AGENTOBS_CONFIG' }));
    expect(await flaky()).toBe('ok'); // wrappers keep working after shutdown
  });
});
