/**
 * /metrics over real HTTP while instrumented calls keep running (suite `scrape-http`).
 *
 * Each configuration (implementation, N tool-duration histogram series, format, concurrent
 * scrapers) runs in a fresh `node --expose-gc` child that hosts the server *and* a load of
 * instrumented calls: one call in flight at a time, the next chained with `setImmediate`.
 * The tool awaits one event-loop turn (as any I/O would), so a call's latency, measured
 * from its start to its resolution with `performance.now()`, includes every block it
 * spans. The scrapers run in this (the parent) process, so reading and counting the body
 * does not load the server's loop: on the parent's signal (IPC) the child opens a
 * measurement window, the parent fires K concurrent scrapes (node:http with keep-alive,
 * counting wire bytes, never decompressing), some rounds of them for the small sizes, then
 * closes the window. Then a baseline window (calls only, no scrape) of the same length.
 *
 * - `ours`: `obs.listen()`, scraped with `Accept-Encoding: gzip` as Prometheus does (so gzip);
 *   `ours-plain`: the same server scraped without `Accept-Encoding`.
 * - `prom`: prom-client's own Histogram in a Registry served the usual way,
 *   `res.setHeader('Content-Type', registry.contentType); res.end(await registry.metrics())`
 *   (for OpenMetrics a registry set to `Registry.OPENMETRICS_CONTENT_TYPE`).
 *
 * A stalled reader: a child with N series (no call load), a raw TCP client that reads 16 KB
 * every 50 ms; after a few seconds the child's memory (after GC) above its idle figures, then
 * again a second after the client disconnected.
 *
 *   node --expose-gc --import tsx bench/cases/http-scrape.ts serve <ours|prom> <series> <text|openmetrics> <load|idle>
 *     a server child, driven over IPC by {@link runHttpScrape}
 *   BENCH_HTTP_CPUPROF=dir   `--cpu-prof` every server child, into a directory of its own under dir
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Histogram, Registry, type RegistryContentType } from 'prom-client';
import { createObservability } from 'agent-observability';
import { BUCKETS, TOOL_LABELS } from './peers.js';

export const HTTP_IMPLEMENTATIONS = ['ours', 'ours-plain', 'prom'] as const;
export type HttpImplementation = (typeof HTTP_IMPLEMENTATIONS)[number];
export const HTTP_IMPLEMENTATION_LABELS: Readonly<Record<HttpImplementation, string>> = {
  ours: 'ours (`obs.listen()`, gzip)',
  'ours-plain': 'ours, no Accept-Encoding',
  prom: 'prom-client (`res.end(await registry.metrics())`)',
};
export type HttpFormat = 'text' | 'openmetrics';
type ServerKind = 'ours' | 'prom';

/** What the child measured in one window. Times in ms, memory in bytes. */
export interface LoadWindow {
  readonly ms: number;
  /** Largest gap between turns of a `setImmediate` ticker. */
  readonly blockMs: number;
  /** `monitorEventLoopDelay` (1 ms resolution) maximum. */
  readonly eldMaxMs: number;
  /** Longest GC pause (PerformanceObserver `gc` entries). */
  readonly gcMaxMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly calls: number;
  /** Highest RSS seen (sampled every 10 ms, and the process's high-water mark when the window raised it). */
  readonly peakRss: number;
  /** Serializations that ran in the window (ours: registry walks; prom: `registry.metrics()` calls). */
  readonly passes: number;
}

export interface HttpScrapeRun {
  readonly impl: HttpImplementation;
  readonly series: number;
  readonly format: HttpFormat;
  readonly scrapers: number;
  readonly rounds: number;
  /** Creating the series and starting the server (ms). */
  readonly setupMs: number;
  /** RSS and heap used after GC, before the windows. */
  readonly idleRss: number;
  readonly idleHeap: number;
  readonly scrape: LoadWindow;
  readonly baseline: LoadWindow;
  /** Wall time of each scrape, request to last byte, as the parent saw it (ms). */
  readonly scrapeMs: readonly number[];
  /** Wire bytes of one scrape's body (median). */
  readonly bytes: number;
  /** `Content-Encoding` of the answers (`identity` when none). */
  readonly encoding: string;
  /** Answers other than 200 (e.g. 503 past the pending limit). */
  readonly failed: number;
}

export interface Memory {
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly rss: number;
}

