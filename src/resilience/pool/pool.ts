/**
 * Bulkhead: a concurrency pool with a bounded FIFO queue. USE metrics on pre-bound series:
 * usage by state (active, queued), limits, utilization (active / concurrency), queue-wait
 * histogram (0 for calls that started at once, without reading the clock), rejections by
 * reason (queue_full, timeout, aborted).
 */
import { AsyncResource } from 'node:async_hooks';
import { PoolRejectedError } from '../../errors.js';
import type { AnyFunction } from '../../instrument/handles.js';
import type { ExemplarLabels } from '../../internal/span-hook.js';
import type { CounterFamily, CounterSeries, GaugeFamily, GaugeSeries, HistogramFamily, HistogramSeries } from '../../metrics/store.js';
import { func } from '../../catalog/validate.js';
import { abortReason, invoke, nameLike, observeWith, type Guarded, type Timers } from '../shared.js';

/** Options of `obs.pool(name, options)`. */
export interface PoolOptions {
  /** Calls allowed to run at once (a positive integer). */
  readonly concurrency: number;
  /** Calls allowed to wait for a slot; past it calls are rejected with `queue_full`. `Infinity` allowed. @default 0 */
  readonly queue?: number;
  /** Longest a call may wait in the queue before it is rejected with `timeout`. @default no limit */
  readonly queueTimeoutMs?: number;
}

/** Options of one call through a pool. */
export interface PoolRunOptions {
  /** Aborting it removes a queued call (rejected with the signal's reason, counted as `aborted`). */
  readonly signal?: AbortSignal;
}

/** A metered concurrency pool. */
export interface PoolHandle {
  readonly name: string;
  /** Calls running now. */
  readonly active: number;
  /** Calls waiting for a slot now. */
  readonly queued: number;
  /**
   * Runs `fn` when a slot is free. Resolves or rejects with exactly what `fn` does; rejects
   * with {@link PoolRejectedError} when the queue is full or the wait timed out, and with
   * the signal's reason when aborted while queued.
   * @example const answer = await pool.run(() => callModel(prompt), { signal: req.signal });
   */
  run<R>(fn: () => R | PromiseLike<R>, options?: PoolRunOptions): Promise<Awaited<R>>;
  /** Wraps `fn` so every call goes through the pool; `this` and arguments pass through. */
  wrap<F extends AnyFunction>(fn: F): Guarded<F>;
  /**
   * Removes this pool's series and frees its name. The pool keeps limiting concurrency
   * (queued calls still run), unrecorded. Idempotent; `obs.shutdown()` does it for every pool.
   */
  dispose(): void;
}

export interface PoolDeps {
  readonly usage: GaugeFamily;
  readonly limit: GaugeFamily;
  readonly utilization: GaugeFamily;
  readonly wait: HistogramFamily;
  readonly rejections: CounterFamily;
  readonly clock: () => number;
  /** Exemplar labels of the active sampled span, for queue waits. */
  readonly exemplar?: () => ExemplarLabels | undefined;
  readonly timers: Timers;
  readonly released: (p: Pool) => void;
}

interface Waiter {
  readonly start: () => void;
  readonly fail: (e: unknown) => void;
  readonly t0: number;
  /** The waiting call's exemplar, read when it queued: a slot is freed in another call's context. */
  readonly exemplar: ExemplarLabels | undefined;
  next: Waiter | undefined;
  prev: Waiter | undefined;
  timer: unknown;
  cleanup: (() => void) | undefined;
}

export class Pool {
  active = 0;
  queued = 0;
  disposed = false;
  private head: Waiter | undefined;
  private tail: Waiter | undefined;
  private readonly activeSeries: GaugeSeries;
  private readonly queuedSeries: GaugeSeries;
  private readonly utilSeries: GaugeSeries;
  private readonly waitSeries: HistogramSeries;
  private readonly rejected: Readonly<Record<'queue_full' | 'timeout' | 'aborted', CounterSeries>>;
  private readonly limits: readonly GaugeSeries[];
  /** Bound once: runs after every call settles. */
  private readonly release: () => void;

  constructor(
    readonly name: string,
    readonly concurrency: number,
    readonly queueLimit: number,
    readonly queueTimeoutMs: number | undefined,
    private readonly deps: PoolDeps,
  ) {
    this.activeSeries = deps.usage.child([name, 'active']);
    this.queuedSeries = deps.usage.child([name, 'queued']);
    this.utilSeries = deps.utilization.child([name]);
    this.waitSeries = deps.wait.child([name]);
    this.rejected = {
      queue_full: deps.rejections.child([name, 'queue_full']),
      timeout: deps.rejections.child([name, 'timeout']),
      aborted: deps.rejections.child([name, 'aborted']),
    };
    const la = deps.limit.child([name, 'active']);
    const lq = deps.limit.child([name, 'queued']);
    la.set(concurrency);
    lq.set(queueLimit);
    this.limits = [la, lq];
    this.release = () => {
      this.active -= 1;
      const w = this.head;
      if (w !== undefined) {
        this.unlink(w);
        this.active += 1;
        const waited = (this.deps.clock() - w.t0) / 1000;
        // NaN (a failed clock read) fails this test and is skipped.
        if (waited >= 0) observeWith(this.waitSeries, waited, w.exemplar);
        this.publish();
        w.start();
        return;
      }
      this.publish();
    };
  }

