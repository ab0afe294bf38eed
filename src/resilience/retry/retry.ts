/**
 * Retry with capped exponential backoff and full jitter (delay = random() * min(max,
 * base * 2^(n-1))), an attempt limit, an overall deadline, a retryable predicate and
 * `Retry-After`. The final error is rethrown as the same object, so the caller sees the
 * provider's own error (status, headers) rather than a wrapper; `agentobs_retry_exhausted_total`
 * tells operators when retries ran out. Attempts per call go to `agentobs_retry_attempts`.
 */
import { retryAttempts, retryExhausted } from '../../catalog/metrics.js';
import { boolean, func, intIn, nonEmptyString, nonNegative, optionalFunc, optionsObject, timerMs } from '../../catalog/validate.js';
import { ConfigError, isAgentObservabilityError, isCircuitOpenError, isTimeoutError } from '../../errors.js';
import type { CounterFamily, CounterSeries, HistogramFamily, HistogramSeries } from '../../metrics/store.js';
import { retryAfterMs, statusOf } from '../http.js';
import { readField } from '../../internal/read.js';
import type { AnyFunction } from '../../instrument/handles.js';
import { lazy, type ResilienceScope } from '../scope.js';
import { assertTimers, defaultTimers, layered, sleep, type CallContext, type Guarded, type Layer, type Timers } from '../shared.js';

/** Details handed to `onRetry` before each wait. */
export interface RetryEvent {
  /** The attempt that just failed (1 = the first call). */
  readonly attempt: number;
  readonly error: unknown;
  /** How long we wait before the next attempt. */
  readonly delayMs: number;
}

/** Options of `obs.retry(fn, options)` (and of a policy's `retry`). */
export interface RetryOptions {
  /** The `name` label of the retry metrics. */
  readonly name: string;
  /** The `kind` label (what is retried: `llm`, `tool`, `http`…). @default 'call' */
  readonly kind?: string;
  /** Attempts in total, the first call included (1 = no retry). @default 3 */
  readonly maxAttempts?: number;
  /** Backoff base: the cap of the first wait. @default 200 */
  readonly baseDelayMs?: number;
  /** Cap of any backoff wait. @default 10000 */
  readonly maxDelayMs?: number;
  /**
   * Overall deadline from the first attempt: no attempt starts, and no wait is begun, that
   * would end past it (in-flight attempts are bounded by a timeout, not by this). @default none
   */
  readonly deadlineMs?: number;
  /**
   * Whether an error may be retried. @default {@link defaultRetryable}: not our rejections
   * (open circuit, full pool, spent budget) or aborts, not 4xx other than 408/429; yes otherwise.
   * A {@link CircuitOpenError} is never retried, whatever this returns.
   */
  readonly retryable?: (error: unknown, attempt: number) => boolean;
  /** Wait what the server's `Retry-After` / `retry-after-ms` asks (at least). @default true */
  readonly respectRetryAfter?: boolean;
  /** A `Retry-After` longer than this gives up at once instead of waiting. @default 60000 */
  readonly maxRetryAfterMs?: number;
  /** Called before each wait (e.g. to log); errors it throws are counted in diag and ignored. */
  readonly onRetry?: (event: RetryEvent) => void;
  /** Random source in [0, 1) for the jitter; inject in tests. @default Math.random */
  readonly random?: () => number;
  /** Timer functions; inject in tests (vitest fake timers also work with the default). */
  readonly timers?: Timers;
}

/**
 * The default retry predicate. Never retries our own rejections (an open circuit breaker,
 * a full pool, a spent token budget) or aborts; retries timeouts; for errors with an HTTP
 * status (`status`, `statusCode` or `response.status`) retries 408, 429 and 5xx only;
 * retries everything else (network errors and the like).
 */
export function defaultRetryable(error: unknown): boolean {
  if (isTimeoutError(error)) return true;
  if (isAgentObservabilityError(error)) return false;
  if (readField(error, 'name') === 'AbortError') return false;
  const status = statusOf(error);
  if (status === undefined) return true;
  return status === 408 || status === 429 || status >= 500;
}

export interface RetryDeps {
  readonly attempts: HistogramFamily;
  readonly exhausted: CounterFamily;
  readonly clock: () => number;
  readonly diag: { error(component: string, e: unknown): void };
}

interface Settings {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly deadlineMs: number | undefined;
  readonly retryable: (error: unknown, attempt: number) => boolean;
  readonly respectRetryAfter: boolean;
  readonly maxRetryAfterMs: number;
  readonly onRetry: ((event: RetryEvent) => void) | undefined;
  readonly random: () => number;
  readonly timers: Timers;
}

/** Validates retry options; `path` prefixes error messages. */
function readRetryOptions(raw: unknown, path: string, defaultName?: string): { name: string; kind: string; settings: Settings } {
  const o = optionsObject(raw, path);
  const name = nonEmptyString(o.name ?? defaultName, `${path}.name`);
  const kind = o.kind === undefined ? 'call' : nonEmptyString(o.kind, `${path}.kind`);
  const baseDelayMs = nonNegative(o.baseDelayMs, `${path}.baseDelayMs`, 200);
  const maxDelayMs = nonNegative(o.maxDelayMs, `${path}.maxDelayMs`, 10_000);
  if (maxDelayMs < baseDelayMs) throw new ConfigError(`${path}.maxDelayMs`, `a number >= baseDelayMs (${baseDelayMs})`, maxDelayMs);
  const respectRetryAfter = boolean(o.respectRetryAfter, `${path}.respectRetryAfter`, true);
  return {
    name,
    kind,
    settings: {
      maxAttempts: intIn(o.maxAttempts, `${path}.maxAttempts`, 1, 100, 3),
      baseDelayMs,
      maxDelayMs,
      deadlineMs: o.deadlineMs === undefined ? undefined : timerMs(o.deadlineMs, `${path}.deadlineMs`),
      retryable: optionalFunc(o.retryable as Settings['retryable'] | undefined, `${path}.retryable`) ?? defaultRetryable,
      respectRetryAfter,
      maxRetryAfterMs: nonNegative(o.maxRetryAfterMs, `${path}.maxRetryAfterMs`, 60_000),
      onRetry: optionalFunc(o.onRetry as Settings['onRetry'], `${path}.onRetry`),
      random: optionalFunc(o.random as Settings['random'] | undefined, `${path}.random`) ?? Math.random,
      timers: assertTimers(o.timers, `${path}.timers`) ?? defaultTimers,
    },
  };
}

