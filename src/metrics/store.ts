/**
 * The recording engine. prom-client stays the registry and the public exposition API,
 * but its per-call path re-hashes labels on every observation (~1 µs). Here a series is
 * bound once to a plain object (counters, gauges) or a Float64Array of bucket counts
 * (histograms); observing is a few field writes. Each family registers itself in the
 * prom-client Registry as a custom metric whose `get()` builds the values at scrape time.
 */
import type { MetricDef } from '../catalog/metrics.js';
import { LabelGuard, OTHER, escapeLabelValue, type LabelPolicyHooks, type LabelPolicySettings } from './labels.js';

/** One exemplar: labels (e.g. trace_id/span_id), the observed value and a timestamp in seconds. */
export interface Exemplar {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampSeconds: number;
}

/** prom-client's `MetricObjectWithValues` shape, so `registry.metrics()`/`getMetricsAsJSON()` see our series too. */
export interface PromMetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
  exemplar?: { labelSet: Record<string, string>; value: number; timestamp: number } | undefined;
}
export interface PromMetricObject {
  name: string;
  help: string;
  type: string;
  values: PromMetricValue[];
  aggregator: string;
}

abstract class SeriesBase {
  constructor(
    /** Resolved (sanitized, capped) label values, in catalog label order. */
    readonly labelValues: readonly string[],
    /** Pre-escaped `a="x",b="y"` (no braces), built once at bind time. */
    readonly labelPairs: string,
  ) {}
}

export class CounterSeries extends SeriesBase {
  value = 0;
  inc(n = 1): void {
    // A negative or NaN increment would corrupt rate(); drop it.
    if (n >= 0) this.value += n;
  }
  reset(): void {
    this.value = 0;
  }
}

export class GaugeSeries extends SeriesBase {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
  /** Gauges hold current state (calls in flight, build info), which a reset must not falsify. */
  reset(): void {}
}

/**
 * Bucket counts of one series: a plain array of unboxed doubles. Same speed as a
 * Float64Array on the hot path, but no ArrayBuffer, backing store and typed-array object
 * per series (~130 B less at 15 buckets). Every series' array is created the same way
 * (holey double elements from birth), so `observe` only ever sees one elements kind.
 */
function doubleSlots(n: number): number[] {
  const a = new Array<number>(n).fill(0.5);
  a.fill(0);
  return a;
}

export class HistogramSeries extends SeriesBase {
  /** Non-cumulative counts per bucket; the last slot is `+Inf`. Cumulated at scrape time. */
  readonly counts: number[];
  sum = 0;
  count = 0;
  /** Latest exemplar per bucket, allocated on first use. */
  exemplars: (Exemplar | undefined)[] | undefined;

  constructor(labelValues: readonly string[], labelPairs: string, readonly bounds: Float64Array) {
    super(labelValues, labelPairs);
    this.counts = doubleSlots(bounds.length + 1);
  }

  /** Records one value; returns the bucket index it landed in (for exemplars). */
  observe(v: number): number {
    const b = this.bounds;
    const n = b.length;
    let i = 0;
    // Prometheus buckets are "less than or equal"; small values dominate, so scan upwards.
    while (i < n && v > (b[i] as number)) i++;
    this.counts[i]! += 1;
    this.sum += v;
    this.count += 1;
    return i;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
    this.exemplars = undefined;
  }

  /** Records one value with an exemplar attached to its bucket; returns the bucket index, as `observe` does. */
  observeWithExemplar(v: number, labels: Readonly<Record<string, string>>, timestampSeconds: number): number {
    const i = this.observe(v);
    const ex = (this.exemplars ??= new Array<Exemplar | undefined>(this.counts.length).fill(undefined));
    ex[i] = { labels, value: v, timestampSeconds };
    return i;
  }
}

type AnySeries = CounterSeries | GaugeSeries | HistogramSeries;

/** Formats a sample value as both exposition formats expect. */
export function formatValue(v: number): string {
  if (Number.isFinite(v)) return String(v);
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return 'NaN';
}

/**
 * `a="x",b="y"` for resolved values: exposition-ready, and an injective key (values are
 * escaped and quoted). Joined, not concatenated: `+=` would leave a rope of cons strings
 * (~4x the bytes) in every series.
 */
function pairsOf(labels: readonly string[], values: readonly string[]): string {
  const pairs = new Array<string>(labels.length);
  for (let i = 0; i < labels.length; i++) pairs[i] = `${labels[i]}="${escapeLabelValue(values[i] as string)}"`;
  return pairs.join(',');
}

/** A metric family: a catalog entry bound to its series. */
export abstract class Family<S extends AnySeries = AnySeries> {
  /** prom-client writes to `name` (it strips `_total` for OpenMetrics); keep it apart from `def.name`. */
  name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum';
  /** Keyed by the series' `labelPairs`: escaped and quoted, so injective, and no second string per series. */
  protected readonly series = new Map<string, S>();
  private readonly guard: LabelGuard;
  private readonly otherPairs: string;
  /** Called before each scrape (e.g. to sample event-loop utilization). */
  collect: (() => void) | undefined;

