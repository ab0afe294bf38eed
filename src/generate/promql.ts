/**
 * A small typed PromQL builder. Metric names only ever come from catalog entries, and
 * label matchers are checked against the entry's labels, so renaming a metric or label in
 * the catalog breaks the compile of every rule and dashboard built here. Output is plain
 * PromQL text; nothing is parsed.
 */
import type { HistogramDef, LabelOf, MetricDef } from '../catalog/metrics.js';

/** PromQL label match operators. */
export type MatchOp = '=' | '!=' | '=~' | '!~';

/** One label matcher; `L` restricts the label name (a catalog entry's labels). */
export interface LabelMatcher<L extends string = string> {
  readonly label: L;
  readonly op: MatchOp;
  readonly value: string;
}

/** `label="value"`. */
export function eq<L extends string>(label: L, value: string): LabelMatcher<L> {
  return { label, op: '=', value };
}
/** `label!="value"`. */
export function neq<L extends string>(label: L, value: string): LabelMatcher<L> {
  return { label, op: '!=', value };
}
/** `label=~"regex"`. */
export function re<L extends string>(label: L, value: string): LabelMatcher<L> {
  return { label, op: '=~', value };
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// eslint-disable-next-line no-control-regex -- control characters are what must be escaped
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffd]/g;

/**
 * A PromQL double-quoted string literal. Control characters (which YAML rule files cannot hold
 * raw), U+FFFD (which the PromQL lexer takes for invalid UTF-8) and the like are written as Go
 * `\uXXXX` escapes; a lone surrogate (not encodable in UTF-8) becomes U+FFFD first.
 */
export function quote(value: string): string {
  const escaped = value
    .replace(LONE_SURROGATE, '\ufffd')
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `"${escaped}"`;
}

/** `{a="x", b!="y"}`, or `''` for no matchers. */
export function matchers(list: readonly LabelMatcher[]): string {
  return list.length === 0 ? '' : `{${list.map((m) => `${m.label}${m.op}${quote(m.value)}`).join(', ')}}`;
}

/** Series of a histogram: `_bucket` (matchers may use `le`), `_count` or `_sum`. */
export type HistogramPart = 'bucket' | 'count' | 'sum';

/**
 * A selector for one catalog histogram's series; `extra` holds target labels (`job`,
 * `namespace`…) that are not in the catalog.
 *
 * @example histogramSeries(toolDuration, 'count', [eq('gen_ai_tool_name', 'search')]) // gen_ai_execute_tool_duration_seconds_count{gen_ai_tool_name="search"}
 */
export function histogramSeries<M extends HistogramDef>(
  entry: M,
  part: HistogramPart,
  match: readonly LabelMatcher<LabelOf<M> | 'le'>[] = [],
  extra: readonly LabelMatcher[] = [],
): string {
  return `${entry.name}_${part}${matchers([...extra, ...match])}`;
}

/** A selector for a counter or gauge from the catalog. */
export function metricSeries<M extends MetricDef>(entry: M, match: readonly LabelMatcher<LabelOf<M>>[] = [], extra: readonly LabelMatcher[] = []): string {
  return `${entry.name}${matchers([...extra, ...match])}`;
}

/** A selector for a recorded series (recording-rule names are not in the catalog). */
export function recordedSeries(record: string, match: readonly LabelMatcher[] = []): string {
  return `${record}${matchers(match)}`;
}

/** `rate(selector[window])`. */
export function rate(selector: string, window: string): string {
  return `rate(${selector}[${window}])`;
}

/** `sum(expr)` or `sum by (a, b) (expr)`. */
export function sum(expr: string, by: readonly string[] = []): string {
  return by.length === 0 ? `sum(${expr})` : `sum by (${by.join(', ')}) (${expr})`;
}

/** `histogram_quantile(q, sum by (le, …) (rate(<entry>_bucket{…}[window])))`. */
export function histogramQuantile<M extends HistogramDef>(
  q: number,
  entry: M,
  window: string,
  options: { readonly match?: readonly LabelMatcher<LabelOf<M>>[]; readonly extra?: readonly LabelMatcher[]; readonly by?: readonly string[] } = {},
): string {
  const bucket = histogramSeries(entry, 'bucket', options.match ?? [], options.extra ?? []);
  return `histogram_quantile(${num(q)}, ${sum(rate(bucket, window), ['le', ...(options.by ?? [])])})`;
}

