/**
 * Timeout as a policy layer: the call gets its own AbortSignal (linked to the caller's),
 * aborted with a {@link TimeoutError} when the time is up; the returned promise rejects
 * with that error at once (recorded as `error_type="timeout"` by any enclosing
 * instrumentation, and as outcome `timeout` by an enclosing breaker). The timer and the
 * listener are removed as soon as the call settles.
 */
import { optionsObject, timerMs } from '../../catalog/validate.js';
import { TimeoutError } from '../../errors.js';
import { abortReason, assertTimers, defaultTimers, invoke, type CallContext, type Layer, type Timers } from '../shared.js';

/** Options of `obs.timeout(fn, options)` (and of a policy's `timeout`). */
export interface TimeoutOptions {
  /** The limit in milliseconds (> 0). */
  readonly ms: number;
  /** Timer functions; inject in tests (vitest fake timers also work with the default). */
  readonly timers?: Timers;
}

/**
 * The context handed to the inner call. Its AbortController is created on first read of
 * `signal`: wrapped functions that never see a signal skip that cost on every call.
 */
class TimedCall implements CallContext {
  private controller: AbortController | undefined;
  private reason: unknown;

  constructor(readonly attempt: number) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/** Validates timeout options (milliseconds, or `{ ms, timers }`) and returns the layer. */
export function readTimeout(raw: unknown, path: string): Layer {
  if (typeof raw === 'number') return timeoutLayer(timerMs(raw, path), defaultTimers);
  const o = optionsObject(raw, path);
  return timeoutLayer(timerMs(o.ms, `${path}.ms`), assertTimers(o.timers, `${path}.timers`) ?? defaultTimers);
}

function timeoutLayer(ms: number, timers: Timers): Layer {
  return <R>(call: CallContext, next: (call: CallContext) => Promise<R>): Promise<R> => {
    const parent = call.signal;
    if (parent?.aborted === true) return Promise.reject(abortReason(parent));
    const inner = new TimedCall(call.attempt);
    return new Promise<R>((resolve, reject) => {
      let done = false;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        timers.clearTimeout(timer);
        parent?.removeEventListener('abort', onParentAbort);
        return true;
      };
      const onParentAbort = (): void => {
        if (!finish()) return;
        const reason = abortReason(parent as AbortSignal);
        inner.abort(reason);
        reject(reason);
      };
      const timer = timers.setTimeout(() => {
        if (!finish()) return;
        const err = new TimeoutError(ms);
        inner.abort(err);
        reject(err);
      }, ms);
      parent?.addEventListener('abort', onParentAbort, { once: true });
      invoke(() => next(inner)).then(
        (v) => {
          if (finish()) resolve(v);
        },
        (e: unknown) => {
          if (finish()) reject(e);
        },
      );
    });
  };
}
