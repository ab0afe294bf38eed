/**
 * One recorder per pre-bound operation (kind + names): the success series is bound at
 * construction; the in-flight gauge on the first timed call, and error series on first use
 * per error type (cached). The hot path is a clock read, a gauge add, a bucket scan and
 * two adds.
 */
// The module's `performance`, not the global: on Node 24 the global is a lazy accessor read on every call.
import { performance } from 'node:perf_hooks';
import type { MetricDef } from '../catalog/metrics.js';
import { defaultClock } from '../internal/clock.js';
import type { Diag } from '../internal/diag.js';
import type { CallSpan, CallTracer, SpanSubject } from '../internal/span-hook.js';
import type { ObservationTap } from '../internal/tap.js';
import type { GaugeFamily, GaugeSeries, HistogramFamily, HistogramSeries } from '../metrics/store.js';
import { observeStream, type StreamBinding, type StreamOwner } from './stream.js';
import type { TokenRecorder, TokenUsage } from './usage.js';

export type { TokenUsage } from './usage.js';

export interface RecorderContext {
  /** `defaultClock`, or a user clock wrapped by `guardClock` (never throws; NaN for a bad reading, already counted). */
  readonly clock: () => number;
  readonly diag: Diag;
  readonly errorType: (err: unknown) => string;
  /** Observation taps (SLA windows) matching a recorder's series, resolved once when it is bound. */
  readonly taps?: ((def: MetricDef, labelValues: readonly string[]) => readonly ObservationTap[] | undefined) | undefined;
  /** Spans and exemplars of a metric's calls, resolved once per recorder when it is bound (the same tracer for a metric). */
  readonly tracer?: ((def: MetricDef) => CallTracer | undefined) | undefined;
}

const NO_ARGS: readonly unknown[] = Object.freeze([]);

// Handles compare a kind's clock with it (`trustedClock`); it lives with the guard in internal/clock.ts.
export { defaultClock };

/** `Promise.prototype.then`: a promise whose `then` is this calls back at most once, through exactly one handler. */
const nativeThen: unknown = Promise.prototype.then;

// An indexed loop: no iterator allocation on the hot path.
function notify(taps: readonly ObservationTap[], bucket: number, error: boolean): void {
  for (let k = 0; k < taps.length; k++) (taps[k] as ObservationTap).observe(bucket, error);
}

const MAX_CACHED_ERROR_TYPES = 64;

/** Token series of an LLM handle, and the mapper that reads usage from a call's result. */
export interface TokenSeries {
  readonly tokens: TokenRecorder;
  readonly usage: ((result: never) => TokenUsage | undefined) | undefined;
  /** Where the handle's streamed results go; undefined when streams are not observed (`stream: false`). */
  readonly stream: StreamBinding | undefined;
}

/**
 * What only some recorders use (SLO taps, LLM token series, error series), out of line:
 * services bind a recorder per name tuple, and one field costs each of them less than five.
 * A recorder with none of it pays one `undefined` check per call.
 */
interface Extras {
  readonly taps: readonly ObservationTap[] | undefined;
  /** Maps a result to token usage (LLM handles given a `usage` mapper). */
  readonly usage: ((result: never) => TokenUsage | undefined) | undefined;
  readonly tokens: TokenRecorder | undefined;
  /** Streamed results (LLM handles): a result that is a stream ends the call at its last chunk. */
  readonly stream: StreamBinding | undefined;
  /** Error series by `error_type`, bound on first use. */
  errors: Map<string, HistogramSeries> | undefined;
  /** The raw names, kept only when the label policy changed one (spans get them unsanitized). */
  rawNames: readonly string[] | undefined;
  /** The tracer's cache ({@link SpanSubject}), once the recorder had a span. */
  spanCache: unknown;
}

// One literal for every recorder, so all extras share one shape.
function extras(taps: readonly ObservationTap[] | undefined, tokens: TokenSeries | undefined): Extras {
  return {
    taps, usage: tokens?.usage, tokens: tokens?.tokens, stream: tokens?.stream,
    errors: undefined, rawNames: undefined, spanCache: undefined,
  };
}

/** Whether the series' values (with a trailing `error_type`) are `base` unchanged. */
function sameNames(values: readonly string[], base: readonly string[]): boolean {
  for (let i = 0; i < base.length; i++) if (values[i] !== base[i]) return false;
  return true;
}

