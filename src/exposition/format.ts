/**
 * Serializes a prom-client Registry in either Prometheus text 0.0.4 or OpenMetrics 1.0,
 * chosen per request, into a bounded sink that a consumer drains. Our own families write
 * their samples through `Family.writeTo` (the one writer, also behind prom-client's
 * `registry.metrics()`); any other metric in the registry (user metrics, prom-client
 * defaults) goes through its `get()`. Generation pauses while the consumer is full and
 * yields to the event loop between time slices, so neither memory nor the loop block grows
 * with the number of series.
 */
import type { Registry } from 'prom-client';
import { escapeLabelValue } from '../metrics/labels.js';
import type { SampleFamilyType, SampleSink } from '../metrics/sink.js';
import { Family, formatValue, type Exemplar, type PromMetricObject } from '../metrics/store.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = Object.freeze({
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
});

/** Time budget of one serialization slice before yielding to the event loop. */
export const SLICE_MS = 10;
/** Characters buffered before they go to the consumer as one chunk (and the clock is read). */
const CHUNK_CHARS = 64 * 1024;

/** Where a {@link TextSink} sends its chunks: a socket fan-out, a gzip stream, or an array. */
export interface ChunkConsumer {
  /** Takes one chunk; `false` when it wants no more before {@link ChunkConsumer.drained} resolves. */
  write(chunk: string): boolean;
  /** Resolves when the consumer takes chunks again. */
  drained(): Promise<void>;
}

