/**
 * `obs.policy(options)`: one wrapper that composes the policies in a fixed order,
 * outermost first:
 *
 *   fallback → retry → pool (bulkhead) → circuit breaker → timeout → fn
 *
 * Why this order (the issue suggested breaker outside retry; this one is the usual order
 * of Polly and resilience4j, and fits LLM calls better):
 * - Retry outermost: its deadline covers everything, queue waits included; a backoff
 *   sleep holds no pool slot; each attempt is one breaker call, so the breaker sees the
 *   real failure rate (not one failure per exhausted retry loop) and, once it opens, the
 *   next attempt fails fast with CircuitOpenError, which is never retried.
 * - Pool outside the breaker: a full queue is local saturation, not a dependency failure,
 *   so it must not trip the breaker. While the circuit is open, calls skip the queue and
 *   are rejected at once instead of waiting for a slot only to be refused.
 * - Timeout inside the breaker: a timed-out attempt counts as breaker outcome `timeout`;
 *   inside the pool, so queue time does not eat into the attempt's time.
 * - Fallback outermost: served once, after retries, for any failure including rejections
 *   (open circuit, full queue), and counted as breaker outcome `fallback`. A fallback inside
 *   the retry loop would turn every failed attempt into a success and stop retries.
 */
import { func, nonEmptyString, optionsObject } from '../../catalog/validate.js';
import type { AnyFunction } from '../../instrument/handles.js';
import type { BreakerInfo, BreakerState, Carrier, CircuitBreakerOptions, MeteredBreaker } from '../breaker/breaker.js';
import type { Breakers } from '../breaker/factory.js';
import type { Pool, PoolHandle, PoolOptions } from '../pool/pool.js';
import type { Pools } from '../pool/pools.js';
import type { Retries, Retry, RetryOptions } from '../retry/retry.js';
import type { ResilienceScope } from '../scope.js';
import { invoke, nameLike, type CallContext, type Guarded, type Layer } from '../shared.js';
import { readTimeout, type TimeoutOptions } from '../timeout/timeout.js';

/** Options of `obs.policy(options)`. Every part is optional; absent parts are not in the chain. */
export interface PolicyOptions {
  /** Names the policy's breaker, pool (when created here) and retry series. */
  readonly name: string;
  /** Per-attempt timeout: milliseconds, or timeout options. */
  readonly timeout?: number | TimeoutOptions;
  /** Retry options (`name` defaults to the policy's, `kind` to `'policy'`). */
  readonly retry?: Omit<RetryOptions, 'name'> & { readonly name?: string };
  /**
   * Circuit-breaker options (opossum's, named after the policy). opossum's own `timeout`
   * defaults to off here (use `timeout`); `cache`/`coalesce` need `obs.circuitBreaker`.
   */
  readonly breaker?: Omit<CircuitBreakerOptions, 'name' | 'fallback'>;
  /** A pool to share (from `obs.pool`), or options for a pool of the policy's own. */
  readonly pool?: PoolHandle | PoolOptions;
}

/** Options of one `execute`. */
export interface PolicyExecuteOptions<R> {
  /** Cancels the call: queued calls leave the queue, backoff waits end, `ctx.signal` aborts. */
  readonly signal?: AbortSignal;
  /** Served when the whole chain fails (not when the caller aborted). */
  readonly fallback?: (error: unknown) => R | PromiseLike<R>;
}

/** Options of `wrap`. */
export interface PolicyWrapOptions<F extends AnyFunction> {
  /** Served when the whole chain fails; receives the error, then the call's arguments. */
  readonly fallback?: (error: unknown, ...args: Parameters<F>) => Awaited<ReturnType<F>> | PromiseLike<Awaited<ReturnType<F>>>;
}

/** The policy's breaker, for state and manual control. */
export interface PolicyBreaker {
  readonly name: string;
  readonly state: BreakerState;
  open(): void;
  close(): void;
  info(): BreakerInfo;
}

/** A composed resilience policy. */
export interface PolicyHandle {
  readonly name: string;
  /** The breaker, when the policy has one. */
  readonly breaker: PolicyBreaker | undefined;
  /** The pool, when the policy has one. */
  readonly pool: PoolHandle | undefined;
  /**
   * Runs `fn` through the chain; `fn` gets the attempt number and an AbortSignal that fires
   * on the caller's abort or the timeout (pass it to your HTTP client).
   * @example
   * const text = await llmPolicy.execute(({ signal }) => client.chat(prompt, { signal }), { signal: req.signal });
   */
  execute<R>(fn: (call: CallContext) => R | PromiseLike<R>, options?: PolicyExecuteOptions<Awaited<R>>): Promise<Awaited<R>>;
  /**
   * Wraps `fn`: same `this`, arguments, result and error object (unless the fallback serves).
   * @example const ask = llmPolicy.wrap(callModel, { fallback: () => 'The assistant is busy, try again.' });
   */
  wrap<F extends AnyFunction>(fn: F, options?: PolicyWrapOptions<F>): Guarded<F>;
  /** Disposes the breaker, the pool (if the policy created it) and the retry series. Idempotent. */
  dispose(): void;
}

