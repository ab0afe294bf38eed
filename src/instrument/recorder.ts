/**
 * One recorder per pre-bound operation (kind + names): the success series and in-flight
 * gauge are bound at construction; error series are bound on first use per error type
 * and cached. The hot path is a clock read, a gauge add, a bucket scan and three adds.
 */
import type { MetricDef } from '../catalog/metrics.js';
import type { Diag } from '../internal/diag.js';
import type { CallSpan, CallTracer } from '../internal/span-hook.js';
import type { ObservationTap } from '../internal/tap.js';
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
  /** Observation taps (SLA windows) matching a recorder's series, resolved once when it is bound. */
  readonly taps?: ((def: MetricDef, labelValues: readonly string[]) => readonly ObservationTap[] | undefined) | undefined;
  /** Spans and exemplars of a recorder's calls, resolved once when it is bound (`base`: raw names, catalog order). */
  readonly tracer?: ((def: MetricDef, base: readonly string[]) => CallTracer | undefined) | undefined;
}

const NO_ARGS: readonly unknown[] = Object.freeze([]);

/** The default clock (monotonic ms). Recorders given this very function skip the guards a user clock needs. */
export const defaultClock = (): number => performance.now();

/** `Promise.prototype.then`: a promise whose `then` is this calls back at most once, through exactly one handler. */
const nativeThen: unknown = Promise.prototype.then;

// An indexed loop: no iterator allocation on the hot path.
function notify(taps: readonly ObservationTap[], bucket: number, error: boolean): void {
  for (let k = 0; k < taps.length; k++) (taps[k] as ObservationTap).observe(bucket, error);
}

const MAX_CACHED_ERROR_TYPES = 64;

/** Token series of an LLM handle, and the mapper that reads usage from a call's result. */
export interface TokenSeries {
  readonly input: HistogramSeries;
  readonly output: HistogramSeries;
  readonly usage: ((result: never) => TokenUsage | undefined) | undefined;
}

/**
 * One class for every kind (LLM handles included: token series are a field, not a
 * subclass), so every recorder has the same shape and the per-call methods stay
 * monomorphic in a service that records tools and LLM calls alike.
 */
export class Recorder {
  private readonly ok: HistogramSeries;
  /** Error series by `error_type`, bound on first use (most handles never fail). */
  private errors: Map<string, HistogramSeries> | undefined;
  /** Bound once here, so a recorder no SLO targets pays one `undefined` check per call. */
  private readonly taps: readonly ObservationTap[] | undefined;
  /** Starts the spans of this recorder's calls; undefined when tracing is off (one check per call). */
  readonly tracer: CallTracer | undefined;
  /** Maps a result to token usage (LLM handles given a `usage` mapper); undefined: one check per call. */
  private readonly usage: ((result: never) => TokenUsage | undefined) | undefined;
  /** Token series (LLM handles), held directly: one load less per call than through `tokens`. */
  private readonly inputTokens: HistogramSeries | undefined;
  private readonly outputTokens: HistogramSeries | undefined;

  /** True when the clock is {@link defaultClock}: it cannot throw or return a non-finite value. */
  private readonly trustedClock: boolean;

  constructor(
    private readonly family: HistogramFamily,
    base: readonly string[],
    private readonly active: GaugeSeries,
    private readonly ctx: RecorderContext,
    /** LLM handles: where token usage goes. */
    tokens?: TokenSeries,
  ) {
    // `base`: label values in catalog order without the trailing `error_type`, raw (spans get them unsanitized).
    this.ok = family.child([...base, '']);
    const taps = ctx.taps?.(family.def, this.ok.labelValues);
    this.taps = taps !== undefined && taps.length > 0 ? taps : undefined;
    this.tracer = ctx.tracer?.(family.def, base);
    this.trustedClock = ctx.clock === defaultClock;
    this.usage = tokens?.usage;
    this.inputTokens = tokens?.input;
    this.outputTokens = tokens?.output;
  }

  /** Marks a call in flight and returns its start time (clock units: ms; NaN when the clock failed). */
  start(): number {
    this.active.value += 1;
    return this.now();
  }