/** Thrown out of a serialization whose consumer went away; never reaches user code. */
export class ScrapeAbortedError extends Error {
  override readonly name = 'ScrapeAbortedError';
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function escapeHelp(help: string, format: ExpositionFormat): string {
  const s = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? s.replace(/"/g, '\\"') : s;
}

function exemplarSuffix(labels: Readonly<Record<string, string>>, value: number, ts: number): string {
  let pairs = '';
  for (const k in labels) pairs += `${pairs === '' ? '' : ','}${k}="${escapeLabelValue(labels[k] as string)}"`;
  return ` # {${pairs}} ${formatValue(value)} ${ts}`;
}

/**
 * Writes samples as exposition lines. Lines are joined into flat chunks of
 * {@link CHUNK_CHARS} (a few thousand flat strings per 100 MB instead of millions of small
 * ones), and at each chunk the sink looks at its consumer and the clock: when the consumer is
 * full or the slice has used its budget, it reports `blocked` and the writer pauses in
 * {@link TextSink.resume}. So one scrape holds about one chunk, however many series there are.
 */
export class TextSink implements SampleSink {
  blocked = false;
  private lines: string[] = [];
  private chars = 0;
  private full = false;
  private aborted = false;
  private sliceStart = performance.now();
  /** The bucket line prefix of the last series (`name{pairs,le="`), rebuilt when the series changes. */
  private preName = '';
  private prePairs: string | undefined;
  private pre = '';
  private readonly om: boolean;

  constructor(
    private readonly consumer: ChunkConsumer,
    readonly format: ExpositionFormat,
    private readonly sliceMs: number = SLICE_MS,
  ) {
    this.om = format === 'openmetrics';
  }

  family(name: string, type: SampleFamilyType, help: string, unit: string): void {
    const fam = this.om && type === 'counter' && name.endsWith('_total') ? name.slice(0, -6) : name;
    const shownType = type === 'unknown' && !this.om ? 'untyped' : type;
    if (this.om) {
      this.push(`# TYPE ${fam} ${shownType}\n`);
      if (unit !== '' && fam.endsWith(`_${unit}`)) this.push(`# UNIT ${fam} ${unit}\n`);
      this.push(`# HELP ${fam} ${escapeHelp(help, this.format)}\n`);
    } else {
      this.push(`# HELP ${fam} ${escapeHelp(help, this.format)}\n# TYPE ${fam} ${shownType}\n`);
    }
  }

  sample(name: string, pairs: string, le: string | undefined, value: number, exemplar: Exemplar | undefined): void {
    let line: string;
    if (le === undefined) {
      line = pairs === '' ? `${name} ${formatValue(value)}` : `${name}{${pairs}} ${formatValue(value)}`;
    } else {
      // A histogram writes a dozen bucket lines per series: its prefix is built once.
      if (pairs !== this.prePairs || name !== this.preName) {
        this.preName = name;
        this.prePairs = pairs;
        this.pre = pairs === '' ? `${name}{le="` : `${name}{${pairs},le="`;
      }
      line = `${this.pre}${le}"} ${formatValue(value)}`;
    }
    this.push(
      exemplar !== undefined && this.om
        ? `${line}${exemplarSuffix(exemplar.labels, exemplar.value, exemplar.timestampSeconds)}\n`
        : `${line}\n`,
    );
  }

  async resume(): Promise<void> {
    if (this.aborted) throw new ScrapeAbortedError('scrape abandoned');
    if (this.full) {
      await this.consumer.drained();
      this.full = false;
    }
    // A socket that drains at once calls back through process.nextTick, never through the event
    // loop: without this, drain → write → drain could chain for seconds without a loop turn. So
    // the slice ends only at a real turn (setImmediate), whatever happened in between.
    if (performance.now() - this.sliceStart > this.sliceMs) {
      await yieldToLoop();
      this.sliceStart = performance.now();
    }
    if (this.aborted) throw new ScrapeAbortedError('scrape abandoned');
    this.blocked = false;
  }

  /** Stops the writer at its next look at the sink (the consumer went away). */
  abort(): void {
    this.aborted = true;
    this.blocked = true;
  }

  /** Writes what is buffered, and the OpenMetrics `# EOF`. */
  end(): void {
    if (this.om) this.push('# EOF\n');
    this.flush();
  }

  private push(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= CHUNK_CHARS) this.flush();
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    const chunk = this.lines.join('');
    this.lines = [];
    this.chars = 0;
    if (!this.consumer.write(chunk)) this.full = true;
    // Joining costs as much as writing the lines, so it counts inside the slice's budget.
    if (this.full || performance.now() - this.sliceStart > this.sliceMs) this.blocked = true;
  }
}

/** The sample name a foreign metric's value is written under. */
function foreignSampleName(m: PromMetricObject, type: SampleFamilyType, sampleName: string | undefined, om: boolean): string {
  if (type !== 'counter') return sampleName ?? m.name;
  // prom-client counters are registered without `_total` and get it only in OpenMetrics.
  return om ? `${m.name.replace(/_total$/, '')}_total` : m.name;
}

const KNOWN_TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary']);

const ANY_SURROGATE = /[\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A foreign (user's prom-client) label value as valid UTF-8. Lone surrogates would all become
 * U+FFFD on the wire, so two values differing only in them would be one series twice; each is
 * written as the text `\uD800` instead, which keeps them apart.
 */
function foreignLabelValue(v: string): string {
  return ANY_SURROGATE.test(v) ? v.replace(LONE_SURROGATE, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase()}`) : v;
}

/** Writes a metric object from any prom-client metric's `get()`, pausing between values when the sink is blocked. */
async function writeForeign(m: PromMetricObject, sink: TextSink): Promise<void> {
  const type = (KNOWN_TYPES.has(m.type) ? m.type : 'unknown') as SampleFamilyType;
  const om = sink.format === 'openmetrics';
  sink.family(m.name, type, m.help, '');
  for (const v of m.values ?? []) {
    if (sink.blocked) await sink.resume();
    let pairs = '';
    for (const k in v.labels) pairs += `${pairs === '' ? '' : ','}${k}="${escapeLabelValue(foreignLabelValue(String(v.labels[k])))}"`;
    const ex = v.exemplar;
    sink.sample(
      foreignSampleName(m, type, v.metricName, om), pairs, undefined, v.value,
      ex ? { labels: ex.labelSet, value: ex.value, timestampSeconds: ex.timestamp } : undefined,
    );
  }
}

/**
 * Writes every metric in `registry` into `sink`, then ends it. `onError` receives failures
 * of individual metrics, which are skipped so one broken collector cannot fail the scrape;
 * a failure of the registry itself, or {@link ScrapeAbortedError}, rejects.
 */
export async function writeRegistry(registry: Registry, sink: TextSink, onError: (err: unknown) => void): Promise<void> {
  for (const m of registry.getMetricsAsArray() as unknown[]) {
    try {
      if (m instanceof Family) {
        const walk = m.writeTo(sink);
        try {
          while (walk.next().done !== true) await sink.resume();
        } finally {
          walk.return();
        }
      } else {
        await writeForeign((await (m as { get(): Promise<PromMetricObject> | PromMetricObject }).get()) as PromMetricObject, sink);
      }
    } catch (e) {
      if (e instanceof ScrapeAbortedError) throw e;
      onError(e);
    }
    if (sink.blocked) await sink.resume();
  }
  sink.end();
}

/** Collects chunks in memory (never full). */
class ArrayConsumer implements ChunkConsumer {
  readonly chunks: string[] = [];
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
}

/** The whole exposition as one string (`obs.metrics()`), still yielding between slices. */
export async function serializeRegistry(
  registry: Registry,
  format: ExpositionFormat,
  onError: (err: unknown) => void,
  /** Time budget of a slice (tests pass 0 to yield at every chunk, Infinity never to). */
  sliceMs: number = SLICE_MS,
): Promise<string> {
  const consumer = new ArrayConsumer();
  await writeRegistry(registry, new TextSink(consumer, format, sliceMs), onError);
  return consumer.chunks.join('');
}