/** The retries of one root handle: their families, registered with the first retry. */
export class Retries {
  private readonly deps: () => RetryDeps;

  constructor(scope: ResilienceScope) {
    const k = scope.kernel;
    this.deps = lazy((): RetryDeps => ({ attempts: k.histogram(retryAttempts), exhausted: k.counter(retryExhausted), clock: k.clock, diag: k.diag }));
  }

  /** `obs.retry(fn, options)`. */
  wrap<F extends AnyFunction>(fn: F, options: RetryOptions): Guarded<F> {
    func(fn, 'retry(fn)');
    return layered(fn, this.read(options, 'retry options')().layer);
  }

  /** Validates retry options (nothing is registered yet); the returned function builds the retry. */
  read(raw: unknown, path: string, defaultName?: string, defaultKind?: string): () => Retry {
    const o = defaultKind !== undefined && typeof raw === 'object' && raw !== null && (raw as { kind?: unknown }).kind === undefined ? { ...raw, kind: defaultKind } : raw;
    const { name, kind, settings } = readRetryOptions(o, path, defaultName);
    return () => new Retry(name, kind, settings, this.deps());
  }
}

/** Retry as a policy layer, with its series bound once. */
export class Retry {
  private readonly attemptsSeries: HistogramSeries;
  private readonly exhaustedSeries: CounterSeries;
  readonly layer: Layer;

  constructor(
    readonly name: string,
    readonly kind: string,
    private readonly s: Settings,
    private readonly deps: RetryDeps,
  ) {
    this.attemptsSeries = deps.attempts.child([kind, name]);
    this.exhaustedSeries = deps.exhausted.child([kind, name]);
    this.layer = (call, next) => this.run(call, next);
  }

  private async run<R>(call: CallContext, next: (call: CallContext) => Promise<R>): Promise<R> {
    const { s } = this;
    const signal = call.signal;
    const deadline = s.deadlineMs === undefined ? Infinity : this.now() + s.deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await next(attempt === call.attempt ? call : { signal, attempt });
        this.attemptsSeries.observe(attempt);
        return r;
      } catch (error) {
        let delay: number | undefined;
        try {
          delay = this.delayFor(error, attempt, signal, deadline);
        } catch (e) {
          // Classifying a hostile error failed: give up and rethrow the very value thrown.
          this.deps.diag.error('retry', e);
          delay = undefined;
        }
        if (delay === undefined) {
          this.attemptsSeries.observe(attempt);
          throw error;
        }
        this.notify({ attempt, error, delayMs: delay });
        try {
          await sleep(delay, signal, s.timers);
        } catch (abort) {
          this.attemptsSeries.observe(attempt);
          throw abort;
        }
      }
    }
  }

  /** The wait before the next attempt, or undefined to give up (counting exhaustion when retries ran out). */
  private delayFor(error: unknown, attempt: number, signal: AbortSignal | undefined, deadline: number): number | undefined {
    const { s } = this;
    // An open breaker fails fast by design: retrying it only spins, whatever the predicate says.
    if (signal?.aborted === true || isCircuitOpenError(error)) return undefined;
    let retry: boolean;
    try {
      retry = s.retryable(error, attempt) === true;
    } catch (e) {
      this.deps.diag.error('retry', e);
      retry = defaultRetryable(error);
    }
    if (!retry) return undefined;
    if (attempt >= s.maxAttempts) return this.exhaust();
    const cap = Math.min(s.maxDelayMs, s.baseDelayMs * 2 ** (attempt - 1));
    let delay = cap * this.jitter();
    if (s.respectRetryAfter) {
      const ra = retryAfterMs(error);
      if (ra !== undefined) {
        if (ra > s.maxRetryAfterMs) return this.exhaust();
        delay = Math.max(delay, ra);
      }
    }
    if (this.now() + delay > deadline) return this.exhaust();
    return delay;
  }

  private exhaust(): undefined {
    this.exhaustedSeries.value += 1;
    return undefined;
  }

  private jitter(): number {
    try {
      const r = this.s.random();
      return r >= 0 && r < 1 ? r : Math.random();
    } catch (e) {
      this.deps.diag.error('retry', e);
      return Math.random();
    }
  }

  private now(): number {
    const t = this.deps.clock();
    return Number.isFinite(t) ? t : 0;
  }

  private notify(event: RetryEvent): void {
    if (this.s.onRetry === undefined) return;
    try {
      this.s.onRetry(event);
    } catch (e) {
      this.deps.diag.error('retry', e);
    }
  }

  dispose(): void {
    this.deps.attempts.remove(this.attemptsSeries);
    this.deps.exhausted.remove(this.exhaustedSeries);
  }
}
