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

/** A PromQL double-quoted string literal. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
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
