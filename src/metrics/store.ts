/**
 * The recording engine. prom-client stays the registry and the public exposition API,
 * but its per-call path re-hashes labels on every observation (~1 µs). Here a series is
 * bound once to a plain object (counters, gauges) or to bucket slots in a Float64Array its
 * family shares (histograms); observing is a few field writes. Each family registers itself in the
 * prom-client Registry as a custom metric whose `get()` builds the values at scrape time.
 */
import type { MetricDef } from '../catalog/metrics.js';
import { LabelGuard, OTHER, escapeLabelValue, type LabelPolicyHooks, type LabelPolicySettings } from './labels.js';
import type { SampleSink } from './sink.js';

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

/** Index of the `"` that closes the escaped value starting at `from` (escaped quotes are preceded by an odd run of `\`). */
function closingQuote(key: string, from: number): number {
  let q = key.indexOf('"', from);
  for (;;) {
    let b = q - 1;
    while (b >= from && key.charCodeAt(b) === 0x5c) b--;
    if ((q - 1 - b) % 2 === 0) return q;
    q = key.indexOf('"', q + 1);
  }
}

/** Label values back from a series key (each value escaped and closed by `"`). */
function valuesOfKey(key: string): string[] {
  const out: string[] = [];
  for (let from = 0; from < key.length; ) {
    const q = closingQuote(key, from);
    const v = key.slice(from, q);
    out.push(v.includes('\\') ? v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)) : v);
    from = q + 1;
  }
  return out;
}

abstract class SeriesBase {
  constructor(
    /**
     * The resolved label values, escaped for exposition, each closed by a `"` (`x"y"`):
     * injective, so the series' key, and with its family's label names (see
     * {@link Family.labelPairs}) its exposition. The names are not repeated in every series:
     * they were most of the bytes of a pre-rendered `a="x",b="y"` (~50 B per series).
     */
    readonly key: string,
  ) {}

  /**
   * Resolved (sanitized, capped) label values, in catalog label order. Parsed from `key`
   * on each read: only bind-time and compatibility paths need them, and keeping them
   * beside the key cost every series an array (~72 B).
   */
  get labelValues(): readonly string[] {
    return Object.freeze(valuesOfKey(this.key));
  }
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
 * One histogram series. Its numbers live in a slab its family shares with many series
 * (`slab[at ..]`: the non-cumulative bucket counts, the last one `+Inf`, then sum), not in
 * an array of its own: that would add an array object, a backing-store header and a boxed
 * `sum` to every series (~70 B). Cumulated at scrape time; the count is the `+Inf` bucket's
 * cumulative count, so it is not stored (one number less per series, one add less per call).
 */
export class HistogramSeries extends SeriesBase {
  /** Latest exemplar per bucket, allocated on first use. */
  exemplars: (Exemplar | undefined)[] | undefined;

  constructor(
    key: string,
    readonly bounds: Float64Array,
    /** The slab holding this series' numbers; only {@link HistogramSeries.detach} repoints it. */
    private slab: Float64Array,
    /** Index of this series' first bucket in `slab`. */
    private at: number,
  ) {
    super(key);
  }

  /** Records one value; returns the bucket index it landed in (for exemplars). */
  observe(v: number): number {
    const b = this.bounds;
    const n = b.length;
    let i = 0;
    // Prometheus buckets are "less than or equal"; small values dominate, so scan upwards.
    while (i < n && v > (b[i] as number)) i++;
    const slab = this.slab;
    const at = this.at;
    slab[at + i]! += 1;
    slab[at + n + 1]! += v;
    return i;
  }

  /** Non-cumulative counts per bucket (a copy; the last is `+Inf`). */
  get counts(): Float64Array {
    return this.slab.slice(this.at, this.at + this.bounds.length + 1);
  }

  get sum(): number {
    return this.slab[this.at + this.bounds.length + 1] as number;
  }

  get count(): number {
    let c = 0;
    for (let i = this.at, end = i + this.bounds.length + 1; i < end; i++) c += this.slab[i] as number;
    return c;
  }

  reset(): void {
    this.slab.fill(0, this.at, this.at + this.bounds.length + 2);
    this.exemplars = undefined;
  }

