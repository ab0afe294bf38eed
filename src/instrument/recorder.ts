/**
 * One recorder per pre-bound operation (kind + names): the success series and in-flight
 * gauge are bound at construction; error series are bound on first use per error type
 * and cached. The hot path is a clock read, a gauge add, a bucket scan and three adds.
 */
import type { Diag } from '../internal/diag.js';
import type { GaugeSeries, HistogramFamily, HistogramSeries } from '../metrics/store.js';

/** Token counts of one LLM call. Missing or non-finite fields are not recorded. */
export interface TokenUsage {
  readonly input?: number | undefined;
  readonly output?: number | undefined;
}

export interface RecorderContext {
  readonly clock: () => number;
  readonly diag: Diag;
  readonly errorType: (err: unknown) => string;
}

const MAX_CACHED_ERROR_TYPES = 64;

export class Recorder {
  private readonly ok: HistogramSeries;
  private readonly errors = new Map<string, HistogramSeries>();

  constructor(
    private readonly family: HistogramFamily,
    /** Label values in catalog order, without the trailing `error_type`. */
    private readonly base: readonly string[],
    private readonly active: GaugeSeries,
    protected readonly ctx: RecorderContext,
  ) {
    this.ok = family.child([...base, '']);
  }

  /** Marks a call in flight and returns its start time (clock units: ms). */
  start(): number {
    this.active.value += 1;
    return this.ctx.clock();
  }

  success(t0: number, result: unknown): void {
    try {
      this.active.value -= 1;
      this.ok.observe((this.ctx.clock() - t0) / 1000);
      this.onResult(result);
    } catch (e) {
      this.ctx.diag.error('record', e);
    }
  }

  failure(t0: number, err: unknown): void {
    try {
      this.active.value -= 1;
      this.errorSeries(err).observe((this.ctx.clock() - t0) / 1000);
    } catch (e) {
      this.ctx.diag.error('record', e);
    }
  }

  /** Records a call measured elsewhere. `error` undefined means success. */
  record(durationSeconds: number, error?: unknown): void {
    try {
      if (!(durationSeconds >= 0) || durationSeconds === Infinity) throw new RangeError('duration must be a finite number >= 0');
      if (error === undefined) this.ok.observe(durationSeconds);
      else this.errorSeries(error).observe(durationSeconds);
    } catch (e) {
      this.ctx.diag.error('record', e);
    }
  }

  /**
   * Settles a call's result: a thenable is observed on a side branch and returned as is
   * (same object, so SDK promise subclasses keep their extra methods); anything else is
   * a synchronous success.
   */
  settle<R>(t0: number, r: R): R {
    if (r !== null && (typeof r === 'object' || typeof r === 'function')) {
      let then: unknown;
      try {
        then = (r as { then?: unknown }).then;
      } catch (e) {
        this.ctx.diag.error('record', e);
      }
      if (typeof then === 'function') {
        try {
          (then as (ok: (v: unknown) => void, ko: (e: unknown) => void) => unknown).call(
            r,
            (v) => this.success(t0, v),
            (e) => this.failure(t0, e),
          );
        } catch (e) {
          this.active.value -= 1;
          this.ctx.diag.error('record', e);
        }
        return r;
      }
    }
    this.success(t0, r);
    return r;
  }

  /** Hook for kinds that read the result (LLM token usage). */
  protected onResult(_result: unknown): void {}

  private errorSeries(err: unknown): HistogramSeries {
    let type: string;
    try {
      type = this.ctx.errorType(err);
      if (typeof type !== 'string' || type === '') type = '_OTHER';
    } catch (e) {
      this.ctx.diag.error('error_type', e);
      type = '_OTHER';
    }
    let s = this.errors.get(type);
    if (s === undefined) {
      s = this.family.child([...this.base, type]);
      if (this.errors.size < MAX_CACHED_ERROR_TYPES) this.errors.set(type, s);
    }
    return s;
  }
}

/** LLM calls also record token usage, mapped from the result by the caller. */
export class LlmRecorder extends Recorder {
  constructor(
    family: HistogramFamily,
    base: readonly string[],
    active: GaugeSeries,
    ctx: RecorderContext,
    private readonly input: HistogramSeries,
    private readonly output: HistogramSeries,
    private readonly usage: ((result: never) => TokenUsage | undefined) | undefined,
  ) {
    super(family, base, active, ctx);
  }

  protected override onResult(result: unknown): void {
    if (this.usage === undefined) return;
    let u: TokenUsage | undefined;
    try {
      u = this.usage(result as never);
    } catch (e) {
      this.ctx.diag.error('usage', e);
      return;
    }
    if (u !== undefined && u !== null) this.recordUsage(u);
  }

  recordUsage(u: TokenUsage): void {
    try {
      const { input, output } = u;
      if (typeof input === 'number' && input >= 0 && input !== Infinity) this.input.observe(input);
      if (typeof output === 'number' && output >= 0 && output !== Infinity) this.output.observe(output);
    } catch (e) {
      this.ctx.diag.error('usage', e);
    }
  }
}

/**
 * Returns a function with the same type as `fn` that records every call. `this`,
 * arguments, return value (the same promise object for async functions) and thrown
 * error (same identity) pass through unchanged; sync functions stay sync.
 */
export function wrapWith<F extends (...args: never[]) => unknown>(rec: Recorder, fn: F): F {
  const call = fn as unknown as (this: unknown, ...args: unknown[]) => unknown;
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    const t0 = rec.start();
    let r: unknown;
    try {
      r = call.apply(this, args);
    } catch (e) {
      rec.failure(t0, e);
      throw e;
    }
    return rec.settle(t0, r);
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true });
  Object.defineProperty(wrapped, 'length', { value: fn.length, configurable: true });
  return wrapped as unknown as F;
}

/** Runs `fn` once under `rec` (the pre-bound handle form). */
export function runWith<R>(rec: Recorder, fn: () => R): R {
  const t0 = rec.start();
  let r: R;
  try {
    r = fn();
  } catch (e) {
    rec.failure(t0, e);
    throw e;
  }
  return rec.settle(t0, r);
}