  constructor(
    readonly def: MetricDef,
    private readonly settings: LabelPolicySettings,
    private readonly hooks: LabelPolicyHooks,
  ) {
    this.name = def.name;
    this.help = def.help;
    this.guard = new LabelGuard(def.name, def.labels, settings, hooks);
    this.otherPairs = pairsOf(def.labels, def.labels.map(() => OTHER));
  }

  protected abstract create(values: readonly string[], pairs: string): S;

  /**
   * Binds one series. Values pass the label policy, so hostile or unbounded input is
   * sanitized and capped; past `maxSeriesPerMetric` every new tuple folds into the
   * all-`_OTHER` series. Call once per label tuple and keep the result (hot paths).
   */
  child(values: readonly string[]): S {
    const labels = this.def.labels;
    const resolved = new Array<string>(labels.length);
    for (let i = 0; i < labels.length; i++) resolved[i] = this.guard.resolve(i, values[i] ?? '');
    let pairs = pairsOf(labels, resolved);
    let s = this.series.get(pairs);
    if (s !== undefined) return s;
    if (this.series.size >= this.settings.maxSeriesPerMetric) {
      for (const l of labels) this.hooks.overflow(this.def.name, l);
      pairs = this.otherPairs;
      s = this.series.get(pairs);
      if (s !== undefined) return s;
      resolved.fill(OTHER);
    }
    s = this.create(Object.freeze(resolved), pairs);
    this.series.set(pairs, s);
    return s;
  }

  /** Number of bound series. */
  get size(): number {
    return this.series.size;
  }

  /** All bound series (scrape order = bind order). */
  all(): IterableIterator<S> {
    return this.series.values();
  }

  /** Removes one series (e.g. a disposed breaker's). Handles already bound to it stop being exported. */
  remove(series: S): void {
    this.series.delete(series.labelPairs);
  }

  /** Drops every series and admitted label value. */
  clear(): void {
    this.series.clear();
    this.guard.clear();
  }

  /**
   * prom-client `Registry#resetMetrics()` hook. Zeroes values in place: handles keep
   * references to their pre-bound series, so dropping the series would silently stop
   * exporting every handle bound before the reset.
   */
  reset(): void {
    for (const s of this.series.values()) s.reset();
  }

  /** prom-client compatibility: the family as `MetricObjectWithValues`. */
  get(): PromMetricObject {
    this.collect?.();
    const values: PromMetricValue[] = [];
    for (const s of this.series.values()) this.values(s, values);
    // `this.name`, not `def.name`: prom-client's OpenMetrics serializer strips `_total` from `name` and appends it to samples.
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  protected labelObject(s: S): Record<string, string> {
    const o: Record<string, string> = {};
    this.def.labels.forEach((l, i) => (o[l] = s.labelValues[i] as string));
    return o;
  }

  protected abstract values(s: S, out: PromMetricValue[]): void;
}

export class CounterFamily extends Family<CounterSeries> {
  readonly type = 'counter' as const;
  protected create(values: readonly string[], pairs: string): CounterSeries {
    return new CounterSeries(values, pairs);
  }
  protected values(s: CounterSeries, out: PromMetricValue[]): void {
    out.push({ value: s.value, labels: this.labelObject(s) });
  }
}

export class GaugeFamily extends Family<GaugeSeries> {
  readonly type = 'gauge' as const;
  protected create(values: readonly string[], pairs: string): GaugeSeries {
    return new GaugeSeries(values, pairs);
  }
  protected values(s: GaugeSeries, out: PromMetricValue[]): void {
    out.push({ value: s.value, labels: this.labelObject(s) });
  }
}

export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram' as const;
  readonly bounds: Float64Array;
  /** `le` label values, formatted once. */
  readonly le: readonly string[];

  constructor(def: MetricDef, buckets: readonly number[], settings: LabelPolicySettings, hooks: LabelPolicyHooks) {
    super(def, settings, hooks);
    this.bounds = Float64Array.from(buckets);
    this.le = [...buckets.map(formatValue), '+Inf'];
  }

  protected create(values: readonly string[], pairs: string): HistogramSeries {
    return new HistogramSeries(values, pairs, this.bounds);
  }

  protected values(s: HistogramSeries, out: PromMetricValue[]): void {
    const labels = this.labelObject(s);
    let cum = 0;
    for (let i = 0; i < s.counts.length; i++) {
      cum += s.counts[i] as number;
      const ex = s.exemplars?.[i];
      out.push({
        value: cum,
        labels: { ...labels, le: this.le[i] as string },
        metricName: `${this.def.name}_bucket`,
        exemplar: ex && { labelSet: { ...ex.labels }, value: ex.value, timestamp: ex.timestampSeconds },
      });
    }
    out.push({ value: s.sum, labels, metricName: `${this.def.name}_sum` });
    out.push({ value: s.count, labels, metricName: `${this.def.name}_count` });
  }
}

export function isFamily(m: unknown): m is Family {
  return m instanceof Family;
}
