/**
 * Scrape cost for N tool-duration histogram series (15 buckets + _sum + _count each), ours
 * vs prom-client's own Histogram (`registry.metrics()`) vs the OpenTelemetry Prometheus
 * exporter (`collect()` + `PrometheusSerializer#serialize`, exactly what its HTTP handler
 * does). Every (implementation, N) runs in a fresh `node --expose-gc` process, so heap per
 * series is measured on a clean heap (after a first scrape, when every implementation has
 * reached its steady state) and no run inherits another's garbage.
 *
 * Also the longest stretch the event loop was blocked during a scrape: a `setImmediate`
 * ticker records the largest gap between its turns.
 *
 *   node --expose-gc --import tsx bench/cases/exposition.ts <ours|prom|otel> <series> <scrapes>
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Histogram, Registry } from 'prom-client';
import { createObservability } from 'agent-observability';
import { BUCKETS, TOOL_LABELS } from './peers.js';

export const IMPLEMENTATIONS = ['ours', 'prom', 'prom-bound', 'otel'] as const;
export type Implementation = (typeof IMPLEMENTATIONS)[number];
export const IMPLEMENTATION_LABELS: Readonly<Record<Implementation, string>> = {
  ours: 'ours (`obs.metrics()`)',
  prom: 'prom-client Histogram (`registry.metrics()`)',
  'prom-bound': 'prom-client, bound children kept (as handles)',
  otel: 'OTel Prometheus exporter (`collect()` + serializer)',
};

export interface ScrapeRun {
  readonly impl: Implementation;
  readonly series: number;
  /** Wall time of each measured scrape (ms). */
  readonly scrapeMs: readonly number[];
  /** Longest event-loop block during each measured scrape (ms). */
  readonly blockMs: readonly number[];
  readonly bytes: number;
  readonly lines: number;
  /** (heap used + array buffers) after the series exist and one scrape ran, minus before; per series. */
  readonly heapPerSeries: number | undefined;
  /** Time to create the series and record one value in each (ms). */
  readonly setupMs: number;
}
export interface ExpositionResult {
  readonly sizes: readonly number[];
  readonly runs: readonly ScrapeRun[];
}

/** One scrape through the implementation's HTTP path; resolves with what was written to the response. */
interface Target {
  scrape(): Promise<readonly (string | Buffer)[]>;
}

/**
 * A response that only encodes what it is given, as a socket write would (`Buffer.from` of
 * each string), so every implementation pays for turning its text into bytes.
 */
class SinkResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  destroyed = false;
  readonly chunks: (string | Buffer)[] = [];
  bytes = 0;
  private finished!: () => void;
  readonly done = new Promise<void>((resolve) => (this.finished = resolve));
  setHeader(): this {
    return this;
  }
  writeHead(status: number): this {
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }
  write(chunk: string | Buffer): boolean {
    this.chunks.push(chunk);
    this.bytes += typeof chunk === 'string' ? Buffer.from(chunk, 'utf8').length : chunk.length;
    return true;
  }
  end(chunk?: string): this {
    if (chunk !== undefined) this.write(chunk);
    this.finished();
    this.emit('close');
    return this;
  }
  destroy(): void {
    this.destroyed = true;
    this.finished();
    this.emit('close');
  }
}
const GET = { method: 'GET', headers: {}, url: '/metrics' };

/** Tool × agent names: up to 1,000 tools, agents as needed (100k series = 1,000 tools × 100 agents). */
function names(n: number, i: number): [string, string] {
  const tools = Math.min(n, 1000);
  return [`tool_${i % tools}`, `agent_${Math.floor(i / tools)}`];
}

/**
 * An empty instance of `impl`; `populate(n)` then creates n series, one observation each.
 * `scrape()` goes through the implementation's HTTP path into a {@link SinkResponse}: ours
 * `obs.metricsHandler()` (chunks, written one by one), prom-client `res.end(await
 * registry.metrics())`, OpenTelemetry its exporter's own `getMetricsRequestHandler`.
 */