/** What every recorder of one kind shares: held once per kind, not once per bound name tuple. */
export interface RecorderKind {
  /** The `kind` label of the in-flight gauge. */
  readonly kind: string;
  readonly family: HistogramFamily;
  /** Position of the recorder's name among `family`'s labels. */
  readonly nameIndex: number;
  readonly active: GaugeFamily;
  readonly ctx: RecorderContext;
  /** True when `ctx.clock` is {@link defaultClock}: it cannot throw or return a non-finite value. */
  readonly trustedClock: boolean;
}

/**
 * One class for every kind (LLM handles included: token series are a field, not a
 * subclass), so every recorder has the same shape and the per-call methods stay
 * monomorphic in a service that records tools and LLM calls alike. Handles extend it
 * (one class for every kind too) rather than point to one: an object less per handle.
 * Services bind one per name tuple, so each field here is paid per tuple: what a kind
 * shares lives in `shared`.
 */
export class Recorder<K extends RecorderKind = RecorderKind> implements SpanSubject, StreamOwner {
  /** The primary name (agent, workflow, step, tool or model). */
  readonly name: string;
  private readonly ok: HistogramSeries;
  /**
   * Calls in flight, bound by the first timed call: a handle only ever given durations
   * measured elsewhere (`record`) has none, so it gets no gauge series (~150 B each).
   */
  private active: GaugeSeries | undefined;
  /** SLO taps and token series, bound here; error series, on first failure (most handles never fail). */
  private x: Extras | undefined;
  /** Starts the spans of this recorder's calls; undefined when tracing is off (one check per call). */
  readonly tracer: CallTracer | undefined;

  constructor(
    protected readonly shared: K,
    name: string,
    base: readonly string[],
    /** LLM handles: where token usage goes. */
    tokens?: TokenSeries,
  ) {
    const family = shared.family;
    const ctx = shared.ctx;
    // `base`: label values in catalog order without the trailing `error_type`, raw (spans get them unsanitized).
    this.ok = family.child([...base, '']);
    // The copy the family admitted, when equal: handles bound per name tuple then share one string per name.
    this.name = family.intern(shared.nameIndex, name);
    const taps = ctx.taps?.(family.def, this.ok.labelValues);
    const tapped = taps !== undefined && taps.length > 0;
    this.x = tapped || tokens !== undefined ? extras(tapped ? taps : undefined, tokens) : undefined;
    this.tracer = ctx.tracer?.(family.def);
    // Spans read the names back from the series (see spanNames) unless the label policy changed one.
    if (this.tracer !== undefined && !sameNames(this.ok.labelValues, base)) (this.x ??= extras(undefined, undefined)).rawNames = base.slice();
  }

  /**
   * {@link SpanSubject}: the tracer's cache, kept with the rarely used fields: a field of its own
   * would cost every recorder 8 B, though only recorders that had a span ever use it.
   */
  get spanCache(): unknown {
    return this.x?.spanCache;
  }
  set spanCache(v: unknown) {
    (this.x ??= extras(undefined, undefined)).spanCache = v;
  }

  /** {@link SpanSubject}: the raw names, in catalog label order without `error_type`. */
  spanNames(): readonly string[] {
    return this.x?.rawNames ?? this.ok.labelValues.slice(0, -1);
  }

  // Read on error paths and for a user clock only: not worth a field in every recorder.
  private get ctx(): RecorderContext {
    return this.shared.ctx;
  }

  /** Marks a call in flight and returns its start time (clock units: ms; NaN when the clock failed). */
  start(): number {
    (this.active ?? this.bindActive()).value += 1;
    return this.now();
  }

  private bindActive(): GaugeSeries {
    return (this.active = this.shared.active.child([this.shared.kind, this.name]));
  }

  /** Ends a call in flight: only ever after {@link Recorder.start}, which bound the gauge. */
  private ended(): void {
    (this.active as GaugeSeries).value -= 1;
  }

  /**
   * `span` (when the call has one) gets the same end time; its exemplar goes on the observation.
   * A stream result of an LLM handle is observed instead, and ends the call at its last chunk.
   */
  success(t0: number, result: unknown, span?: CallSpan): void {
    const x = this.x;
    const stream = x?.stream;
    if (stream !== undefined && typeof result === 'object' && result !== null && observeStream(this, stream, t0, result, span)) return;
    let t1 = NaN;
    try {
      this.ended();
      t1 = this.now();
      this.observeOk(t0, t1, span);
      const usage = x?.usage;
      if (usage !== undefined) {
        const u = this.usageOf(usage, result);
        if (u !== undefined) {
          this.recordUsage(u);
          span?.usage(u);
        }
      }
    } catch (e) {
      this.ctx.diag.error('record', e);
    }
    if (span !== undefined) span.ok(t1);
  }

