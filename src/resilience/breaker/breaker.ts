/**
 * Metered circuit breaker on opossum 9. opossum does the breaking (all its options pass
 * through); we listen to every event it emits and write pre-bound series:
 *
 *   success / failure / timeout / semaphoreLocked / reject / cacheHit / coalesceCacheHit
 *       -> agentobs_circuit_breaker_calls_total{outcome} (exactly one per call) and, for calls
 *          that ran, agentobs_circuit_breaker_call_duration_seconds{outcome}
 *   fallback -> calls_total{outcome="fallback"} (besides the call's own outcome)
 *   open / halfOpen / close -> state gauge 0/1, transitions_total{from,to}, a span event and a log line
 *   (fire, cacheMiss, coalesceCacheMiss precede one of the above; healthCheckFailed is followed by open;
 *    shutdown is ours: the series are removed)
 *
 * opossum emits `failure` for timeouts and capacity rejections too; those are counted once,
 * under `timeout` / `rejected_capacity`. Rejections opossum creates are replaced by our typed
 * errors (CircuitOpenError, TimeoutError, CircuitCapacityError); errors thrown by the
 * guarded function pass through as the same object.
 */
import type { EventEmitter } from 'node:events';
import { trace } from '@opentelemetry/api';
import CircuitBreaker from 'opossum';
import { CircuitCapacityError, CircuitOpenError, TimeoutError, isTimeoutError } from '../../errors.js';
import type { AnyFunction } from '../../instrument/handles.js';
import type { Diag, DiagLogger } from '../../internal/diag.js';
import type { ExemplarLabels } from '../../internal/span-hook.js';
import type { CounterFamily, CounterSeries, GaugeFamily, GaugeSeries, HistogramFamily, HistogramSeries } from '../../metrics/store.js';
import { observeWith, type CallContext, type Guarded } from '../shared.js';

/** Circuit states, as exported in the `state` label. */
export type BreakerState = 'closed' | 'open' | 'half_open';
export const BREAKER_STATES: readonly BreakerState[] = Object.freeze(['closed', 'open', 'half_open']);

/** Values of the `outcome` label of `agentobs_circuit_breaker_calls_total`. */
export type BreakerOutcome = 'success' | 'failure' | 'timeout' | 'rejected_open' | 'rejected_capacity' | 'cache_hit' | 'fallback';
const OUTCOMES: readonly BreakerOutcome[] = ['success', 'failure', 'timeout', 'rejected_open', 'rejected_capacity', 'cache_hit', 'fallback'];

/** opossum's own options (all pass through), typed by the guarded function's parameters. */
export type OpossumOptions<F extends AnyFunction = AnyFunction> = Omit<CircuitBreaker.Options<Parameters<F>>, 'name' | 'group'>;

/**
 * Options of `obs.circuitBreaker`: every opossum option (`timeout`, `resetTimeout`,
 * `errorThresholdPercentage`, `volumeThreshold`, `capacity`, `errorFilter`, `cache`…, with
 * opossum's defaults) plus the ones below.
 */
export interface CircuitBreakerOptions<F extends AnyFunction = AnyFunction> extends OpossumOptions<F> {
  /**
   * The `breaker` label and the key in `obs.breakers()`; unique per handle.
   * @default the function's name (anonymous functions need one)
   */
  readonly name?: string;
  /**
   * Served instead of an error when the call fails, times out or is rejected (open circuit,
   * capacity). Receives the error first (our typed error for rejections), then the call's
   * arguments. Counted as outcome `fallback`.
   */
  readonly fallback?: (error: unknown, ...args: Parameters<F>) => Awaited<ReturnType<F>> | PromiseLike<Awaited<ReturnType<F>>>;
  /** Log each state change (with the active trace id, if any) to the handle's logger. @default true */
  readonly logTransitions?: boolean;
}

/** A breaker's state and rolling counts, as listed by `obs.breakers()`. */
export interface BreakerInfo {
  readonly name: string;
  readonly state: BreakerState;
  /** Failures divided by calls over opossum's rolling window (0 when there were none). */
  readonly failureRatio: number;
  readonly stats: {
    readonly fires: number;
    readonly successes: number;
    readonly failures: number;
    readonly timeouts: number;
    readonly rejects: number;
    readonly fallbacks: number;
  };
}