export interface StallRun {
  readonly impl: ServerKind;
  readonly series: number;
  readonly stallMs: number;
  readonly releaseMs: number;
  /** Body bytes the slow client read before it disconnected. */
  readonly readBytes: number;
  /** Total body bytes of one scrape of this server (plain text). */
  readonly bodyBytes: number;
  readonly idle: Memory;
  /** After `stallMs` of slow reading (after GC). */
  readonly stalled: Memory;
  /** `releaseMs` after the client disconnected (after GC). */
  readonly released: Memory;
}

export interface HttpScrapeResult {
  readonly sizes: readonly number[];
  readonly runs: readonly HttpScrapeRun[];
  readonly stalls: readonly StallRun[];
  /** Longest baseline window; longer scrape windows get a baseline this long. */
  readonly baselineMaxMs: number;
}

// ---------------------------------------------------------------------------------------------
// Both sides

const OPENMETRICS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const TEXT_ACCEPT = 'text/plain;version=0.0.4;q=1,*/*;q=0.1';

function requestHeaders(format: HttpFormat, gzip: boolean): Record<string, string> {
  return { Accept: format === 'openmetrics' ? OPENMETRICS_ACCEPT : TEXT_ACCEPT, ...(gzip ? { 'Accept-Encoding': 'gzip' } : {}) };
}

interface Scraped {
  readonly ms: number;
  readonly bytes: number;
  readonly status: number;
  readonly encoding: string;
}

/** One GET /metrics: counts the body's wire bytes (no decompression). */
function scrapeOnce(port: number, headers: Record<string, string>, agent: http.Agent | undefined): Promise<Scraped> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', headers, ...(agent === undefined ? {} : { agent }) }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => void (bytes += c.length));
      res.on('error', reject);
      res.on('end', () => resolve({ ms: performance.now() - t0, bytes, status: res.statusCode ?? 0, encoding: res.headers['content-encoding'] ?? 'identity' }));
    });
    req.on('error', reject);
    req.setTimeout(300_000, () => req.destroy(new Error('scrape timed out')));
  });
}

/** K scrapes at once. */
function round(port: number, k: number, headers: Record<string, string>, agent: http.Agent | undefined): Promise<Scraped[]> {
  return Promise.all(Array.from({ length: k }, () => scrapeOnce(port, headers, agent)));
}

type Command =
  | { readonly cmd: 'memory' }
  | { readonly cmd: 'open' }
  | { readonly cmd: 'close' }
  | { readonly cmd: 'quiet' }
  | { readonly cmd: 'exit' };
type Reply =
  | { readonly ready: { readonly port: number; readonly setupMs: number } }
  | { readonly memory: Memory }
  | { readonly opened: true }
  | { readonly quiet: true }
  | { readonly window: LoadWindow };

// ---------------------------------------------------------------------------------------------
// The server child