/** A number as PromQL text (shortest round-trip form). */
export function num(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

/** `on(a, b)` / `on()` vector matching clause. */
export function on(labels: readonly string[]): string {
  return `on(${labels.join(', ')})`;
}

// ── Aggregations and the RED/USE shapes the shipped rules and dashboards use ─────────────

/** PromQL aggregation operators the builders emit. */
export type AggregationOp = 'sum' | 'max' | 'min' | 'avg' | 'count';

/** `op(expr)` or `op by (a, b) (expr)`; `by` keeps its order, duplicates dropped. */
export function aggregate(op: AggregationOp, expr: string, by: readonly string[] = []): string {
  const labels = [...new Set(by)];
  return labels.length === 0 ? `${op}(${expr})` : `${op} by (${labels.join(', ')}) (${expr})`;
}

/** `<fn>_over_time(selector[window])`. */
export function overTime(fn: 'avg' | 'max' | 'min' | 'last' | 'sum' | 'count', selector: string, window: string): string {
  return `${fn}_over_time(${selector}[${window}])`;
}

/** `increase(selector[window])`. */
export function increase(selector: string, window: string): string {
  return `increase(${selector}[${window}])`;
}

/** `absent_over_time(selector[window])`: one series (labelled from the selector's `=` matchers) when nothing was scraped in `window`. */
export function absentOverTime(selector: string, window: string): string {
  return `absent_over_time(${selector}[${window}])`;
}

/** Which series a RED expression reads, and what it keeps. */
export interface SeriesOptions<M extends MetricDef> {
  /** Matchers on the entry's own labels (type-checked). */
  readonly match?: readonly LabelMatcher<LabelOf<M>>[];
  /** Matchers on target labels (`job`, `instance`, the config selector). */
  readonly extra?: readonly LabelMatcher[];
  /** Entry labels kept by the aggregation (type-checked). */
  readonly by?: readonly LabelOf<M>[];
  /** Target labels kept by the aggregation (`job`, `instance`, `cluster`…), before `by`. */
  readonly keep?: readonly string[];
}

const keptLabels = <M extends MetricDef>(o: SeriesOptions<M>): string[] => [...(o.keep ?? []), ...(o.by ?? [])];

/** Calls per second of a duration histogram: `sum by (…) (rate(<entry>_count{…}[window]))`. */
export function callRate<M extends HistogramDef>(entry: M, window: string, o: SeriesOptions<M> = {}): string {
  return aggregate('sum', rate(histogramSeries(entry, 'count', o.match ?? [], o.extra ?? []), window), keptLabels(o));
}

/**
 * Failed calls over all calls of a duration histogram whose `errorLabel` is empty on
 * success (`error_type`): `sum(rate(x_count{error_type!=""})) / sum(rate(x_count))`.
 */
export function errorRatio<M extends HistogramDef>(entry: M, errorLabel: LabelOf<M>, window: string, o: SeriesOptions<M> = {}): string {
  const failed = callRate(entry, window, { ...o, match: [...(o.match ?? []), neq(errorLabel, '')] });
  return `${failed}\n/\n${callRate(entry, window, o)}`;
}

/** Mean of a histogram's observations: `sum(rate(x_sum)) / sum(rate(x_count))`. */
export function histogramMean<M extends HistogramDef>(entry: M, window: string, o: SeriesOptions<M> = {}): string {
  const part = (p: HistogramPart): string => aggregate('sum', rate(histogramSeries(entry, p, o.match ?? [], o.extra ?? []), window), keptLabels(o));
  return `${part('sum')}\n/\n${part('count')}`;
}

/** Observed units per second of a histogram (`sum(rate(x_sum))`): tokens per second from the token histogram. */
export function histogramSumRate<M extends HistogramDef>(entry: M, window: string, o: SeriesOptions<M> = {}): string {
  return aggregate('sum', rate(histogramSeries(entry, 'sum', o.match ?? [], o.extra ?? []), window), keptLabels(o));
}

/** `sum by (…) (rate(<counter>{…}[window]))`. */
export function counterRate<M extends MetricDef<string, string, 'counter'>>(entry: M, window: string, o: SeriesOptions<M> = {}): string {
  return aggregate('sum', rate(metricSeries(entry, o.match ?? [], o.extra ?? []), window), keptLabels(o));
}

/** `sum by (…) (increase(<counter>{…}[window]))`. */
export function counterIncrease<M extends MetricDef<string, string, 'counter'>>(entry: M, window: string, o: SeriesOptions<M> = {}): string {
  return aggregate('sum', increase(metricSeries(entry, o.match ?? [], o.extra ?? []), window), keptLabels(o));
}

/** `op by (…) (<gauge>{…})`, or over a window with `overTimeFn`: `op by (…) (avg_over_time(<gauge>{…}[w]))`. */
export function gaugeAggregate<M extends MetricDef<string, string, 'gauge'>>(
  op: AggregationOp,
  entry: M,
  o: SeriesOptions<M> & { readonly overTime?: { readonly fn: 'avg' | 'max' | 'min' | 'last'; readonly window: string } } = {},
): string {
  const sel = metricSeries(entry, o.match ?? [], o.extra ?? []);
  return aggregate(op, o.overTime === undefined ? sel : overTime(o.overTime.fn, sel, o.overTime.window), keptLabels(o));
}

/** A histogram quantile kept by entry and target labels (`histogramQuantile` with {@link SeriesOptions}). */
export function quantile<M extends HistogramDef>(q: number, entry: M, window: string, o: SeriesOptions<M> = {}): string {
  return histogramQuantile(q, entry, window, { match: o.match ?? [], extra: o.extra ?? [], by: keptLabels(o) });
}

/** A Grafana variable query: `label_values(<entry series>{…}, label)`. */
export function labelValues<M extends MetricDef>(entry: M, label: LabelOf<M> | string, extra: readonly LabelMatcher[] = []): string {
  const sel = entry.type === 'histogram' ? histogramSeries(entry as unknown as HistogramDef, 'count', [], extra) : metricSeries(entry, [], extra);
  return `label_values(${sel}, ${label})`;
}

/**
 * The series Prometheus itself writes for every scrape target (1 when the last scrape
 * succeeded): the one name outside the catalog the generators use.
 */
export const PROMETHEUS_UP = 'up';

/** `up{…}` over target labels. */
export function upSeries(extra: readonly LabelMatcher[] = []): string {
  return `${PROMETHEUS_UP}${matchers(extra)}`;
}
