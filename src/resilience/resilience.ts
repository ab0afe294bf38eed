/**
 * The resilience capability of the root handle: one part per policy kind (breakers, pools,
 * retries, budgets, rate limits; timeouts and policies are built from them), all from one
 * {@link ResilienceScope} that disposes what is live on `obs.shutdown()`. Each part
 * registers its families on first use, so an unused one registers nothing.
 */
import { func } from '../catalog/validate.js';
import type { AnyFunction } from '../instrument/handles.js';
import type { Kernel } from '../internal/kernel.js';
import type { TraceContext } from '../internal/span-hook.js';
import { Breakers } from './breaker/factory.js';
import type { BreakerInfo, CircuitBreakerHandle, CircuitBreakerOptions } from './breaker/breaker.js';
import type { HeadersLike } from './http.js';
import { buildPolicy, type PolicyHandle, type PolicyOptions } from './policy/policy.js';
import type { PoolHandle, PoolOptions } from './pool/pool.js';
import { Pools } from './pool/pools.js';
import { RateLimits } from './rate-limit/recorder.js';
import { Retries, type RetryOptions } from './retry/retry.js';
import { ResilienceScope } from './scope.js';
import { layered, type Guarded } from './shared.js';
import { readTimeout, type TimeoutOptions } from './timeout/timeout.js';
import { Budgets, type TokenBudgetHandle, type TokenBudgetOptions } from './token-budget/token-budget.js';

/** The resilience methods of the root handle (`Observability` extends this). */
export interface ResilienceApi {
  /**
   * A metered circuit breaker (opossum 9) around `fn`. Every opossum option passes through;
   * state, transitions, calls by outcome, durations and the rolling failure ratio are
   * exported. Names are unique among live breakers ({@link ConfigError} otherwise).
   * @example
   * const llm = obs.circuitBreaker(callModel, { name: 'llm', resetTimeout: 30_000, fallback: () => CANNED });
   * const answer = await llm.fire(prompt);
   */
  circuitBreaker<F extends AnyFunction>(fn: F, options?: CircuitBreakerOptions<F>): CircuitBreakerHandle<F>;
  /** State and rolling counts of every live breaker (policies' included). */
  breakers(): readonly BreakerInfo[];
  /**
   * A metered concurrency pool (bulkhead). Names are unique among live pools.
   * @example
   * const llmPool = obs.pool('llm', { concurrency: 5, queue: 20, queueTimeoutMs: 10_000 });
   * const answer = await llmPool.run(() => callModel(prompt), { signal });
   */
  pool(name: string, options: PoolOptions): PoolHandle;
  /**
   * Wraps `fn` with retries (exponential backoff, full jitter, deadline, `Retry-After`).
   * `this`, arguments, result and the final error object pass through.
   * @example const ask = obs.retry(callModel, { name: 'llm', kind: 'llm', maxAttempts: 4, deadlineMs: 30_000 });
   */
  retry<F extends AnyFunction>(fn: F, options: RetryOptions): Guarded<F>;
  /**
   * Wraps `fn` with a timeout: the promise rejects with a {@link TimeoutError}
   * (`error_type="timeout"`) when `ms` pass first. To also cancel the work, use
   * `obs.policy({ name, timeout: ms }).execute(({ signal }) => fn(signal))`.
   * @example const ask = obs.timeout(callModel, { ms: 20_000 });
   */
  timeout<F extends AnyFunction>(fn: F, options: TimeoutOptions): Guarded<F>;
  /**
   * Composes retry → pool → circuit breaker → timeout (outermost first; fallback outside
   * them all) into one transparent wrapper; see `PolicyHandle`.
   * @example
   * const llmPolicy = obs.policy({
   *   name: 'llm', timeout: 20_000, retry: { maxAttempts: 3, kind: 'llm' },
   *   breaker: { errorThresholdPercentage: 50, resetTimeout: 30_000 }, pool: { concurrency: 5, queue: 20 },
   * });
   * const ask = llmPolicy.wrap(callModel, { fallback: () => 'busy, try again' });
   */
  policy(options: PolicyOptions): PolicyHandle;
  /**
   * Records provider saturation from response headers (OpenAI, Anthropic, IETF draft and
   * `x-ratelimit-*`; see docs) into limit/remaining/utilization gauges; a `status` of 429
   * counts as throttled. Accepts fetch `Headers`, Maps or plain objects. Never throws.
   * @example
   * const { data, response } = await openai.chat.completions.create(req).withResponse();
   * obs.recordRateLimit('openai', req.model, response.headers, response.status);
   */
  recordRateLimit(provider: string, model: string, headers: HeadersLike | null | undefined, status?: number): void;
  /**
   * A token budget over fixed windows (no timers). Names are unique among live budgets.
   * @example
   * const daily = obs.tokenBudget('support', { limit: { input: 2e6, output: 5e5 }, windowMs: 86_400_000 });
   */
  tokenBudget(name: string, options: TokenBudgetOptions): TokenBudgetHandle;
}

/** Builds the capability from the kernel and the trace context (log lines and exemplars of breakers and pools). */
export function createResilience(kernel: Kernel, trace: TraceContext): ResilienceApi {
  const scope = new ResilienceScope(kernel, trace);
  const breakers = new Breakers(scope);
  const pools = new Pools(scope);
  const retries = new Retries(scope);
  const budgets = new Budgets(scope);
  const rateLimits = new RateLimits(scope);
  const makers = { breakers, pools, retries };

  return {
    circuitBreaker: (fn, options) => breakers.create(fn, options),
    breakers: () => breakers.info(),
    pool: (name, options) => pools.create(name, options),
    retry: (fn, options) => retries.wrap(fn, options),
    timeout(fn, options) {
      func(fn, 'timeout(fn)');
      return layered(fn, readTimeout(options, 'timeout options'));
    },
    policy: (options) => buildPolicy(scope, makers, options),
    recordRateLimit: (provider, model, headers, status) => rateLimits.record(provider, model, headers, status),
    tokenBudget: (name, options) => budgets.create(name, options),
  };
}
