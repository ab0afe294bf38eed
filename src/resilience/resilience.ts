/**
 * The resilience capability of the root handle: builds breakers, pools, retries,
 * timeouts, policies, rate-limit recording and token budgets from the catalog-bound
 * families in `ObsContext`, owns their name registries, and releases everything on
 * `obs.shutdown()`. Families are created on first use, so an unused capability
 * registers nothing.
 */
import {
  breakerCallDuration, breakerCalls, breakerFailureRatio, breakerState, breakerTransitions, llmThrottled, poolLimit,
  poolRejections, poolUsage, poolUtilization, poolWaitTime, rateLimitHeadersInvalid, rateLimitLimit, rateLimitRemaining,
  rateLimitUtilization, retryAttempts, retryExhausted, tokenBudgetLimit, tokenBudgetUsage, tokenBudgetUtilization,
} from '../catalog/metrics.js';
import { ConfigError } from '../errors.js';
import type { AnyFunction } from '../instrument/handles.js';
import type { Kernel } from '../internal/kernel.js';
import type { TraceContext } from '../internal/span-hook.js';
import { MeteredBreaker, type BreakerDeps, type BreakerInfo, type CircuitBreakerHandle, type CircuitBreakerOptions } from './breaker/breaker.js';
import { BreakerRegistry, createCircuitBreaker, opossumOptions, readBreakerCommon } from './breaker/factory.js';
import type { HeadersLike } from './http.js';
import { carrierAction, checkPolicyBreakerOptions, createPolicy, type PolicyHandle, type PolicyOptions } from './policy/policy.js';
import { Pool, type PoolDeps, type PoolHandle, type PoolOptions } from './pool/pool.js';
import { RateLimitRecorder } from './rate-limit/recorder.js';
import { Retry, readRetryOptions, type RetryDeps, type RetryOptions } from './retry/retry.js';
import { func, intIn, nonEmptyString, optionsObject, timerMs } from '../catalog/validate.js';
import { assertTimers, defaultTimers, invoke, nameLike, type Guarded } from './shared.js';
import { timeoutLayer, type TimeoutOptions } from './timeout/timeout.js';
import { TokenBudget, readBudgetOptions, type BudgetDeps, type TokenBudgetHandle, type TokenBudgetOptions } from './token-budget/token-budget.js';

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

function lazy<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}