/** Tool × agent names: up to 1,000 tools, agents as needed (100k series = 1,000 tools × 100 agents), as in exposition.ts. */
function names(n: number, i: number): [string, string] {
  const tools = Math.min(n, 1000);
  return [`tool_${i % tools}`, `agent_${Math.floor(i / tools)}`];
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** The tool the calls go to: one event-loop turn, as I/O would take. */
const ioTool = async (x: number): Promise<number> => {
  await turn();
  return x + 1;
};

interface Served {
  readonly port: number;
  /** One instrumented call (on an existing series, so the series count stays N). */
  readonly call: (x: number) => Promise<number>;
  /** Serializations started so far. */
  passes(): number;
  close(): Promise<void>;
}

async function serveOurs(n: number): Promise<Served> {
  const registry = new Registry();
  // A pass walks the registry once (writeRegistry): counting the walks shows how scrapes were coalesced.
  let passes = 0;
  const walk = registry.getMetricsAsArray.bind(registry);
  registry.getMetricsAsArray = () => {
    passes++;
    return walk();
  };
  const obs = createObservability({
    registry,
    runtimeMetrics: false,
    logger: false,
    tracing: false,
    cardinality: { maxSeriesPerMetric: n + 10, maxValuesPerLabel: n + 10 },
  });
  for (let i = 0; i < n; i++) {
    const [tool, agent] = names(n, i);
    obs.tool(tool, { agent }).record(0.05 + (i % 7) * 0.1);
  }
  const [tool, agent] = names(n, 0);
  const call = obs.instrumentTool(ioTool, { tool, agent });
  const server = await obs.listen({ port: 0 });
  return { port: server.port, call, passes: () => passes, close: () => obs.shutdown() };
}

async function servePromClient(n: number, format: HttpFormat): Promise<Served> {
  const registry = new Registry<RegistryContentType>();
  if (format === 'openmetrics') registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const hist = new Histogram({ name: 'gen_ai_execute_tool_duration_seconds', help: 'tool duration', labelNames: TOOL_LABELS, buckets: [...BUCKETS], registers: [] });
  registry.registerMetric(hist);
  for (let i = 0; i < n; i++) {
    const [tool, agent] = names(n, i);
    hist.labels(tool, agent, '').observe(0.05 + (i % 7) * 0.1);
  }
  const [tool, agent] = names(n, 0);
  const child = hist.labels(tool, agent, '');
  const call = async (x: number): Promise<number> => {
    const t0 = performance.now();
    const r = await ioTool(x);
    child.observe((performance.now() - t0) / 1000);
    return r;
  };
  let passes = 0;
  const server = http.createServer((_req, res) => {
    passes++;
    void registry.metrics().then((body) => {
      res.setHeader('Content-Type', registry.contentType);
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    call,
    passes: () => passes,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const serve = (kind: ServerKind, n: number, format: HttpFormat): Promise<Served> => (kind === 'ours' ? serveOurs(n) : servePromClient(n, format));

/** Call latencies in log-spaced bins (2 % wide, from 0.1 µs): fixed memory, so recording them adds nothing to the RSS measured. */
class Latencies {
  private static readonly MIN_MS = 1e-4;
  private static readonly STEP = Math.log(1.02);
  private readonly bins = new Float64Array(1200);
  count = 0;
  max = 0;
  add(ms: number): void {
    const i = ms <= Latencies.MIN_MS ? 0 : Math.min(this.bins.length - 1, Math.ceil(Math.log(ms / Latencies.MIN_MS) / Latencies.STEP));
    this.bins[i]! += 1;
    this.count++;
    if (ms > this.max) this.max = ms;
  }
  /** The upper edge of the bin holding quantile q (within 2 %), never above the largest value. */
  quantile(q: number): number {
    const target = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.bins.length; i++) {
      seen += this.bins[i]!;
      if (seen >= target && seen > 0) return Math.min(this.max, Latencies.MIN_MS * 1.02 ** i);
    }
    return this.max;
  }
  reset(): void {
    this.bins.fill(0);
    this.count = 0;
    this.max = 0;
  }
}

/** The call load: one call in flight, the next one a `setImmediate` after the last resolved. */
class Load {
  readonly latencies = new Latencies();
  measuring = false;
  private running = true;
  private i = 0;

  constructor(private readonly call: (x: number) => Promise<number>) {
    setImmediate(this.loop);
  }
  private readonly loop = (): void => {
    const t0 = performance.now();
    void this.call(this.i++).then(() => {
      if (this.measuring) this.latencies.add(performance.now() - t0);
      if (this.running) setImmediate(this.loop);
    });
  };
  stop(): void {
    this.running = false;
  }
}

const maxRss = (): number => process.resourceUsage().maxRSS * 1024;

/** One measurement window: loop blocks (ticker, event-loop delay), GC pauses, call latencies, peak RSS. */
class Window {
  private readonly t0 = performance.now();
  private last = this.t0;
  private maxGap = 0;
  private running = true;
  private readonly eld = monitorEventLoopDelay({ resolution: 1 });
  private gcMax = 0;
  private readonly gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.duration > this.gcMax) this.gcMax = e.duration;
  });
  private peak = process.memoryUsage.rss();
  private readonly sampler = setInterval(() => {
    const r = process.memoryUsage.rss();
    if (r > this.peak) this.peak = r;
  }, 10);
  private readonly highWater = maxRss();
  private readonly passes0: number;

  constructor(
    private readonly load: Load | undefined,
    private readonly served: Served,
  ) {
    this.passes0 = served.passes();
    this.eld.enable();
    this.gcs.observe({ entryTypes: ['gc'] });
    setImmediate(this.tick);
    if (load !== undefined) {
      load.latencies.reset();
      load.measuring = true;
    }
  }
  private readonly tick = (): void => {
    const now = performance.now();
    if (now - this.last > this.maxGap) this.maxGap = now - this.last;
    this.last = now;
    if (this.running) setImmediate(this.tick);
  };

  close(): LoadWindow {
    const end = performance.now();
    this.running = false;
    this.maxGap = Math.max(this.maxGap, end - this.last);
    this.eld.disable();
    this.gcs.disconnect();
    clearInterval(this.sampler);
    const hw = maxRss();
    const lat = this.load?.latencies;
    if (this.load !== undefined) this.load.measuring = false;
    return {
      ms: end - this.t0,
      blockMs: this.maxGap,
      eldMaxMs: this.eld.max / 1e6,
      gcMaxMs: this.gcMax,
      p50Ms: lat?.quantile(0.5) ?? NaN,
      p99Ms: lat?.quantile(0.99) ?? NaN,
      maxMs: lat?.max ?? NaN,
      calls: lat?.count ?? 0,
      peakRss: Math.max(this.peak, process.memoryUsage.rss(), hw > this.highWater ? hw : 0),
      passes: this.served.passes() - this.passes0,
    };
  }
}

/** Heap, external, array buffers and RSS after two GCs (a macrotask turn first, no regexp subject kept alive). */
async function memory(): Promise<Memory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  await new Promise((resolve) => setTimeout(resolve, 50));
  /x/.exec('x');
  gc();
  gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
}

async function child(kind: ServerKind, n: number, format: HttpFormat, withLoad: boolean): Promise<void> {
  const send = (r: Reply): void => void process.send?.(r);
  // Load and warm every code path (both encodings for ours) on a throwaway instance first, so
  // the compiled code is in the idle figures and the measured scrapes run warm.
  {
    const warmN = Math.min(n, 10_000);
    const warm = await serve(kind, warmN, format);
    for (let i = 0; i < 2; i++) {
      await scrapeOnce(warm.port, requestHeaders(format, true), undefined);
      if (kind === 'ours') await scrapeOnce(warm.port, requestHeaders(format, false), undefined);
    }
    await warm.close();
  }
  const s0 = performance.now();
  const served = await serve(kind, n, format);
  const setupMs = performance.now() - s0;
  const load = withLoad ? new Load(served.call) : undefined;
  let window: Window | undefined;
  process.on('message', (m: Command) => {
    switch (m.cmd) {
      case 'memory':
        void memory().then((memory) => send({ memory }));
        break;
      case 'open':
        void memory().then(() => {
          window = new Window(load, served);
          send({ opened: true });
        });
        break;
      case 'close':
        if (window === undefined) throw new Error('no window open');
        send({ window: window.close() });
        window = undefined;
        break;
      case 'quiet':
        load?.stop();
        send({ quiet: true });
        break;
      case 'exit':
        load?.stop();
        void served.close().then(() => process.exit(0));
        break;
    }
  });
  send({ ready: { port: served.port, setupMs } });
}

// ---------------------------------------------------------------------------------------------
// The parent

/** A server child and its IPC replies, in order. */
class ServerChild {
  private readonly proc: ChildProcess;
  private readonly replies: Reply[] = [];
  private readonly waiting: { resolve(r: Reply): void; reject(e: Error): void }[] = [];
  private failure: Error | undefined;

  constructor(kind: ServerKind, n: number, format: HttpFormat, withLoad: boolean) {
    const prof = process.env.BENCH_HTTP_CPUPROF;
    const execArgv = ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx'];
    // A directory per child: every thread (tsx's loader runs in one of its own) writes a profile there.
    if (prof !== undefined && prof !== '') execArgv.push('--cpu-prof', `--cpu-prof-dir=${path.resolve(prof, `${kind}-${n}-${format}-${Date.now()}`)}`);
    this.proc = fork(fileURLToPath(import.meta.url), ['serve', kind, String(n), format, withLoad ? 'load' : 'idle'], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m: Reply) => {
      const w = this.waiting.shift();
      if (w === undefined) this.replies.push(m);
      else w.resolve(m);
    });
    this.proc.on('exit', (code, signal) => {
      if (code === 0) return;
      this.failure = new Error(`scrape-http server child ${kind} ${n} ${format} exited with ${code ?? signal}`);
      for (const w of this.waiting.splice(0)) w.reject(this.failure);
    });
  }

  next(): Promise<Reply> {
    const r = this.replies.shift();
    if (r !== undefined) return Promise.resolve(r);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  ask(c: Command): Promise<Reply> {
    this.proc.send(c);
    return this.next();
  }

  exit(): Promise<void> {
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null) return resolve();
      this.proc.once('exit', () => resolve());
      this.proc.send({ cmd: 'exit' } satisfies Command);
    });
  }
}