function build(impl: Implementation, capacity: number): Target & { populate(n: number): void } {
  switch (impl) {
    case 'ours': {
      const obs = createObservability({
        runtimeMetrics: false,
        logger: false,
        tracing: false,
        cardinality: { maxSeriesPerMetric: capacity + 10, maxValuesPerLabel: capacity + 10 },
      });
      const handler = obs.metricsHandler();
      return {
        populate: (n) => {
          for (let i = 0; i < n; i++) {
            const [tool, agent] = names(n, i);
            obs.tool(tool, { agent }).record(0.05 + (i % 7) * 0.1);
          }
        },
        scrape: async () => {
          const res = new SinkResponse();
          handler(GET as never, res as never);
          await res.done;
          return res.chunks;
        },
      };
    }
    case 'prom':
    case 'prom-bound': {
      // 'prom-bound': the children kept in a map, as a user who pre-binds them for a fast path (our handles) would.
      const bound = impl === 'prom-bound' ? new Map<string, ReturnType<Histogram['labels']>>() : undefined;
      const registry = new Registry();
      const hist = new Histogram({ name: 'gen_ai_execute_tool_duration_seconds', help: 'tool duration', labelNames: TOOL_LABELS, buckets: [...BUCKETS], registers: [registry] });
      return {
        populate: (n) => {
          for (let i = 0; i < n; i++) {
            const [tool, agent] = names(n, i);
            const child = hist.labels(tool, agent, '');
            bound?.set(`${tool}\u0000${agent}`, child);
            child.observe(0.05 + (i % 7) * 0.1);
          }
        },
        scrape: async () => {
          const res = new SinkResponse();
          res.end(await registry.metrics());
          return res.chunks;
        },
      };
    }
    case 'otel': {
      const exporter = new PrometheusExporter({ preventServerStart: true });
      const provider = new MeterProvider({
        readers: [exporter],
        views: [{ instrumentName: 'gen_ai.execute_tool.duration', aggregationCardinalityLimit: capacity + 10 }],
      });
      const hist = provider.getMeter('bench').createHistogram('gen_ai.execute_tool.duration', { unit: 's', advice: { explicitBucketBoundaries: [...BUCKETS] } });
      return {
        populate: (n) => {
          for (let i = 0; i < n; i++) {
            const [tool, agent] = names(n, i);
            hist.record(0.05 + (i % 7) * 0.1, { 'gen_ai.tool.name': tool, 'gen_ai.agent.name': agent, 'error.type': '' });
          }
        },
        // The exporter's own request handler: collect, then serialize with its default options.
        scrape: async () => {
          const res = new SinkResponse();
          exporter.getMetricsRequestHandler(GET as never, res as never);
          await res.done;
          return res.chunks;
        },
      };
    }
  }
}

