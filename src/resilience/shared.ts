/**
 * Pieces shared by the resilience policies: the guarded-function type, injectable timers,
 * abortable sleep, and the timers option check.
 */
import { ConfigError } from '../errors.js';
import type { AnyFunction } from '../instrument/handles.js';
import type { ExemplarLabels } from '../internal/span-hook.js';
import type { HistogramSeries } from '../metrics/store.js';

/**
 * What a resilience wrapper returns for `fn`: same `this` and parameters, and a promise of
 * the same (awaited) result. Sync functions become async, since waiting (queue, backoff,
 * timeout) is the point of these wrappers.
 */
export type Guarded<F extends AnyFunction> = (this: ThisParameterType<F>, ...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>;

/** Timer functions; inject fakes in tests. The default resolves the globals at call time, so vitest's fake timers apply. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const defaultTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};

/** Per-call context handed to `execute` callbacks. */
export interface CallContext {
  /** Aborted when the caller aborts, the timeout fires, or the pool gives up on the call. */
  readonly signal: AbortSignal | undefined;
  /** 1 for the first attempt, 2 for the first retry… */
  readonly attempt: number;
}

/** One layer of a policy: runs `next` (the rest of the chain) under its rule. */
export type Layer = <R>(call: CallContext, next: (call: CallContext) => Promise<R>) => Promise<R>;

/** Calls `fn` and turns a synchronous throw into a rejection (same error object). */
export function invoke<R>(fn: () => R | PromiseLike<R>): Promise<R> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** The reason an aborted signal carries (an `AbortError` DOMException unless the caller gave one). */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first; leaves no timer or listener behind. */
export function sleep(ms: number, signal: AbortSignal | undefined, timers: Timers): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      timers.clearTimeout(handle);
      reject(abortReason(signal as AbortSignal));
    };
    const handle = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Observes `v`, with an exemplar (stamped now) when the active span gave one. */
export function observeWith(series: HistogramSeries, v: number, exemplar: ExemplarLabels | undefined): void {
  if (exemplar === undefined) series.observe(v);
  else series.observeWithExemplar(v, exemplar, Date.now() / 1000);
}

/** `fn` behind one layer (`obs.retry`, `obs.timeout`): same `this` and arguments, a promise of the same result. */
export function layered<F extends AnyFunction>(fn: F, layer: Layer): Guarded<F> {
  const call = fn as unknown as (this: unknown, ...args: unknown[]) => unknown;
  return nameLike(function (this: unknown, ...args: unknown[]) {
    return layer({ signal: undefined, attempt: 1 }, () => invoke(() => call.apply(this, args)));
  }, fn) as unknown as Guarded<F>;
}

/** Copies `fn`'s name and length onto its wrapper (stack traces and introspection stay familiar). */
export function nameLike<W extends AnyFunction>(wrapper: W, fn: AnyFunction): W {
  Object.defineProperty(wrapper, 'name', { value: fn.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: fn.length, configurable: true });
  return wrapper;
}

// ── option validation (the generic checkers are in catalog/validate.ts) ─────────────────

/** Injected timers: an object with both functions, or `undefined` for the defaults. */
export function assertTimers(v: unknown, path: string): Timers | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || typeof (v as Timers).setTimeout !== 'function' || typeof (v as Timers).clearTimeout !== 'function') {
    throw new ConfigError(path, 'an object with setTimeout and clearTimeout functions', v);
  }
  return v as Timers;
}