  /** The success observation of a call that ended at `t1`, with the span's exemplar. */
  private observeOk(t0: number, t1: number, span: CallSpan | undefined): void {
    const d = this.elapsed(t0, t1);
    if (d === undefined) return;
    const ex = span?.exemplar;
    const b = ex === undefined ? this.ok.observe(d) : this.ok.observeWithExemplar(d, ex, this.exemplarTime(t1));
    const taps = this.x?.taps;
    if (taps !== undefined) notify(taps, b, false);
  }

  /** {@link StreamOwner}: a stream's end (completed, cancelled, or never read) ends its call as a success. */
  endStream(t0: number, t1: number, usage: TokenUsage | undefined, span: CallSpan | undefined): void {
    try {
      this.ended();
      this.observeOk(t0, t1, span);
      this.streamUsage(usage, span);
    } catch (e) {
      this.ctx.diag.error('record', e);
    }
    if (span !== undefined) span.ok(t1);
  }

  /** {@link StreamOwner}: an error mid-stream fails the call; the tokens reported before it are still counted. */
  failStream(t0: number, err: unknown, usage: TokenUsage | undefined, span: CallSpan | undefined): void {
    this.streamUsage(usage, span);
    this.failure(t0, err, span);
  }

  private streamUsage(usage: TokenUsage | undefined, span: CallSpan | undefined): void {
    if (usage === undefined) return;
    this.recordUsage(usage);
    span?.usage(usage);
  }

  /** {@link StreamOwner}: the recorder's clock. */
  readClock(): number {
    return this.now();
  }

  /** {@link StreamOwner}. */
  exemplarTimeOf(t1: number): number {
    return this.exemplarTime(t1);
  }

  /** {@link StreamOwner}. */
  internalError(component: string, err: unknown): void {
    this.ctx.diag.error(component, err);
  }

  failure(t0: number, err: unknown, span?: CallSpan): void {
    let t1 = NaN;
    let type = '_OTHER';
    try {
      this.ended();
      t1 = this.now();
      const d = this.elapsed(t0, t1);
      type = this.errorTypeOf(err);
      if (d !== undefined) {
        const s = this.errorSeriesOf(type);
        const ex = span?.exemplar;
        const b = ex === undefined ? s.observe(d) : s.observeWithExemplar(d, ex, this.exemplarTime(t1));
        const taps = this.x?.taps;
        if (taps !== undefined) notify(taps, b, true);
      }
    } catch (e) {
      this.ctx.diag.error('record', e);
    }
    if (span !== undefined) span.fail(t1, err, type);
  }

  private exemplarTime(t1: number): number {
    return this.tracer === undefined ? Date.now() / 1000 : this.tracer.timestamp(t1);
  }

  // Small enough to be inlined into every caller (profiled: a call of its own cost ~10 ns on Node 24).
  // A user clock comes guarded (internal/clock.ts): it never throws, and a bad reading is NaN, already counted.
  private now(): number {
    return this.shared.trustedClock ? performance.now() : this.ctx.clock();
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
      const x = this.x;
      if (x !== undefined && x.taps !== undefined) notify(x.taps, b, failed);
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
          this.ended();
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
            this.ended();
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
    const tokens = this.x?.tokens;
    if (tokens === undefined) return;
    try {
      tokens.record(u);
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
    const x = (this.x ??= extras(undefined, undefined));
    const errors = (x.errors ??= new Map());
    let s = errors.get(type);
    if (s === undefined) {
      // The success series' values (already through the label policy, so they resolve to themselves) with this type.
      const values = this.ok.labelValues.slice();
      values[values.length - 1] = type;
      s = this.shared.family.child(values);
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
    const span = rec.tracer === undefined ? undefined : rec.tracer.start(t0, rec);
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
  const span = rec.tracer === undefined ? undefined : rec.tracer.start(t0, rec);
  let r: R;
  try {
    r = span === undefined ? fn() : (span.run(fn, undefined, NO_ARGS) as R);
  } catch (e) {
    rec.failure(t0, e, span);
    throw e;
  }
  return rec.settle(t0, r, span);
}