  /**
   * Moves the numbers to storage of their own, so the slab slots can go to another series
   * while handles still bound to this one (a removed series) keep writing harmlessly.
   * Returns the slot given up.
   */
  detach(): { readonly slab: Float64Array; readonly at: number } {
    const slot = { slab: this.slab, at: this.at };
    this.slab = this.slab.slice(this.at, this.at + this.bounds.length + 2);
    this.at = 0;
    return slot;
  }

  /** Records one value with an exemplar attached to its bucket; returns the bucket index, as `observe` does. */
  observeWithExemplar(v: number, labels: Readonly<Record<string, string>>, timestampSeconds: number): number {
    const i = this.observe(v);
    const ex = (this.exemplars ??= new Array<Exemplar | undefined>(this.bounds.length + 1).fill(undefined));
    ex[i] = { labels, value: v, timestampSeconds };
    return i;
  }

  /**
   * Writes this series' samples: the cumulative bucket counts (each with its exemplar), then
   * `_sum` and `_count`, the count being the `+Inf` bucket's cumulative count (not stored twice).
   * Read straight from the slab: `counts` would copy.
   */
  writeSamples(sink: SampleSink, names: HistogramSampleNames, pairs: string, le: readonly string[]): void {
    const slab = this.slab;
    const at = this.at;
    const ex = this.exemplars;
    const n = le.length;
    let cum = 0;
    for (let i = 0; i < n; i++) {
      cum += slab[at + i] as number;
      sink.sample(names.bucket, pairs, le[i], cum, ex?.[i]);
    }
    sink.sample(names.sum, pairs, undefined, slab[at + n] as number, undefined);
    sink.sample(names.count, pairs, undefined, cum, undefined);
  }
}

/** A histogram family's sample names, built once. */
export interface HistogramSampleNames {
  readonly bucket: string;
  readonly sum: string;
  readonly count: string;
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
 * The series key of resolved values (see `SeriesBase.key`). Joined, not concatenated: `+=`
 * would leave a rope of cons strings (~4x the bytes) in every series.
 */
function keyOf(values: readonly string[]): string {
  if (values.length === 0) return '';
  const parts = new Array<string>(values.length + 1);
  for (let i = 0; i < values.length; i++) parts[i] = escapeLabelValue(values[i] as string);
  // A trailing '' closes the last value too.
  parts[values.length] = '';
  return parts.join('"');
}

/** A metric family: a catalog entry bound to its series. */
export abstract class Family<S extends AnySeries = AnySeries> {
  /** prom-client writes to `name` (it strips `_total` for OpenMetrics); keep it apart from `def.name`. */
  name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum';
  /** Keyed by the series' own `key`: no second string per series. */
  protected readonly series = new Map<string, S>();
  private readonly guard: LabelGuard;
  private readonly otherKey: string;
  /** What goes before each escaped value in `a="x",b="y"`: `a="`, then `,b="`… */
  private readonly heads: readonly string[];
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
    this.otherKey = keyOf(def.labels.map(() => OTHER));
    this.heads = def.labels.map((l, i) => `${i === 0 ? '' : ','}${l}="`);
  }

  protected abstract create(key: string): S;

  /** Called with a series just dropped from the family (histograms hand its slab slots back). */
  protected release(_series: S): void {}

  /**
   * Binds one series. Values pass the label policy, so hostile or unbounded input is
   * sanitized and capped; past `maxSeriesPerMetric` every new tuple folds into the
   * all-`_OTHER` series. Call once per label tuple and keep the result (hot paths).
   */
  child(values: readonly string[]): S {
    const labels = this.def.labels;
    const resolved = new Array<string>(labels.length);
    for (let i = 0; i < labels.length; i++) resolved[i] = this.guard.resolve(i, values[i] ?? '');
    let key = keyOf(resolved);
    let s = this.series.get(key);
    if (s !== undefined) return s;
    if (this.series.size >= this.settings.maxSeriesPerMetric) {
      for (const l of labels) this.hooks.overflow(this.def.name, l);
      key = this.otherKey;
      s = this.series.get(key);
      if (s !== undefined) return s;
    }
    s = this.create(key);
    this.series.set(key, s);
    if (key !== this.otherKey) this.guard.retain(resolved);
    return s;
  }