  /** `span` (when the call has one) gets the same end time; its exemplar goes on the observation. */
  success(t0: number, result: unknown, span?: CallSpan): void {
    let t1 = NaN;
    try {
      this.active.value -= 1;
      t1 = this.now();
      const d = this.elapsed(t0, t1);
      if (d !== undefined) {
        const ex = span?.exemplar;
        const b = ex === undefined ? this.ok.observe(d) : this.ok.observeWithExemplar(d, ex, this.exemplarTime(t1));
        if (this.taps !== undefined) notify(this.taps, b, false);
      }
      const usage = this.usage;
      if (usage !== undefined) {
        const u = this.usageOf(usage, result);
        if (u !== undefined) {
          this.recordUsage(u);
          span?.usage(u.input, u.output);
        }
      }
    } catch (e) {
      this.ctx.diag.error('record', e);
    }
    if (span !== undefined) span.ok(t1);
  }

  failure(t0: number, err: unknown, span?: CallSpan): void {
    let t1 = NaN;
    let type = '_OTHER';
    try {
      this.active.value -= 1;
      t1 = this.now();
      const d = this.elapsed(t0, t1);
      type = this.errorTypeOf(err);
      if (d !== undefined) {
        const s = this.errorSeriesOf(type);
        const ex = span?.exemplar;
        const b = ex === undefined ? s.observe(d) : s.observeWithExemplar(d, ex, this.exemplarTime(t1));
        if (this.taps !== undefined) notify(this.taps, b, true);
      }
    } catch (e) {
      this.ctx.diag.error('record', e);
    }
    if (span !== undefined) span.fail(t1, err, type);
  }

  private exemplarTime(t1: number): number {
    return this.tracer === undefined ? Date.now() / 1000 : this.tracer.timestamp(t1);
  }

  // The clock is user-injectable: it runs outside the wrapped call's try, so it must never
  // throw. Each bad reading (thrown or non-finite) is counted once and yields NaN.
  private now(): number {
    if (this.trustedClock) return performance.now();
    let t: number;
    try {
      t = this.ctx.clock();
    } catch (e) {
      this.ctx.diag.error('clock', e);
      return NaN;
    }
    if (Number.isFinite(t)) return t;
    this.ctx.diag.error('clock', new RangeError('clock returned a non-finite value'));
    return NaN;
  }

  /** Seconds from `t0` to `t1`, or undefined when there is no usable reading (never observe NaN or a negative). */
  private elapsed(t0: number, t1: number): number | undefined {
    const d = (t1 - t0) / 1000;
    if (d >= 0) return d;
    // NaN: a reading failed (already counted); otherwise the clock went backwards.
    if (!Number.isNaN(d)) this.ctx.diag.error('clock', new RangeError('clock went backwards'));
    return undefined;
  }

  /** Records a call measured elsewhere. `error` undefined means success. */
  record(durationSeconds: number, error?: unknown): void {
    try {
      if (!(durationSeconds >= 0) || durationSeconds === Infinity) throw new RangeError('duration must be a finite number >= 0');
      const failed = error !== undefined;
      const s = failed ? this.errorSeriesOf(this.errorTypeOf(error)) : this.ok;
      // Measured elsewhere, but recorded inside the caller's span: that span is the exemplar.
      const ex = this.tracer?.activeExemplar();
      const b = ex === undefined ? s.observe(durationSeconds) : s.observeWithExemplar(durationSeconds, ex, this.exemplarTime(NaN));
      if (this.taps !== undefined) notify(this.taps, b, failed);
    } catch (e) {
      this.ctx.diag.error('record', e);
    }
  }

