/** Panel shapes shared by several dashboards (latency quantiles with exemplars, RED triples). */
import type { HistogramDef, LabelOf } from '../../catalog/metrics.js';
import { callRate, errorRatio, quantile, type SeriesOptions } from '../promql.js';
import { badAbove, type PanelSpec, type TargetSpec } from './builders.js';

/** Grafana's per-panel rate window: at least four scrape intervals. */
export const RATE = '$__rate_interval';

/** Legend text `{{a}} {{b}}` for the labels kept. */
export function legendOf(labels: readonly string[]): string {
  return labels.length === 0 ? '__auto' : labels.map((l) => `{{${l}}}`).join(' ');
}

/** p50, p95 and p99 of a duration histogram, with exemplars (trace links). */
export function latencyTargets<M extends HistogramDef>(entry: M, o: SeriesOptions<M>, quantiles: readonly number[] = [0.5, 0.95, 0.99]): TargetSpec[] {
  const labels = [...(o.keep ?? []), ...(o.by ?? [])];
  return quantiles.map((q) => ({
    expr: quantile(q, entry, RATE, o),
    legend: `p${Number((q * 100).toPrecision(6))}${labels.length === 0 ? '' : ` ${legendOf(labels)}`}`,
    exemplar: true,
  }));
}

/** Rate, error ratio and latency panels of one duration histogram, split by `by`. */
export function redPanels<M extends HistogramDef>(
  what: string,
  entry: M,
  errorLabel: LabelOf<M>,
  o: SeriesOptions<M>,
  width = 8,
): PanelSpec[] {
  const legend = legendOf([...(o.keep ?? []), ...(o.by ?? [])]);
  return [
    {
      title: `${what}: calls per second`,
      description: `Completed ${what.toLowerCase()} calls per second (successes and failures), from ${entry.name}_count.`,
      unit: 'ops',
      width,
      targets: [{ expr: callRate(entry, RATE, o), legend }],
    },
    {
      title: `${what}: error ratio`,
      description: `Share of ${what.toLowerCase()} calls that failed (${String(errorLabel)} not empty).`,
      unit: 'percentunit',
      min: 0,
      width,
      thresholds: badAbove(0.05, 0.1),
      targets: [{ expr: errorRatio(entry, errorLabel, RATE, o), legend }],
    },
    {
      title: `${what}: p95 latency`,
      description: `95th percentile duration from ${entry.name}; the dots are exemplars linking to traces.`,
      unit: 's',
      width,
      targets: latencyTargets(entry, o, [0.95]),
    },
  ];
}