type KeysOf<T> = T extends unknown ? keyof T : never;
type ReplyKey = KeysOf<Reply>;
function pick<K extends ReplyKey>(r: Reply, key: K): Extract<Reply, Record<K, unknown>>[K] {
  if (!(key in r)) throw new Error(`expected a ${key} reply, got ${JSON.stringify(r)}`);
  return (r as unknown as Record<K, Extract<Reply, Record<K, unknown>>[K]>)[key];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Not exposition.ts's: importing it would load the OpenTelemetry exporter into every server child. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Plan {
  readonly quick: boolean;
  readonly baselineMaxMs: number;
  rounds(n: number): number;
}

/**
 * One configuration in a child of its own. With `stall` (quick runs: one child fewer), the
 * stalled reader then runs against the same child, its call load stopped first.
 */
async function scrapeRun(
  impl: HttpImplementation, n: number, format: HttpFormat, k: number, plan: Plan, stall?: StallPlan,
): Promise<{ run: HttpScrapeRun; stall: StallRun | undefined }> {
  const kind: ServerKind = impl === 'prom' ? 'prom' : 'ours';
  const server = new ServerChild(kind, n, format, true);
  try {
    const { port, setupMs } = pick(await server.next(), 'ready');
    const headers = requestHeaders(format, impl !== 'ours-plain');
    const agent = new http.Agent({ keepAlive: true, maxSockets: k });
    try {
      // One scrape of the instance itself first where it is cheap (first-scrape work done); at 100k
      // series the first scrape is measured, as in the in-process scrape suite.
      if (n <= 10_000) await scrapeOnce(port, headers, agent);
      const idle = pick(await server.ask({ cmd: 'memory' }), 'memory');
      pick(await server.ask({ cmd: 'open' }), 'opened');
      const rounds = plan.rounds(n);
      const scraped: Scraped[] = [];
      for (let r = 0; r < rounds; r++) scraped.push(...(await round(port, k, headers, agent)));
      const scrape = pick(await server.ask({ cmd: 'close' }), 'window');
      pick(await server.ask({ cmd: 'open' }), 'opened');
      await sleep(Math.min(scrape.ms, plan.baselineMaxMs));
      const baseline = pick(await server.ask({ cmd: 'close' }), 'window');
      const ok = scraped.filter((s) => s.status === 200);
      let stalled: StallRun | undefined;
      if (stall !== undefined) {
        pick(await server.ask({ cmd: 'quiet' }), 'quiet');
        stalled = await stallOn(server, port, kind, n, stall);
      }
      const run: HttpScrapeRun = {
        impl, series: n, format, scrapers: k, rounds, setupMs,
        idleRss: idle.rss, idleHeap: idle.heapUsed,
        scrape, baseline,
        scrapeMs: ok.map((s) => s.ms),
        bytes: median(ok.map((s) => s.bytes)),
        encoding: [...new Set(ok.map((s) => s.encoding))].join(','),
        failed: scraped.length - ok.length,
      };
      return { run, stall: stalled };
    } finally {
      agent.destroy();
    }
  } finally {
    await server.exit();
  }
}