/** A metered circuit breaker around one function. */
export interface CircuitBreakerHandle<F extends AnyFunction = AnyFunction> {
  readonly name: string;
  /** The current state. */
  readonly state: BreakerState;
  /**
   * The guarded function: `this` and arguments pass through to `fn`, the result (or
   * fallback) comes back as a promise, and `fn`'s errors reject with the same object.
   */
  readonly fn: Guarded<F>;
  /** Calls the guarded function (with `this` undefined). */
  fire(...args: Parameters<F>): Promise<Awaited<ReturnType<F>>>;
  /** Forces the circuit open (counted as a transition). */
  open(): void;
  /** Forces the circuit closed (counted as a transition). */
  close(): void;
  /** State and rolling counts. */
  info(): BreakerInfo;
  /**
   * The underlying opossum breaker, for what we do not wrap (`healthCheck`, extra listeners).
   * Do not call its `shutdown()`: use {@link CircuitBreakerHandle.dispose}.
   */
  readonly opossum: CircuitBreaker;
  /**
   * Shuts the opossum breaker down (no timer or listener is left) and removes this
   * breaker's series; the name becomes free again. Afterwards calls go straight to `fn`,
   * unprotected and unrecorded. Idempotent; `obs.shutdown()` does it for every breaker.
   */
  dispose(): void;
}

/** The families and channels a breaker writes to. */
export interface BreakerDeps {
  readonly state: GaugeFamily;
  readonly transitions: CounterFamily;
  readonly calls: CounterFamily;
  readonly duration: HistogramFamily;
  readonly ratio: GaugeFamily;
  readonly diag: Diag;
  readonly logger: DiagLogger | undefined;
  /** The correlation ID of the current context, for transition log lines. */
  readonly correlationId?: () => string | undefined;
  /** Exemplar labels of the active sampled span, for call durations. */
  readonly exemplar?: () => ExemplarLabels | undefined;
  /** Called once from dispose(). */
  readonly released: (b: MeteredBreaker) => void;
}

type OpossumError = Error & { code?: unknown };

/**
 * The engine shared by `obs.circuitBreaker` and `obs.policy`: an opossum breaker whose
 * events are metered into series bound here, once.
 */
export class MeteredBreaker {
  readonly opossum: CircuitBreaker;
  state: BreakerState;
  disposed = false;
  private readonly calls: Readonly<Record<BreakerOutcome, CounterSeries>>;
  private readonly durations: Readonly<Record<'success' | 'failure' | 'timeout', HistogramSeries>>;
  private readonly states: Readonly<Record<BreakerState, GaugeSeries>>;
  private readonly ratio: GaugeSeries;
  private readonly transitions = new Map<string, CounterSeries>();
  private readonly timeoutMs: number;

  constructor(
    readonly name: string,
    action: (...args: never[]) => unknown,
    options: CircuitBreaker.Options,
    private readonly deps: BreakerDeps,
    fallback: ((error: unknown, ...args: unknown[]) => unknown) | undefined,
    private readonly logTransitions: boolean,
  ) {
    const b = name;
    this.calls = Object.fromEntries(OUTCOMES.map((o) => [o, deps.calls.child([b, o])])) as Record<BreakerOutcome, CounterSeries>;
    this.durations = {
      success: deps.duration.child([b, 'success']),
      failure: deps.duration.child([b, 'failure']),
      timeout: deps.duration.child([b, 'timeout']),
    };
    this.states = Object.fromEntries(BREAKER_STATES.map((s) => [s, deps.state.child([b, s])])) as Record<BreakerState, GaugeSeries>;
    this.ratio = deps.ratio.child([b]);

    const o = new CircuitBreaker(action as (...args: unknown[]) => Promise<unknown>, { ...options, ...guardedErrorFilter(options.errorFilter, deps.diag), name });
    this.opossum = o;
    // opossum's default timeout is 10 s; `false` turns it off.
    this.timeoutMs = options.timeout === false ? 0 : (options.timeout ?? 10_000);
    // opossum hands every failure (and only failures) to its fallback, as (...args, error), and
    // rejects with whatever the fallback throws. So the fallback is where opossum's own
    // rejections become our typed errors: without a fallback of the caller's it rethrows
    // (opossum then emits no 'fallback' and counts none), and a successful call pays for no
    // extra promise. Ours takes (error, ...args) with our typed errors.
    o.fallback((...a: unknown[]) => {
      const err = this.mapError(a.pop());
      if (fallback === undefined) throw err;
      return fallback(err, ...a);
    });
    this.state = o.halfOpen ? 'half_open' : o.opened ? 'open' : 'closed';
    for (const s of BREAKER_STATES) this.states[s].set(s === this.state ? 1 : 0);
    this.listen(o);
  }