  /**
   * A series' labels as exposition wants them, `a="x",b="y"` (no braces; `''` without
   * labels), rebuilt from its key at each scrape: a few concatenations per series, next to
   * the dozen or more sample lines written for it.
   */
  labelPairs(s: S): string {
    const heads = this.heads;
    const key = s.key;
    const n = heads.length;
    if (n === 0) return '';
    const parts = new Array<string>(2 * n);
    let from = 0;
    for (let i = 0; i < n - 1; i++) {
      const end = closingQuote(key, from) + 1;
      parts[2 * i] = heads[i] as string;
      parts[2 * i + 1] = key.slice(from, end);
      from = end;
    }
    parts[2 * n - 2] = heads[n - 1] as string;
    parts[2 * n - 1] = from === 0 ? key : key.slice(from);
    // One flat string: its sample lines all embed it, and a rope would be walked once per line.
    return parts.join('');
  }

  /**
   * The admitted instance of a label value equal to `value`, if any, else `value`. Lets
   * callers keep one copy of a name the family already holds (e.g. a handle's name).
   */
  intern(index: number, value: string): string {
    return this.guard.intern(index, value);
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
    // Only this very series: a stale handle's series must not drop a newer one bound to the same tuple.
    if (this.series.get(series.key) !== series) return;
    this.series.delete(series.key);
    if (series.key !== this.otherKey) this.guard.release(valuesOfKey(series.key));
    this.release(series);
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

  /**
   * Writes the family into `sink`: nothing while it has no series, else its header, then
   * each series' samples. A generator so that one writer serves both a streaming scrape
   * (which resumes it when the socket drains or the event loop had its turn) and the
   * synchronous prom-client compatibility path. It yields only between series, when the sink
   * says it is blocked, so a series' lines are always written in one go; series bound or
   * removed during a pause are written or skipped as the Map iteration sees them.
   */
  *writeTo(sink: SampleSink): Generator<void, void, undefined> {
    this.collect?.();
    if (this.series.size === 0) return;
    const def = this.def;
    sink.family(def.name, this.type, this.help, def.unit);
    for (const s of this.series.values()) {
      if (sink.blocked) yield;
      this.writeSeries(sink, s, this.labelPairs(s));
    }
  }

  protected abstract writeSeries(sink: SampleSink, s: S, pairs: string): void;

  /** prom-client compatibility: the family as `MetricObjectWithValues`, through {@link Family.writeTo}. */
  get(): PromMetricObject {
    const sink = new ObjectSink(this.def.labels);
    for (const _ of this.writeTo(sink)) {
      // ObjectSink never blocks.
    }
    // `this.name`, not `def.name`: prom-client's OpenMetrics serializer strips `_total` from `name` and appends it to samples.
    return { name: this.name, help: this.help, type: this.type, values: sink.values, aggregator: this.aggregator };
  }
}

/**
 * Collects samples as prom-client value objects. Label pairs are parsed back into records
 * (cached while consecutive samples share them, as a histogram's do): only this
 * compatibility path needs records, so the series never keep them.
 */
class ObjectSink implements SampleSink {
  readonly values: PromMetricValue[] = [];
  readonly blocked = false;
  private name = '';
  private lastPairs: string | undefined;
  private lastLabels: Record<string, string> = {};
  constructor(private readonly labelNames: readonly string[]) {}

  family(name: string): void {
    this.name = name;
  }

  sample(name: string, pairs: string, le: string | undefined, value: number, exemplar: Exemplar | undefined): void {
    if (pairs !== this.lastPairs) {
      this.lastPairs = pairs;
      this.lastLabels = this.parse(pairs);
    }
    const labels = le === undefined ? this.lastLabels : { ...this.lastLabels, le };
    const v: PromMetricValue = { value, labels };
    if (name !== this.name) v.metricName = name;
    if (exemplar !== undefined) {
      v.exemplar = { labelSet: { ...exemplar.labels }, value: exemplar.value, timestamp: exemplar.timestampSeconds };
    }
    this.values.push(v);
  }