/** One scrape: wall time, longest event-loop block (setImmediate ticker), body. */
async function timed(t: Target): Promise<{ ms: number; blockMs: number; body: readonly (string | Buffer)[] }> {
  let last = performance.now();
  let maxGap = 0;
  let running = true;
  const tick = (): void => {
    const now = performance.now();
    if (now - last > maxGap) maxGap = now - last;
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const t0 = performance.now();
  last = t0;
  const body = await t.scrape();
  const end = performance.now();
  running = false;
  maxGap = Math.max(maxGap, end - last);
  await new Promise<void>((resolve) => setImmediate(resolve));
  return { ms: end - t0, blockMs: maxGap, body };
}

/** Waits a macrotask turn first: what a finished scrape still holds through the microtask queue is released only then. */
async function heapNow(gc: () => void): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  // RegExp statics (`RegExp.input`, `$_`) keep the last subject alive: a serializer that ran a
  // regexp over its whole output would otherwise have the body counted as its own memory.
  /x/.exec('x');
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** The child: builds one implementation with `n` series and scrapes it. */
async function child(impl: Implementation, n: number, scrapes: number, measureHeap = true): Promise<ScrapeRun> {
  const gc = measureHeap ? (globalThis as { gc?: () => void }).gc : undefined;
  // Load and warm every code path first, on a throwaway instance big enough to take the paths the
  // measured one takes (a scrape slices and streams differently past a few thousand series), so
  // the code the JIT compiles for them is in the heap baseline, not counted per series.
  {
    const warmN = Math.min(n, 10_000);
    const warm = build(impl, warmN);
    warm.populate(warmN);
    await warm.scrape();
    await warm.scrape();
  }
  // The instance exists (and was scraped once) before the baseline: its fixed cost is not spread over the series.
  const target = build(impl, n);
  await target.scrape();
  const h0 = gc === undefined ? undefined : await heapNow(gc);
  const s0 = performance.now();
  target.populate(n);
  const setupMs = performance.now() - s0;
  if (process.env.BENCH_DEBUG_HEAP !== undefined && gc !== undefined) process.stderr.write(`heap before scrape: ${((await heapNow(gc)) - (h0 as number)) / n} B/series\n`);
  const first = await timed(target);
  const bytes = first.body.reduce((n, c) => n + Buffer.byteLength(c), 0);
  const lines = first.body.reduce((n, c) => n + c.toString().split('\n').filter((l) => l !== '' && !l.startsWith('#')).length, 0);
  first.body = [];
  const h1 = gc === undefined ? undefined : await heapNow(gc);
  // The first scrape warms the JIT up; on the biggest runs (seconds per scrape) it counts.
  const warmup = n <= 10_000;
  const scrapeMs: number[] = warmup ? [] : [first.ms];
  const blockMs: number[] = warmup ? [] : [first.blockMs];
  while (scrapeMs.length < scrapes) {
    gc?.();
    const r = await timed(target);
    scrapeMs.push(r.ms);
    blockMs.push(r.blockMs);
  }
  return {
    impl,
    series: n,
    scrapeMs,
    blockMs,
    bytes,
    lines,
    heapPerSeries: h0 === undefined || h1 === undefined ? undefined : (h1 - h0) / n,
    setupMs,
  };
}

/** Runs one (implementation, N) child with `node --expose-gc` (same Node binary) and returns its result. */
function spawnChild(impl: Implementation, n: number, scrapes: number): Promise<ScrapeRun> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=4096', '--import', 'tsx', script, impl, String(n), String(scrapes)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`exposition child ${impl} ${n} exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() as string) as ScrapeRun);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

/** Scrapes per size: more for small sizes, where one scrape is short and noisy; one for the slowest (OTel at 100k, ~15 s). */
function scrapesFor(impl: Implementation, n: number, quick: boolean): number {
  if (quick) return 2;
  return n <= 1_000 ? 9 : n <= 10_000 ? 5 : impl === 'otel' ? 1 : 2;
}

const HEAP_REPEATS = 3;
const HEAP_REPEAT_MAX_SERIES = 10_000;

export async function runExposition(cfg: { readonly quick: boolean; readonly filter: RegExp | undefined }, log: (line: string) => void): Promise<ExpositionResult> {
  // Quick mode caps the size: CI runs it as a smoke test.
  const sizes = cfg.quick ? [300] : [1_000, 10_000, 100_000];
  const runs: ScrapeRun[] = [];
  for (const n of sizes) {
    for (const impl of IMPLEMENTATIONS) {
      if (cfg.filter !== undefined && !cfg.filter.test(`exposition/${n}/${impl}`)) continue;
      // Quick runs (a smoke test) stay in this process: no clean heap, so no heap figure.
      let r = cfg.quick ? await child(impl, n, scrapesFor(impl, n, true), false) : await spawnChild(impl, n, scrapesFor(impl, n, false));
      if (!cfg.quick && n <= HEAP_REPEAT_MAX_SERIES && r.heapPerSeries !== undefined) {
        // The heap of a process holding a few MB of series moves by tens of bytes per series with GC
        // timing (the code the JIT keeps, arrays mid-growth): its figure is the median of three processes.
        const heaps = [r.heapPerSeries];
        for (let k = 1; k < HEAP_REPEATS; k++) heaps.push((await spawnChild(impl, n, 1)).heapPerSeries ?? NaN);
        r = { ...r, heapPerSeries: median(heaps.filter((h) => Number.isFinite(h))) };
      }
      runs.push(r);
      log(`  exposition: ${impl} ${n.toLocaleString('en-US')} series: ${median(r.scrapeMs).toFixed(1)} ms, ${(r.bytes / 1e6).toFixed(2)} MB, longest block ${Math.max(...r.blockMs).toFixed(1)} ms`);
    }
  }
  return { sizes, runs };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [impl, n, scrapes] = process.argv.slice(2);
  if (!IMPLEMENTATIONS.includes(impl as Implementation)) throw new Error(`usage: exposition.ts <${IMPLEMENTATIONS.join('|')}> <series> <scrapes>`);
  child(impl as Implementation, Number(n), Number(scrapes)).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