  run<R>(fn: () => R | PromiseLike<R>, signal: AbortSignal | undefined): Promise<Awaited<R>> {
    if (signal?.aborted === true) {
      this.rejected.aborted.value += 1;
      return Promise.reject(abortReason(signal));
    }
    if (this.active < this.concurrency) {
      this.active += 1;
      observeWith(this.waitSeries, 0, this.deps.exemplar?.());
      this.publish();
      return this.exec(fn);
    }
    if (this.queued >= this.queueLimit) {
      this.rejected.queue_full.value += 1;
      return Promise.reject(new PoolRejectedError(this.name, 'queue_full'));
    }
    return new Promise<Awaited<R>>((resolve, reject) => {
      const w: Waiter = {
        // A slot is freed in the context of the call that finished: run this one in its own
        // caller's async context (correlation ID, active span), captured now.
        start: AsyncResource.bind(() => {
          w.cleanup?.();
          this.exec(fn).then(resolve, reject);
        }),
        fail: reject,
        t0: this.deps.clock(),
        exemplar: this.deps.exemplar?.(),
        next: undefined,
        prev: undefined,
        timer: undefined,
        cleanup: undefined,
      };
      this.enqueue(w, signal);
    });
  }

  private exec<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
    const p = invoke(fn) as Promise<Awaited<R>>;
    // `finally` keeps the value and the error object as they are.
    return p.finally(this.release);
  }

  private enqueue(w: Waiter, signal: AbortSignal | undefined): void {
    if (this.tail === undefined) this.head = w;
    else {
      this.tail.next = w;
      w.prev = this.tail;
    }
    this.tail = w;
    this.queued += 1;
    this.publish();
    const { timers } = this.deps;
    const onAbort = (): void => this.giveUp(w, 'aborted', abortReason(signal as AbortSignal));
    if (this.queueTimeoutMs !== undefined) {
      w.timer = timers.setTimeout(() => this.giveUp(w, 'timeout', new PoolRejectedError(this.name, 'timeout')), this.queueTimeoutMs);
    }
    if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });
    if (w.timer !== undefined || signal !== undefined) {
      w.cleanup = () => {
        if (w.timer !== undefined) timers.clearTimeout(w.timer);
        signal?.removeEventListener('abort', onAbort);
      };
    }
  }

  private giveUp(w: Waiter, reason: 'timeout' | 'aborted', error: unknown): void {
    w.cleanup?.();
    this.unlink(w);
    this.rejected[reason].value += 1;
    this.publish();
    w.fail(error);
  }

  private unlink(w: Waiter): void {
    if (w.prev === undefined) this.head = w.next;
    else w.prev.next = w.next;
    if (w.next === undefined) this.tail = w.prev;
    else w.next.prev = w.prev;
    w.next = w.prev = undefined;
    this.queued -= 1;
  }

  private publish(): void {
    this.activeSeries.value = this.active;
    this.queuedSeries.value = this.queued;
    this.utilSeries.value = this.active / this.concurrency;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const d = this.deps;
    d.usage.remove(this.activeSeries);
    d.usage.remove(this.queuedSeries);
    d.utilization.remove(this.utilSeries);
    d.wait.remove(this.waitSeries);
    for (const s of Object.values(this.rejected)) d.rejections.remove(s);
    for (const s of this.limits) d.limit.remove(s);
    d.released(this);
  }

  handle(): PoolHandle {
    return poolHandle(this);
  }
}

function poolHandle(pool: Pool): PoolHandle {
  return {
    name: pool.name,
    get active() {
      return pool.active;
    },
    get queued() {
      return pool.queued;
    },
    run: (fn, o) => pool.run(fn, o?.signal),
    wrap: <F extends AnyFunction>(fn: F): Guarded<F> => {
      func(fn, `pool(${JSON.stringify(pool.name)}).wrap(fn)`);
      const call = fn as unknown as (this: unknown, ...args: unknown[]) => unknown;
      return nameLike(function (this: unknown, ...args: unknown[]) {
        return pool.run(() => call.apply(this, args), undefined);
      }, fn) as unknown as Guarded<F>;
    },
    dispose: () => pool.dispose(),
  };
}