  resume(): Promise<void> {
    return Promise.resolve();
  }

  /** `a="x",b="y"` (values escaped) back to `{a: 'x', b: 'y'}`. */
  private parse(pairs: string): Record<string, string> {
    const o: Record<string, string> = {};
    let from = 0;
    for (const l of this.labelNames) {
      from += l.length + 2;
      const q = closingQuote(pairs, from);
      const v = pairs.slice(from, q);
      o[l] = v.includes('\\') ? v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)) : v;
      from = q + 2;
    }
    return o;
  }
}

export class CounterFamily extends Family<CounterSeries> {
  readonly type = 'counter' as const;
  protected create(key: string): CounterSeries {
    return new CounterSeries(key);
  }
  protected writeSeries(sink: SampleSink, s: CounterSeries, pairs: string): void {
    sink.sample(this.def.name, pairs, undefined, s.value, undefined);
  }
}

export class GaugeFamily extends Family<GaugeSeries> {
  readonly type = 'gauge' as const;
  protected create(key: string): GaugeSeries {
    return new GaugeSeries(key);
  }
  protected writeSeries(sink: SampleSink, s: GaugeSeries, pairs: string): void {
    sink.sample(this.def.name, pairs, undefined, s.value, undefined);
  }
}

const EMPTY_SLAB = new Float64Array(0);
/** Series per slab: the first slabs grow with the family, later ones stay at ~35 KB (15 buckets). */
const MIN_SLAB_SERIES = 8;
const MAX_SLAB_SERIES = 256;

export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram' as const;
  readonly bounds: Float64Array;
  /** `le` label values, formatted once. */
  readonly le: readonly string[];
  private readonly sampleNames: HistogramSampleNames;

  /** Numbers per series in a slab: one count per bucket (`+Inf` included), then the sum. */
  private readonly width: number;
  /** The slab new series are carved from, and how many of its numbers are taken. */
  private slab = EMPTY_SLAB;
  private used = 0;
  /** Slots handed back by removed series (slab and start index, pairwise), reused first. */
  private readonly freeSlabs: Float64Array[] = [];
  private readonly freeAt: number[] = [];

  constructor(def: MetricDef, buckets: readonly number[], settings: LabelPolicySettings, hooks: LabelPolicyHooks) {
    super(def, settings, hooks);
    this.bounds = Float64Array.from(buckets);
    this.le = [...buckets.map(formatValue), '+Inf'];
    this.sampleNames = { bucket: `${def.name}_bucket`, sum: `${def.name}_sum`, count: `${def.name}_count` };
    this.width = buckets.length + 2;
  }

  protected create(key: string): HistogramSeries {
    const w = this.width;
    const reused = this.freeSlabs.pop();
    if (reused !== undefined) {
      const at = this.freeAt.pop() as number;
      reused.fill(0, at, at + w);
      return new HistogramSeries(key, this.bounds, reused, at);
    }
    if (this.used + w > this.slab.length) {
      // Each slab holds as many series as the family already has (so a family with one or two
      // series wastes little), up to a cap that keeps a slab's unused tail small next to the total.
      const n = Math.min(MAX_SLAB_SERIES, Math.max(MIN_SLAB_SERIES, this.size));
      this.slab = new Float64Array(n * w);
      this.used = 0;
    }
    const at = this.used;
    this.used += w;
    return new HistogramSeries(key, this.bounds, this.slab, at);
  }

  protected override release(s: HistogramSeries): void {
    const { slab, at } = s.detach();
    this.freeSlabs.push(slab);
    this.freeAt.push(at);
  }

  /** Series dropped here may still be held by handles: they keep their slabs, and new series start on fresh ones. */
  override clear(): void {
    super.clear();
    this.slab = EMPTY_SLAB;
    this.used = 0;
    this.freeSlabs.length = 0;
    this.freeAt.length = 0;
  }

  protected writeSeries(sink: SampleSink, s: HistogramSeries, pairs: string): void {
    s.writeSamples(sink, this.sampleNames, pairs, this.le);
  }
}

export function isFamily(m: unknown): m is Family {
  return m instanceof Family;
}