export function createResilience(ctx: Kernel, trace: TraceContext): ResilienceApi {
  const breakers = new BreakerRegistry();
  const pools = new Map<string, Pool>();
  const poolOf = new WeakMap<PoolHandle, Pool>();
  const budgets = new Map<string, TokenBudget>();
  const disposers = new Set<{ dispose(): void }>();
  let closed = false;

  const breakerDeps = lazy((): BreakerDeps => {
    const ratio = ctx.gauge(breakerFailureRatio);
    ctx.onCollect(ratio, () => {
      for (const b of breakers.all()) {
        try {
          b.refreshRatio();
        } catch (e) {
          ctx.diag.error('breaker', e);
        }
      }
    });
    return {
      state: ctx.gauge(breakerState),
      transitions: ctx.counter(breakerTransitions),
      calls: ctx.counter(breakerCalls),
      duration: ctx.histogram(breakerCallDuration),
      ratio,
      diag: ctx.diag,
      logger: ctx.logger,
      correlationId: trace.correlationId,
      exemplar: trace.activeExemplar,
      released: (b) => {
        breakers.release(b);
        disposers.delete(b);
      },
    };
  });
  const poolDeps = lazy(
    (): PoolDeps => ({
      usage: ctx.gauge(poolUsage),
      limit: ctx.gauge(poolLimit),
      utilization: ctx.gauge(poolUtilization),
      wait: ctx.histogram(poolWaitTime),
      rejections: ctx.counter(poolRejections),
      clock: ctx.clock,
      exemplar: trace.activeExemplar,
      timers: defaultTimers,
      released: (p) => {
        if (pools.get(p.name) === p) pools.delete(p.name);
        disposers.delete(p);
      },
    }),
  );
  const retryDeps = lazy((): RetryDeps => ({ attempts: ctx.histogram(retryAttempts), exhausted: ctx.counter(retryExhausted), clock: ctx.clock, diag: ctx.diag }));
  const budgetDeps = lazy((): BudgetDeps => {
    const usage = ctx.gauge(tokenBudgetUsage);
    // Roll idle windows at scrape time too, so a budget nobody used since shows 0, not stale usage.
    ctx.onCollect(usage, () => {
      for (const b of budgets.values()) b.roll();
    });
    return {
      usage,
      limit: ctx.gauge(tokenBudgetLimit),
      utilization: ctx.gauge(tokenBudgetUtilization),
      clock: ctx.clock,
      diag: ctx.diag,
      released: (b) => {
        if (budgets.get(b.name) === b) budgets.delete(b.name);
        disposers.delete(b);
      },
    };
  });
  const rateLimits = lazy(
    () =>
      new RateLimitRecorder({
        limit: ctx.gauge(rateLimitLimit),
        remaining: ctx.gauge(rateLimitRemaining),
        utilization: ctx.gauge(rateLimitUtilization),
        throttled: ctx.counter(llmThrottled),
        invalid: ctx.counter(rateLimitHeadersInvalid),
        diag: ctx.diag,
      }),
  );

  ctx.onShutdown(() => {
    closed = true;
    for (const d of [...disposers]) {
      try {
        d.dispose();
      } catch (e) {
        ctx.diag.error('resilience', e);
      }
    }
    disposers.clear();
  });

  const open = (what: string): void => {
    if (closed) throw new ConfigError(what, 'a handle that is not shut down', 'shutdown() already called');
  };

  /** Validates pool options (nothing is registered yet). */
  function readPool(name: string, raw: unknown, path: string): () => Pool {
    const o = optionsObject(raw, path);
    if (pools.has(name)) throw new ConfigError(`${path} name`, 'a pool name not used by another live pool', name);
    const concurrency = intIn(o.concurrency, `${path}.concurrency`, 1, 1_000_000);
    const queue = intIn(o.queue, `${path}.queue`, 0, Infinity, 0);
    const queueTimeoutMs = o.queueTimeoutMs === undefined ? undefined : timerMs(o.queueTimeoutMs, `${path}.queueTimeoutMs`);
    return () => {
      const p = new Pool(name, concurrency, queue, queueTimeoutMs, poolDeps());
      pools.set(name, p);
      disposers.add(p);
      return p;
    };
  }

  /** Validates retry options (nothing is registered yet). */
  function readRetry(o: unknown, path: string, defaultName?: string, defaultKind?: string): () => Retry {
    const withKind = defaultKind !== undefined && typeof o === 'object' && o !== null && (o as { kind?: unknown }).kind === undefined ? { ...o, kind: defaultKind } : o;
    const { name, kind, settings } = readRetryOptions(withKind, path, defaultName);
    return () => new Retry(name, kind, settings, retryDeps());
  }

  function readTimeout(raw: unknown, path: string): { ms: number; timers: typeof defaultTimers } {
    if (typeof raw === 'number') return { ms: timerMs(raw, path), timers: defaultTimers };
    const o = optionsObject(raw, path);
    return { ms: timerMs(o.ms, `${path}.ms`), timers: assertTimers(o.timers, `${path}.timers`) ?? defaultTimers };
  }

  return {
    circuitBreaker(fn, options) {
      open('circuitBreaker');
      const [handle, b] = createCircuitBreaker(breakerDeps, breakers, fn, options);
      disposers.add(b);
      return handle;
    },
    breakers: () => breakers.all().map((b) => b.info()),
    pool(name, options) {
      open('pool');
      const p = readPool(nonEmptyString(name, 'pool(name)'), options, 'pool options')();
      const h = p.handle();
      poolOf.set(h, p);
      return h;
    },
    retry(fn, options) {
      open('retry');
      func(fn, 'retry(fn)');
      const r = readRetry(options, 'retry options')();
      const call = fn as unknown as (this: unknown, ...args: unknown[]) => unknown;
      const layer = r.layer;
      return nameLike(function (this: unknown, ...args: unknown[]) {
        return layer({ signal: undefined, attempt: 1 }, () => invoke(() => call.apply(this, args)));
      }, fn) as unknown as Guarded<typeof fn>;
    },
    timeout(fn, options) {
      open('timeout');
      func(fn, 'timeout(fn)');
      const { ms, timers } = readTimeout(options, 'timeout options');
      const layer = timeoutLayer(ms, timers);
      const call = fn as unknown as (this: unknown, ...args: unknown[]) => unknown;
      return nameLike(function (this: unknown, ...args: unknown[]) {
        return layer({ signal: undefined, attempt: 1 }, () => invoke(() => call.apply(this, args)));
      }, fn) as unknown as Guarded<typeof fn>;
    },
    policy(options) {
      open('policy');
      optionsObject(options, 'policy options');
      const name = nonEmptyString(options.name, 'policy options.name');
      const path = 'policy options';
      // Validate every part before building any, so a bad option leaves nothing registered.
      const timeout = options.timeout === undefined ? undefined : readTimeout(options.timeout, `${path}.timeout`);
      let breakerOpts: { opts: ReturnType<typeof opossumOptions>; logTransitions: boolean } | undefined;
      if (options.breaker !== undefined) {
        const bo = optionsObject(options.breaker, `${path}.breaker`);
        checkPolicyBreakerOptions(bo, `${path}.breaker`);
        const { logTransitions } = readBreakerCommon(bo, `${path}.breaker`);
        // Our timeout layer bounds each attempt (and aborts it); opossum's would only race it.
        breakerOpts = { opts: opossumOptions({ timeout: false, ...bo }, `${path}.breaker`), logTransitions };
        breakers.claim(name, `${path}.name (its breaker)`);
      }
      let sharedPool: { pool: Pool; handle: PoolHandle } | undefined;
      let makePool: (() => Pool) | undefined;
      const po = options.pool as unknown;
      if (po !== undefined) {
        const shared = typeof po === 'object' && po !== null ? poolOf.get(po as PoolHandle) : undefined;
        if (shared !== undefined) sharedPool = { pool: shared, handle: po as PoolHandle };
        else makePool = readPool(name, po, `${path}.pool`);
      }
      const makeRetry = options.retry === undefined ? undefined : readRetry(options.retry, `${path}.retry`, name, 'policy');

      const retry = makeRetry?.();
      let pool: { pool: Pool; handle: PoolHandle; owned: boolean } | undefined;
      if (sharedPool !== undefined) pool = { ...sharedPool, owned: false };
      else if (makePool !== undefined) {
        const p = makePool();
        const h = p.handle();
        poolOf.set(h, p);
        pool = { pool: p, handle: h, owned: true };
      }
      let breaker: MeteredBreaker | undefined;
      if (breakerOpts !== undefined) {
        breaker = new MeteredBreaker(name, carrierAction, breakerOpts.opts, breakerDeps(), undefined, breakerOpts.logTransitions);
        breakers.add(breaker);
        disposers.add(breaker);
      }
      const self = { dispose: (): void => handle.dispose() };
      const handle = createPolicy({
        name,
        retry,
        pool,
        breaker,
        timeout: timeout === undefined ? undefined : timeoutLayer(timeout.ms, timeout.timers),
        released: () => disposers.delete(self),
      });
      disposers.add(self);
      return handle;
    },
    recordRateLimit(provider, model, headers, status) {
      if (closed) return;
      rateLimits().record(provider, model, headers, status);
    },
    tokenBudget(name, options) {
      open('tokenBudget');
      const n = nonEmptyString(name, 'tokenBudget(name)');
      const { limits, windowMs } = readBudgetOptions(options, 'tokenBudget options');
      if (budgets.has(n)) throw new ConfigError('tokenBudget(name)', 'a budget name not used by another live budget', n);
      const b = new TokenBudget(n, limits, windowMs, budgetDeps());
      budgets.set(n, b);
      disposers.add(b);
      return b.handle();
    },
  };
}
