/**
 * Serializes a prom-client Registry in either Prometheus text 0.0.4 or OpenMetrics 1.0,
 * chosen per request. Our own families are written straight from their pre-bound series
 * (labels escaped once at bind time); any other metric in the registry (user metrics,
 * prom-client defaults) goes through its `get()`. Work is split into slices that yield to
 * the event loop, so a large scrape does not stall agent calls behind it.
 */
import type { Registry } from 'prom-client';
import { escapeLabelValue } from '../metrics/labels.js';
import { Family, HistogramFamily, formatValue, type CounterSeries, type GaugeSeries, type HistogramSeries, type PromMetricObject } from '../metrics/store.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = Object.freeze({
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
});

/** Time budget of one serialization slice before yielding to the event loop. */
const SLICE_MS = 10;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Anything lines can be pushed to (an array, or the sliced writer). */
interface LineSink {
  push(line: string): unknown;
}

function escapeHelp(help: string, format: ExpositionFormat): string {
  const s = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? s.replace(/"/g, '\\"') : s;
}

function familyName(name: string, type: string, format: ExpositionFormat): string {
  return format === 'openmetrics' && type === 'counter' ? name.replace(/_total$/, '') : name;
}

function header(out: LineSink, name: string, type: string, help: string, unit: string, format: ExpositionFormat): void {
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

/**
 * Where the serializer writes: lines are joined into a flat chunk every {@link CHECK_EVERY}
 * series, and when the slice has used its time budget the event loop gets a turn. So a single
 * family with 100k series is cut into slices too, and the scrape holds a few thousand flat
 * strings instead of millions of small ones (less for the GC to walk, one cheap final join).
 */
class SlicedWriter {
  private start = performance.now();
  constructor(private readonly sliceMs: number) {}
  private lines: string[] = [];
  private readonly chunks: string[] = [];
  push(line: string): void {
    this.lines.push(line);
  }
  /**
   * True when the current slice has used its budget. The lines so far are joined into a chunk
   * first: joining costs as much as writing them, so it belongs inside the slice's budget.
   */
  expired(): boolean {
    this.flush();
    return performance.now() - this.start > this.sliceMs;
  }
  /** Closes the slice and lets the event loop run. */
  async yield(): Promise<void> {
    this.flush();
    await yieldToLoop();
    this.start = performance.now();
  }
  /** The exposition as flat chunks (a few hundred KB each at most). */
  done(): string[] {
    this.flush();
    return this.chunks;
  }
  private flush(): void {
    if (this.lines.length === 0) return;
    this.chunks.push(this.lines.join(''));
    this.lines = [];
  }
}

/** Series written between two looks at the clock (a histogram series is a few microseconds). */
const CHECK_EVERY = 64;

/** The parts of a histogram family's lines that no series changes, built once per scrape. */
interface HistogramParts {
  /** `name_bucket{` */
  readonly bucket: string;
  /** Per bucket, what follows the series' labels up to the value: `0.5"} `… `+Inf"} `. */
  readonly ends: readonly string[];
  readonly sum: string;
  readonly count: string;
  readonly om: boolean;
}

function histogramParts(name: string, le: readonly string[], om: boolean): HistogramParts {
  return { bucket: `${name}_bucket{`, ends: le.map((l) => `${l}"} `), sum: `${name}_sum`, count: `${name}_count`, om };
}

/** One histogram series: its bucket lines, then `_sum` and `_count`. */
function histogramSeries(w: SlicedWriter, s: HistogramSeries, pairs: string, p: HistogramParts): void {
  const pre = pairs === '' ? `${p.bucket}le="` : `${p.bucket}${pairs},le="`;
  const ends = p.ends;
  // Straight from the series' slab (`counts` would copy): bucket counts, then the sum.
  const slab = s.slab;
  const at = s.at;
  const n = ends.length;
  let cum = 0;
  for (let i = 0; i < n; i++) {
    cum += slab[at + i] as number;
    const ex = p.om ? s.exemplars?.[i] : undefined;
    // One piece fewer per line than `${pre}${le}"} ${cum}`: fewer concatenations to build and to flatten.
    w.push(
      ex === undefined
        ? `${pre}${ends[i]}${cum}\n`
        : `${pre}${ends[i]}${cum}${exemplarSuffix(ex.labels, ex.value, ex.timestampSeconds)}\n`,
    );
  }
  const braces = pairs === '' ? '' : `{${pairs}}`;
  // The count is the `+Inf` bucket's cumulative count (the series does not store it twice).
  w.push(`${p.sum}${braces} ${formatValue(slab[at + n] as number)}\n${p.count}${braces} ${cum}\n`);
}

/**
 * Writes one of our families, yielding to the event loop within it when the slice's budget
 * is spent. Series bound or removed during a yield are written or skipped as a Map
 * iteration sees them; each series' own lines are always written in one go.
 */
async function writeFamily(f: Family, format: ExpositionFormat, w: SlicedWriter): Promise<void> {
  f.collect?.();
  if (f.size === 0) return;
  const name = f.def.name;
  header(w, name, f.type, f.help, f.def.unit, format);
  let n = 0;
  if (f instanceof HistogramFamily) {
    const parts = histogramParts(name, f.le, format === 'openmetrics');
    for (const s of f.all()) {
      histogramSeries(w, s, f.labelPairs(s), parts);
      if (++n % CHECK_EVERY === 0 && w.expired()) await w.yield();
    }
    return;
  }
  const sample = format === 'openmetrics' && f.type === 'counter' ? `${familyName(name, 'counter', format)}_total` : name;
  const g = f as Family<CounterSeries | GaugeSeries>;
  for (const s of g.all()) {
    const pairs = g.labelPairs(s);
    w.push(`${sample}${pairs === '' ? '' : `{${pairs}}`} ${formatValue(s.value)}\n`);
    if (++n % CHECK_EVERY === 0 && w.expired()) await w.yield();
  }
}

/** Writes a metric object from any prom-client metric's `get()`. */
export function writeObject(m: PromMetricObject, format: ExpositionFormat, out: LineSink): void {
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

/**
 * Serializes every metric in `registry`, as flat chunks in order. `onError` receives failures
 * of individual foreign metrics, which are skipped so one broken collector cannot fail the
 * scrape. HTTP handlers write the chunks one by one: joining them into one string costs as much
 * again as writing them (V8 copies a large string far slower than it encodes a chunk).
 */
export async function serializeChunks(
  registry: Registry,
  format: ExpositionFormat,
  onError: (err: unknown) => void,
  /** Time budget of a slice (tests pass 0 to yield at every check, Infinity never to). */
  sliceMs: number = SLICE_MS,
): Promise<string[]> {
  const w = new SlicedWriter(sliceMs);
  for (const m of registry.getMetricsAsArray() as unknown[]) {
    try {
      if (m instanceof Family) await writeFamily(m, format, w);
      else {
        const obj = (await (m as { get(): Promise<PromMetricObject> | PromMetricObject }).get()) as PromMetricObject;
        writeObject(obj, format, w);
      }
    } catch (e) {
      onError(e);
    }
    if (w.expired()) await w.yield();
  }
  if (format === 'openmetrics') w.push('# EOF\n');
  return w.done();
}

/** {@link serializeChunks} as one string (`obs.metrics()`). */
export async function serializeRegistry(
  registry: Registry,
  format: ExpositionFormat,
  onError: (err: unknown) => void,
  sliceMs: number = SLICE_MS,
): Promise<string> {
  return (await serializeChunks(registry, format, onError, sliceMs)).join('');
}