/** The parts a policy is built from, validated and constructed by {@link buildPolicy}. */
interface PolicyParts {
  readonly name: string;
  readonly retry: Retry | undefined;
  readonly pool: { readonly pool: Pool; readonly handle: PoolHandle; readonly owned: boolean } | undefined;
  readonly breaker: MeteredBreaker | undefined;
  readonly timeout: Layer | undefined;
  /** Called once, by the first `dispose()`. */
  readonly released: (h: PolicyHandle) => void;
}

/** What `obs.policy` builds a policy's own parts with: the root handle's breakers, pools and retries. */
export interface PolicyMakers {
  readonly breakers: Breakers;
  readonly pools: Pools;
  readonly retries: Retries;
}

/**
 * `obs.policy(options)`. Every part is validated before any is built, so a bad option
 * leaves nothing registered.
 */
export function buildPolicy(scope: ResilienceScope, makers: PolicyMakers, options: PolicyOptions): PolicyHandle {
  const path = 'policy options';
  const o = optionsObject(options, path);
  const name = nonEmptyString(o.name, `${path}.name`);
  const timeout = o.timeout === undefined ? undefined : readTimeout(o.timeout, `${path}.timeout`);
  const makeBreaker = o.breaker === undefined ? undefined : makers.breakers.forPolicy(o.breaker, `${path}.breaker`, name, `${path}.name (its breaker)`);
  const shared = makers.pools.shared(o.pool);
  const makePool = o.pool === undefined || shared !== undefined ? undefined : makers.pools.read(name, o.pool, `${path}.pool`);
  const makeRetry = o.retry === undefined ? undefined : makers.retries.read(o.retry, `${path}.retry`, name, 'policy');

  const retry = makeRetry?.();
  let pool: PolicyParts['pool'];
  if (shared !== undefined) pool = { pool: shared, handle: o.pool as PoolHandle, owned: false };
  else if (makePool !== undefined) {
    const p = makePool();
    pool = { pool: p, handle: makers.pools.handleOf(p), owned: true };
  }
  const breaker = makeBreaker?.();
  const handle = createPolicy({ name, retry, pool, breaker, timeout, released: (h) => scope.untrack(h) });
  scope.track(handle);
  return handle;
}

function createPolicy(parts: PolicyParts): PolicyHandle {
  const { retry, pool, breaker, timeout } = parts;
  const layers: Layer[] = [];
  if (retry !== undefined) layers.push(retry.layer);
  if (pool !== undefined) {
    const p = pool.pool;
    layers.push((call, next) =>
      // An open circuit rejects at once: no point waiting for a slot to be refused.
      breaker !== undefined && !breaker.disposed && breaker.opossum.opened ? next(call) : p.run(() => next(call), call.signal),
    );
  }
  if (breaker !== undefined) {
    layers.push(<R>(call: CallContext, next: (call: CallContext) => Promise<R>) =>
      breaker.disposed ? next(call) : (breaker.run({ call, next } satisfies Carrier, []) as Promise<R>),
    );
  }
  if (timeout !== undefined) layers.push(timeout);

  function chain<R>(call: CallContext, inner: (call: CallContext) => Promise<R>): Promise<R> {
    let next = inner;
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i] as Layer;
      const n = next;
      next = (c) => layer(c, n);
    }
    return next(call);
  }

  function withFallback<R>(p: Promise<R>, signal: AbortSignal | undefined, fallback: ((e: unknown) => R | PromiseLike<R>) | undefined): Promise<R> {
    if (fallback === undefined) return p;
    return p.catch((e: unknown) => {
      // The caller gave up: no fallback for nobody.
      if (signal?.aborted === true) throw e;
      if (breaker !== undefined && !breaker.disposed) breaker.countFallback();
      return fallback(e);
    });
  }

  let disposed = false;
  const breakerView: PolicyBreaker | undefined =
    breaker === undefined
      ? undefined
      : {
          name: breaker.name,
          get state() {
            return breaker.state;
          },
          open: () => breaker.opossum.open(),
          close: () => breaker.opossum.close(),
          info: () => breaker.info(),
        };

  const handle: PolicyHandle = {
    name: parts.name,
    breaker: breakerView,
    pool: pool?.handle,
    execute(fn, options) {
      func(fn, `policy(${JSON.stringify(parts.name)}).execute(fn)`);
      const signal = options?.signal;
      return withFallback(
        chain({ signal, attempt: 1 }, (c) => invoke(() => fn(c))) as Promise<Awaited<never>>,
        signal,
        options?.fallback as ((e: unknown) => never) | undefined,
      );
    },
    wrap<F extends AnyFunction>(fn: F, options?: PolicyWrapOptions<F>): Guarded<F> {
      func(fn, `policy(${JSON.stringify(parts.name)}).wrap(fn)`);
      const fb = options?.fallback as ((e: unknown, ...args: unknown[]) => unknown) | undefined;
      if (fb !== undefined) func(fb, `policy(${JSON.stringify(parts.name)}).wrap options.fallback`);
      const call = fn as unknown as (this: unknown, ...args: unknown[]) => unknown;
      return nameLike(function (this: unknown, ...args: unknown[]): Promise<unknown> {
        const p = chain({ signal: undefined, attempt: 1 }, () => invoke(() => call.apply(this, args)));
        return fb === undefined ? p : withFallback(p, undefined, (e) => fb(e, ...args));
      }, fn) as unknown as Guarded<F>;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      breaker?.dispose();
      if (pool?.owned === true) pool.pool.dispose();
      retry?.dispose();
      parts.released(handle);
    },
  };
  return handle;
}
