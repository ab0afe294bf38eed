/**
 * Serializes a prom-client Registry in either Prometheus text 0.0.4 or OpenMetrics 1.0,
 * chosen per request. Our own families are written straight from their pre-bound series
 * (labels escaped once at bind time); any other metric in the registry (user metrics,
 * prom-client defaults) goes through its `get()`. Work is split into slices that yield to
 * the event loop, so a large scrape does not stall agent calls behind it.
 */
import type { Registry } from 'prom-client';
import { escapeLabelValue } from '../metrics/labels.js';
import { Family, HistogramFamily, formatValue, type CounterSeries, type GaugeSeries, type PromMetricObject } from '../metrics/store.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = Object.freeze({
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
});

/** Time budget of one serialization slice before yielding to the event loop. */
const SLICE_MS = 10;

function escapeHelp(help: string, format: ExpositionFormat): string {
  const s = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? s.replace(/"/g, '\\"') : s;
}

function familyName(name: string, type: string, format: ExpositionFormat): string {
  return format === 'openmetrics' && type === 'counter' ? name.replace(/_total$/, '') : name;
}

function header(out: string[], name: string, type: string, help: string, unit: string, format: ExpositionFormat): void {
  const fam = familyName(name, type, format);
  if (format === 'openmetrics') {
    out.push(`# TYPE ${fam} ${type}\n`);
    if (unit !== '' && fam.endsWith(`_${unit}`)) out.push(`# UNIT ${fam} ${unit}\n`);
    out.push(`# HELP ${fam} ${escapeHelp(help, format)}\n`);
  } else {
    out.push(`# HELP ${fam} ${escapeHelp(help, format)}\n# TYPE ${fam} ${type}\n`);
  }
}

function exemplarSuffix(labels: Readonly<Record<string, string>>, value: number, ts: number): string {
  let pairs = '';
  for (const k in labels) pairs += `${pairs === '' ? '' : ','}${k}="${escapeLabelValue(labels[k] as string)}"`;
  return ` # {${pairs}} ${formatValue(value)} ${ts}`;
}

/** Writes one of our families. */
export function writeFamily(f: Family, format: ExpositionFormat, out: string[]): void {
  f.collect?.();
  if (f.size === 0) return;
  const name = f.def.name;
  header(out, name, f.type, f.help, f.def.unit, format);
  if (f instanceof HistogramFamily) {
    const le = f.le;
    const om = format === 'openmetrics';
    for (const s of f.all()) {
      const pre = s.labelPairs === '' ? `${name}_bucket{le="` : `${name}_bucket{${s.labelPairs},le="`;
      let cum = 0;
      for (let i = 0; i < s.counts.length; i++) {
        cum += s.counts[i] as number;
        const ex = om ? s.exemplars?.[i] : undefined;
        out.push(
          ex === undefined
            ? `${pre}${le[i]}"} ${cum}\n`
            : `${pre}${le[i]}"} ${cum}${exemplarSuffix(ex.labels, ex.value, ex.timestampSeconds)}\n`,
        );
      }
      const braces = s.labelPairs === '' ? '' : `{${s.labelPairs}}`;
      out.push(`${name}_sum${braces} ${formatValue(s.sum)}\n${name}_count${braces} ${s.count}\n`);
    }
    return;
  }
  const sample = format === 'openmetrics' && f.type === 'counter' ? `${familyName(name, 'counter', format)}_total` : name;
  for (const s of f.all() as IterableIterator<CounterSeries | GaugeSeries>) {
    out.push(`${sample}${s.labelPairs === '' ? '' : `{${s.labelPairs}}`} ${formatValue(s.value)}\n`);
  }
}

/** Writes a metric object from any prom-client metric's `get()`. */
export function writeObject(m: PromMetricObject, format: ExpositionFormat, out: string[]): void {
  const type = ['counter', 'gauge', 'histogram', 'summary'].includes(m.type) ? m.type : format === 'openmetrics' ? 'unknown' : 'untyped';
  const fam = familyName(m.name, type, format);
  header(out, m.name, type, m.help, '', format);
  for (const v of m.values ?? []) {
    let sample = v.metricName ?? m.name;
    if (type === 'counter') sample = format === 'openmetrics' ? `${fam}_total` : m.name;
    let pairs = '';
    for (const k in v.labels) pairs += `${pairs === '' ? '' : ','}${k}="${escapeLabelValue(String(v.labels[k]))}"`;
    let line = `${sample}${pairs === '' ? '' : `{${pairs}}`} ${formatValue(v.value)}`;
    if (format === 'openmetrics' && v.exemplar) line += exemplarSuffix(v.exemplar.labelSet, v.exemplar.value, v.exemplar.timestamp);
    out.push(`${line}\n`);
  }
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Serializes every metric in `registry`. `onError` receives failures of individual
 * foreign metrics, which are skipped so one broken collector cannot fail the scrape.
 */
export async function serializeRegistry(
  registry: Registry,
  format: ExpositionFormat,
  onError: (err: unknown) => void,
): Promise<string> {
  const out: string[] = [];
  let sliceStart = performance.now();
  for (const m of registry.getMetricsAsArray() as unknown[]) {
    try {
      if (m instanceof Family) writeFamily(m, format, out);
      else {
        const obj = (await (m as { get(): Promise<PromMetricObject> | PromMetricObject }).get()) as PromMetricObject;
        writeObject(obj, format, out);
      }
    } catch (e) {
      onError(e);
    }
    if (performance.now() - sliceStart > SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
  }
  if (format === 'openmetrics') out.push('# EOF\n');
  return out.join('');
}