/** A client that reads `chunk` bytes every `everyMs` from a raw socket and nothing in between. */
function slowReader(port: number, chunk: number, everyMs: number): { bytes(): number; close(): void } {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(`GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: ${TEXT_ACCEPT}\r\nConnection: close\r\n\r\n`);
  socket.on('error', () => {});
  let read = 0;
  // No 'data' listener: the socket buffers up to its high-water mark, then stops reading, so the
  // kernel's buffers fill and the server's writes see backpressure.
  const timer = setInterval(() => {
    let want = chunk;
    while (want > 0 && socket.readableLength > 0) {
      const c = socket.read(Math.min(want, socket.readableLength)) as Buffer | null;
      if (c === null) break;
      want -= c.length;
      read += c.length;
    }
    if (socket.readableLength === 0) socket.read(0);
  }, everyMs);
  return {
    bytes: () => read,
    close: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

interface StallPlan {
  readonly stallMs: number;
  readonly releaseMs: number;
}

async function stallOn(server: ServerChild, port: number, kind: ServerKind, n: number, plan: StallPlan): Promise<StallRun> {
  const bodyBytes = (await scrapeOnce(port, requestHeaders('text', false), undefined)).bytes;
  const idle = pick(await server.ask({ cmd: 'memory' }), 'memory');
  const reader = slowReader(port, 16 * 1024, 50);
  await sleep(plan.stallMs);
  const stalled = pick(await server.ask({ cmd: 'memory' }), 'memory');
  const readBytes = reader.bytes();
  reader.close();
  await sleep(plan.releaseMs);
  const released = pick(await server.ask({ cmd: 'memory' }), 'memory');
  return { impl: kind, series: n, ...plan, readBytes, bodyBytes, idle, stalled, released };
}

async function stallRun(kind: ServerKind, n: number, plan: StallPlan): Promise<StallRun> {
  const server = new ServerChild(kind, n, 'text', false);
  try {
    const { port } = pick(await server.next(), 'ready');
    return await stallOn(server, port, kind, n, plan);
  } finally {
    await server.exit();
  }
}

const mb = (b: number): string => `${b >= 0 ? '+' : ''}${(b / 2 ** 20).toFixed(1)} MiB`;

export async function runHttpScrape(cfg: { readonly quick: boolean; readonly filter: RegExp | undefined }, log: (line: string) => void): Promise<HttpScrapeResult> {
  // Quick mode (CI's smoke run): the smallest size, one format and scraper count, ours and
  // prom-client, each stalled reader in the child of its scrape run.
  const quick = cfg.quick;
  const sizes = quick ? [1_000] : [1_000, 10_000, 100_000];
  const formats: readonly HttpFormat[] = quick ? ['text'] : ['text', 'openmetrics'];
  const scrapers = quick ? [1] : [1, 5];
  const impls: readonly HttpImplementation[] = quick ? ['ours', 'prom'] : HTTP_IMPLEMENTATIONS;
  const plan: Plan = { quick, baselineMaxMs: quick ? 500 : 5_000, rounds: (n) => (quick ? 3 : n <= 1_000 ? 10 : n <= 10_000 ? 3 : 1) };
  const stallPlan: StallPlan = quick ? { stallMs: 300, releaseMs: 200 } : { stallMs: 3_000, releaseMs: 1_000 };
  const stallN = quick ? 1_000 : 100_000;
  const keep = (key: string): boolean => cfg.filter === undefined || cfg.filter.test(`scrape-http/${key}`);

  const runs: HttpScrapeRun[] = [];
  const stalls: StallRun[] = [];
  const logStall = (s: StallRun): void =>
    log(
      `  scrape-http: stalled reader, ${s.impl} ${s.series.toLocaleString('en-US')}: heap ${mb(s.stalled.heapUsed - s.idle.heapUsed)}, ` +
        `external ${mb(s.stalled.external - s.idle.external)}, RSS ${mb(s.stalled.rss - s.idle.rss)}; after disconnect heap ` +
        `${mb(s.released.heapUsed - s.idle.heapUsed)}, external ${mb(s.released.external - s.idle.external)}`,
    );
  for (const n of sizes) {
    for (const format of formats) {
      for (const k of scrapers) {
        for (const impl of impls) {
          if (!keep(`${n}/${format}/${k}/${impl}`)) continue;
          const kind: ServerKind = impl === 'prom' ? 'prom' : 'ours';
          const withStall = quick && n === stallN && keep(`stall/${stallN}/${kind}`);
          const { run: r, stall } = await scrapeRun(impl, n, format, k, plan, withStall ? stallPlan : undefined);
          runs.push(r);
          log(
            `  scrape-http: ${impl} ${n.toLocaleString('en-US')} ${format} x${k}: scrape ${median(r.scrapeMs).toFixed(0)} ms, ` +
              `${(r.bytes / 1e6).toFixed(2)} MB ${r.encoding}, block ${r.scrape.blockMs.toFixed(1)} ms (baseline ${r.baseline.blockMs.toFixed(1)}), ` +
              `call p99 ${r.scrape.p99Ms.toFixed(2)} ms, peak RSS ${(r.scrape.peakRss / 2 ** 20).toFixed(0)} MiB, ${r.scrape.passes} passes` +
              `${r.failed > 0 ? `, ${r.failed} failed` : ''}`,
          );
          if (stall !== undefined) {
            stalls.push(stall);
            logStall(stall);
          }
        }
      }
    }
  }
  for (const kind of ['ours', 'prom'] as const) {
    if (stalls.some((s) => s.impl === kind) || !keep(`stall/${stallN}/${kind}`)) continue;
    const s = await stallRun(kind, stallN, stallPlan);
    stalls.push(s);
    logStall(s);
  }
  return { sizes, runs, stalls, baselineMaxMs: plan.baselineMaxMs };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, kind, n, format, load] = process.argv.slice(2);
  if (mode !== 'serve' || (kind !== 'ours' && kind !== 'prom') || (format !== 'text' && format !== 'openmetrics')) {
    throw new Error('usage: http-scrape.ts serve <ours|prom> <series> <text|openmetrics> <load|idle>');
  }
  child(kind, Number(n), format, load === 'load').catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
