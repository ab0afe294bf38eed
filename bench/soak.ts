/**
 * Soak: 10 million instrumented calls (100k in quick mode) spread over 1,000 tool series
 * (sync and async, 1 % failing, one SLO tapping a tool, a scrape every 10 % of the run),
 * then the heap after a forced GC and the process's active resources and listeners,
 * compared with the same readings taken after a warm-up. Anything kept per call would
 * show as megabytes (1 byte per call is 10 MB); a timer or listener left per handle,
 * scrape or SLO check would show in the counts.
 *
 *   npm run bench:soak               (node --expose-gc --import tsx bench/soak.ts)
 *   BENCH_QUICK=1 npm run bench:soak
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { createObservability } from 'agent-observability';

export interface SoakResult {
  readonly calls: number;
  readonly series: number;
  readonly seconds: number;
  /** Heap used + array buffers after a forced GC, after the warm-up and at the end (bytes). */
  readonly heapStart: number;
  readonly heapEnd: number;
  readonly resourcesStart: Readonly<Record<string, number>>;
  readonly resourcesEnd: Readonly<Record<string, number>>;
  readonly listenersStart: number;
  readonly listenersEnd: number;
  /** Series exported in the last scrape (tool histogram `_count` lines). */
  readonly exportedSeries: number;
  /** Calls counted in the last scrape (sum of the tool histogram's `_count`). */
  readonly counted: number;
}

function collector(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

async function heap(gc: () => void): Promise<number> {
  // A macrotask turn first (what the microtask queue holds is released then), and no regexp subject kept alive.
  await new Promise((resolve) => setTimeout(resolve, 20));
  /x/.exec('x');
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

const listeners = (): number => process.eventNames().reduce((n, e) => n + process.listenerCount(e), 0);

export async function runSoak(cfg: { readonly quick: boolean }, log: (line: string) => void = () => {}): Promise<SoakResult> {
  const gc = collector();
  const total = cfg.quick ? 100_000 : 10_000_000;
  const SERIES = 1_000;
  const obs = createObservability({
    runtimeMetrics: false,
    logger: false,
    cardinality: { maxValuesPerLabel: 2_000 },
    slos: [{ name: 'tool-0-availability', target: { kind: 'tool', name: 'tool_0' }, objective: 0.99, availability: {} }],
  });
  const fail = new Error('soak failure');
  const syncTool = (i: number): number => {
    if (i % 100 === 99) throw fail;
    return i + 1;
  };
  const asyncTool = async (i: number): Promise<number> => {
    if (i % 100 === 99) throw fail;
    return i + 1;
  };
  const syncs = Array.from({ length: SERIES }, (_, k) => obs.instrumentTool(syncTool, { tool: `tool_${k}`, agent: 'soak' }));
  const asyncs = Array.from({ length: SERIES }, (_, k) => obs.instrumentTool(asyncTool, { tool: `tool_${k}`, agent: 'soak' }));

  let sink = 0;
  let done = 0;
  /** `n` calls: nine sync ones, then one awaited async one, round-robin over the series. */
  const run = async (n: number): Promise<void> => {
    const end = done + n;
    while (done < end) {
      const i = done++;
      const k = i % SERIES;
      if (i % 10 === 9) {
        try {
          sink += await (asyncs[k] as (i: number) => Promise<number>)(i);
        } catch {
          sink -= 1;
        }
      } else {
        try {
          sink += (syncs[k] as (i: number) => number)(i);
        } catch {
          sink -= 1;
        }
      }
    }
  };
  const scrape = async (): Promise<{ series: number; counted: number }> => {
    const lines = (await obs.metrics()).body.split('\n').filter((l) => l.startsWith('gen_ai_execute_tool_duration_seconds_count{'));
    return { series: lines.length, counted: lines.reduce((a, l) => a + Number(l.split(' ').pop()), 0) };
  };

  // Warm-up: every series (ok and error) bound, the JIT settled, one scrape and check done.
  await run(Math.max(SERIES * 20, total / 100));
  await scrape();
  obs.sla.check();
  const heapStart = await heap(gc);
  const resourcesStart = resources();
  const listenersStart = listeners();

  const t0 = performance.now();
  const chunk = total / 10;
  let last = { series: 0, counted: 0 };
  for (let c = 0; c < 10; c++) {
    await run(chunk);
    last = await scrape();
    obs.sla.check();
    log(`  soak: ${((c + 1) * chunk).toLocaleString('en-US')} calls`);
  }
  const seconds = (performance.now() - t0) / 1000;

  const heapEnd = await heap(gc);
  const result: SoakResult = {
    calls: total,
    series: SERIES,
    seconds,
    heapStart,
    heapEnd,
    resourcesStart,
    resourcesEnd: resources(),
    listenersStart,
    listenersEnd: listeners(),
    exportedSeries: last.series,
    counted: last.counted,
  };
  await obs.shutdown();
  if (sink === 0.5) log('unreachable');
  return result;
}

/** Same counts per resource type (timers, handles, …) at the start and the end. */
export function sameResources(r: SoakResult): boolean {
  const keys = new Set([...Object.keys(r.resourcesStart), ...Object.keys(r.resourcesEnd)]);
  return [...keys].every((k) => (r.resourcesStart[k] ?? 0) === (r.resourcesEnd[k] ?? 0));
}

export function describeSoak(r: SoakResult): string {
  const mb = (b: number): string => `${(b / 2 ** 20).toFixed(2)} MiB`;
  const res = (x: Readonly<Record<string, number>>): string => Object.entries(x).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  return [
    `${r.calls.toLocaleString('en-US')} calls over ${r.series.toLocaleString('en-US')} tool series in ${r.seconds.toFixed(1)} s ` +
      `(${((r.seconds * 1e9) / r.calls).toFixed(0)} ns per call, sync and async, 1 % failing, 10 scrapes + SLO checks)`,
    `heap after forced GC: start ${mb(r.heapStart)}, end ${mb(r.heapEnd)}, delta ${((r.heapEnd - r.heapStart) / 1024).toFixed(1)} KiB ` +
      `(${((r.heapEnd - r.heapStart) / r.calls).toFixed(4)} B per call)`,
    `active resources: start ${res(r.resourcesStart)}; end ${res(r.resourcesEnd)}`,
    `process listeners: start ${r.listenersStart}, end ${r.listenersEnd}`,
    `last scrape: ${r.exportedSeries.toLocaleString('en-US')} series, ${r.counted.toLocaleString('en-US')} calls counted`,
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick') || (process.env.BENCH_QUICK !== undefined && process.env.BENCH_QUICK !== '' && process.env.BENCH_QUICK !== '0');
  runSoak({ quick }, (l) => void process.stderr.write(`${l}\n`)).then(
    (r) => {
      process.stdout.write(`${describeSoak(r)}\n`);
      const drift = Math.abs(r.heapEnd - r.heapStart);
      const ok = drift < 2 ** 20 && sameResources(r) && r.listenersEnd === r.listenersStart;
      process.stdout.write(ok ? 'soak: flat\n' : 'soak: NOT flat\n');
      if (!ok) process.exitCode = 1;
    },
    (e: unknown) => {
      process.stderr.write(`soak failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
