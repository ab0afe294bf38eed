import { describe, expectTypeOf, it } from 'vitest';
import {
  createObservability, isCircuitOpenError, type BreakerState, type CallContext, type CircuitBreakerHandle, type CircuitOpenError,
  type PoolHandle, type TokenBudgetHandle,
} from 'agent-observability';

const obs = createObservability({ runtimeMetrics: false, logger: false });

describe('resilience types', () => {
  it('guarded functions keep parameters and this, and return a promise of the awaited result', () => {
    const search = async (query: string, limit?: number): Promise<string[]> => [query].slice(0, limit);
    const cb = obs.circuitBreaker(search, { name: 'search' });
    expectTypeOf(cb).toEqualTypeOf<CircuitBreakerHandle<typeof search>>();
    expectTypeOf(cb.fn).parameters.toEqualTypeOf<[string, number?]>();
    expectTypeOf(cb.fire('q')).toEqualTypeOf<Promise<string[]>>();
    expectTypeOf(cb.state).toEqualTypeOf<BreakerState>();
    function add(this: { base: number }, x: number): number {
      return this.base + x;
    }
    const retried = obs.retry(add, { name: 'add' });
    expectTypeOf(retried).thisParameter.toEqualTypeOf<{ base: number }>();
    expectTypeOf(retried).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(obs.timeout(add, { ms: 10 })).returns.toEqualTypeOf<Promise<number>>();
    // @ts-expect-error: arguments are checked
    cb.fire(42);
  });

  it('the breaker fallback sees the error and the call arguments, and must return the result type', () => {
    obs.circuitBreaker(async (q: string) => q.length, {
      name: 'len',
      fallback: (error, q) => {
        expectTypeOf(error).toEqualTypeOf<unknown>();
        expectTypeOf(q).toEqualTypeOf<string>();
        return 0;
      },
    });
    // @ts-expect-error: a fallback of the wrong type
    obs.circuitBreaker(async (q: string) => q.length, { name: 'bad', fallback: () => 'zero' });
  });

  it('policies, pools and budgets', () => {
    const policy = obs.policy({ name: 'llm', timeout: 1_000, retry: { maxAttempts: 2 }, pool: { concurrency: 2 } });
    expectTypeOf(policy.execute(({ signal, attempt }) => {
      expectTypeOf(signal).toEqualTypeOf<AbortSignal | undefined>();
      expectTypeOf(attempt).toEqualTypeOf<number>();
      return Promise.resolve('x');
    })).toEqualTypeOf<Promise<string>>();
    expectTypeOf<CallContext['attempt']>().toEqualTypeOf<number>();
    expectTypeOf(policy.wrap(async (n: number) => n * 2)).toEqualTypeOf<(this: unknown, n: number) => Promise<number>>();
    expectTypeOf(obs.pool('p', { concurrency: 1 })).toEqualTypeOf<PoolHandle>();
    expectTypeOf(obs.tokenBudget('b', { limit: 10, windowMs: 1_000 })).toEqualTypeOf<TokenBudgetHandle>();
    const e: unknown = null;
    if (isCircuitOpenError(e)) expectTypeOf(e).toEqualTypeOf<CircuitOpenError>();
    // @ts-expect-error: pool options need a concurrency
    obs.pool('q', {});
  });
});