  private listen(breaker: CircuitBreaker): void {
    const { calls, durations } = this;
    const { diag } = this.deps;
    // opossum emits in the caller's async context, so the active span is the caller's.
    const ex = this.deps.exemplar;
    const observe: (s: HistogramSeries, v: number) => void =
      ex === undefined ? (s, v) => void s.observe(v) : (s, v) => observeWith(s, v, ex());
    // opossum's typings omit some event arguments (latency on timeout) and events (coalesceCacheHit).
    const o = breaker as unknown as EventEmitter;
    // Hot path: a field add and a bucket scan per event; opossum measures latency (ms) itself.
    o.on('success', (_r: unknown, latencyMs: number) => {
      calls.success.value += 1;
      observe(durations.success, latencyMs / 1000);
    });
    o.on('failure', (err: unknown, latencyMs: number) => {
      try {
        if (isOurs(err)) {
          // Counted by their own events (timeout, semaphoreLocked); opossum reports them as failures too.
          const code = (err as OpossumError).code;
          if (code === 'ETIMEDOUT' || code === 'ESEMLOCKED') return;
        }
        if (isTimeoutError(err)) {
          calls.timeout.value += 1;
          observe(durations.timeout, latencyMs / 1000);
          return;
        }
        calls.failure.value += 1;
        observe(durations.failure, latencyMs / 1000);
      } catch (e) {
        diag.error('breaker', e);
      }
    });
    o.on('timeout', (_err: unknown, latencyMs: number) => {
      calls.timeout.value += 1;
      observe(durations.timeout, latencyMs / 1000);
    });
    o.on('reject', () => void (calls.rejected_open.value += 1));
    o.on('semaphoreLocked', () => void (calls.rejected_capacity.value += 1));
    o.on('cacheHit', () => void (calls.cache_hit.value += 1));
    o.on('coalesceCacheHit', () => void (calls.cache_hit.value += 1));
    o.on('fallback', () => void (calls.fallback.value += 1));
    o.on('open', () => this.transition('open'));
    o.on('halfOpen', () => this.transition('half_open'));
    o.on('close', () => this.transition('closed'));
  }

  /** Runs one call through opossum (`thisArg` becomes the action's `this`); rejections arrive mapped (see the fallback). */
  run(thisArg: unknown, args: readonly unknown[]): Promise<unknown> {
    return this.opossum.call(thisArg, ...args);
  }

  /** Counts a fallback served outside opossum (the policy's outermost fallback). */
  countFallback(): void {
    this.calls.fallback.value += 1;
  }

  /** opossum's own rejections become our typed errors; anything else is returned as is. */
  mapError(e: unknown): unknown {
    if (!isOurs(e)) return e;
    switch ((e as OpossumError).code) {
      case 'EOPENBREAKER':
        return new CircuitOpenError(this.name);
      case 'ETIMEDOUT':
        return new TimeoutError(this.timeoutMs);
      case 'ESEMLOCKED':
        return new CircuitCapacityError(this.name);
      default:
        return e;
    }
  }

  private transition(to: BreakerState): void {
    try {
      const from = this.state;
      if (from === to) return;
      this.state = to;
      this.states[from].set(0);
      this.states[to].set(1);
      const key = `${from}>${to}`;
      let t = this.transitions.get(key);
      if (t === undefined) {
        t = this.deps.transitions.child([this.name, from, to]);
        this.transitions.set(key, t);
      }
      t.inc();
      this.announce(from, to);
    } catch (e) {
      this.deps.diag.error('breaker', e);
    }
  }