  /**
   * Settles a call's result: a thenable is observed on a side branch and returned as is
   * (same object, so SDK promise subclasses keep their extra methods); anything else is
   * a synchronous success.
   */
  settle<R>(t0: number, r: R, span?: CallSpan): R {
    if (r !== null && (typeof r === 'object' || typeof r === 'function')) {
      let then: unknown;
      try {
        then = (r as { then?: unknown }).then;
      } catch (e) {
        this.ctx.diag.error('record', e);
      }
      if (then === nativeThen) {
        // A promise (subclasses included) calls back once, through one handler: no guard needed. Its
        // `then` can still throw (a subclass's species constructor), before calling anything back.
        try {
          (then as (ok: (v: unknown) => void, ko: (e: unknown) => void) => unknown).call(
            r,
            (v) => this.success(t0, v, span),
            (e) => this.failure(t0, e, span),
          );
        } catch (e) {
          this.active.value -= 1;
          span?.ok(NaN);
          this.ctx.diag.error('record', e);
        }
        return r;
      }
      if (typeof then === 'function') {
        // A non-conforming thenable may call back twice or throw after calling back: settle once.
        let settled = false;
        try {
          (then as (ok: (v: unknown) => void, ko: (e: unknown) => void) => unknown).call(
            r,
            (v) => {
              if (settled) return;
              settled = true;
              this.success(t0, v, span);
            },
            (e) => {
              if (settled) return;
              settled = true;
              this.failure(t0, e, span);
            },
          );
        } catch (e) {
          if (!settled) {
            settled = true;
            this.active.value -= 1;
            span?.ok(NaN);
          }
          this.ctx.diag.error('record', e);
        }
        return r;
      }
    }
    this.success(t0, r, span);
    return r;
  }

  /** Token usage read from an LLM call's result by the handle's mapper (undefined when it threw or gave none). */
  private usageOf(usage: (result: never) => TokenUsage | undefined, result: unknown): TokenUsage | undefined {
    try {
      const u = usage(result as never);
      return u === null ? undefined : u;
    } catch (e) {
      this.ctx.diag.error('usage', e);
      return undefined;
    }
  }

  /** Records token usage measured elsewhere (LLM handles; a no-op for other kinds). */
  recordUsage(u: TokenUsage): void {
    const input = this.inputTokens;
    const output = this.outputTokens;
    if (input === undefined || output === undefined) return;
    try {
      const i = u.input;
      const o = u.output;
      if (typeof i === 'number' && i >= 0 && i !== Infinity) input.observe(i);
      if (typeof o === 'number' && o >= 0 && o !== Infinity) output.observe(o);
    } catch (e) {
      this.ctx.diag.error('usage', e);
    }
  }

  private errorTypeOf(err: unknown): string {
    try {
      const type = this.ctx.errorType(err);
      return typeof type !== 'string' || type === '' ? '_OTHER' : type;
    } catch (e) {
      this.ctx.diag.error('error_type', e);
      return '_OTHER';
    }
  }

  private errorSeriesOf(type: string): HistogramSeries {
    const errors = (this.errors ??= new Map());
    let s = errors.get(type);
    if (s === undefined) {
      // The success series' values (already through the label policy, so they resolve to themselves) with this type.
      const values = this.ok.labelValues.slice();
      values[values.length - 1] = type;
      s = this.family.child(values);
      if (errors.size < MAX_CACHED_ERROR_TYPES) errors.set(type, s);
    }
    return s;
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
    // With no tracer provider registered `start` returns undefined after one global load.
    const span = rec.tracer === undefined ? undefined : rec.tracer.start(t0);
    let r: unknown;
    try {
      r = span === undefined ? call.apply(this, args) : span.run(call, this, args);
    } catch (e) {
      rec.failure(t0, e, span);
      throw e;
    }
    return rec.settle(t0, r, span);
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true });
  Object.defineProperty(wrapped, 'length', { value: fn.length, configurable: true });
  return wrapped as unknown as F;
}

/** Runs `fn` once under `rec` (the pre-bound handle form). */
export function runWith<R>(rec: Recorder, fn: () => R): R {
  const t0 = rec.start();
  const span = rec.tracer === undefined ? undefined : rec.tracer.start(t0);
  let r: R;
  try {
    r = span === undefined ? fn() : (span.run(fn, undefined, NO_ARGS) as R);
  } catch (e) {
    rec.failure(t0, e, span);
    throw e;
  }
  return rec.settle(t0, r, span);
}