  /**
   * A span event on the active span (the call that tripped it, if any) and one log line with
   * that call's correlation and trace IDs; open -> half_open comes from the reset timer, which
   * runs in the context of the call that opened the circuit, so it carries that call's IDs.
   */
  private announce(from: BreakerState, to: BreakerState): void {
    const span = trace.getActiveSpan();
    span?.addEvent('circuit_breaker.state_change', { 'circuit_breaker.name': this.name, 'circuit_breaker.from': from, 'circuit_breaker.to': to });
    if (!this.logTransitions || this.deps.logger === undefined) return;
    const sc = span?.spanContext();
    const correlationId = this.deps.correlationId?.();
    this.deps.logger.warn(
      {
        component: 'circuit_breaker', breaker: this.name, from, to,
        ...(correlationId === undefined ? {} : { correlation_id: correlationId }),
        ...(sc === undefined ? {} : { trace_id: sc.traceId, span_id: sc.spanId }),
      },
      `circuit breaker "${this.name}" ${from} -> ${to}`,
    );
  }

  /** Sets the failure-ratio gauge from opossum's rolling window (scrape time only). */
  refreshRatio(): void {
    const s = this.opossum.stats;
    this.ratio.set(s.fires > 0 ? s.failures / s.fires : 0);
  }

  info(): BreakerInfo {
    const s = this.opossum.stats;
    return {
      name: this.name,
      state: this.state,
      failureRatio: s.fires > 0 ? s.failures / s.fires : 0,
      stats: { fires: s.fires, successes: s.successes, failures: s.failures, timeouts: s.timeouts, rejects: s.rejects, fallbacks: s.fallbacks },
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    try {
      this.opossum.shutdown();
    } catch (e) {
      this.deps.diag.error('breaker', e);
    }
    const { deps } = this;
    for (const s of Object.values(this.calls)) deps.calls.remove(s);
    for (const s of Object.values(this.durations)) deps.duration.remove(s);
    for (const s of Object.values(this.states)) deps.state.remove(s);
    for (const s of this.transitions.values()) deps.transitions.remove(s);
    deps.ratio.remove(this.ratio);
    deps.released(this);
  }
}

/** opossum's own errors; never throws (`instanceof` runs a Proxy's getPrototypeOf trap). */
function isOurs(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  try {
    return e instanceof Error && CircuitBreaker.isOurError(e);
  } catch {
    return false;
  }
}

/** opossum's action inside a policy: the rest of the chain travels as `this`. */
export interface Carrier {
  readonly call: CallContext;
  readonly next: (call: CallContext) => Promise<unknown>;
}
export function carrierAction(this: Carrier): Promise<unknown> {
  return this.next(this.call);
}

/**
 * The opossum action for a user function. opossum reads `.then` of whatever the action
 * returns (a sync function returning `undefined` would make it throw), so non-async
 * functions are adapted; `async` functions always return a promise and go in as they are.
 */
export function actionFor(fn: AnyFunction): (...args: never[]) => unknown {
  if (fn.constructor.name === 'AsyncFunction') return fn;
  const call = fn as unknown as (this: unknown, ...args: unknown[]) => unknown;
  return function (this: unknown, ...args: unknown[]) {
    const r = call.apply(this, args);
    return r !== null && (typeof r === 'object' || typeof r === 'function') && typeof (r as PromiseLike<unknown>).then === 'function'
      ? r
      : Promise.resolve(r);
  };
}

/**
 * opossum calls `errorFilter` unguarded inside its promise executor: a filter that throws
 * leaves the call pending forever and the error unhandled. A throwing filter counts as "not
 * filtered" (the call is a failure, the caller gets its own error) and as our internal error.
 */
function guardedErrorFilter(filter: CircuitBreaker.Options['errorFilter'], diag: Diag): Pick<CircuitBreaker.Options, 'errorFilter'> {
  if (filter === undefined) return {};
  const f = filter as (error: unknown, ...args: unknown[]) => unknown;
  return {
    errorFilter: (error: unknown, ...args: unknown[]): boolean => {
      try {
        return Boolean(f(error, ...args));
      } catch (e) {
        diag.error('breaker', e);
        return false;
      }
    },
  };
}
