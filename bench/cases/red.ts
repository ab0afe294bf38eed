/**
 * RED recording cost: a bare tool call vs the same call through our wrapper, our
 * pre-bound handle, raw prom-client (children bound once) and a hand-rolled floor, for
 * async and sync tools. Every hand-rolled async variant observes on a `.then` side
 * branch and returns the callee's promise, as our wrapper does, so the rows differ only
 * in what they record; the `async`/`await` floor shows what that idiom costs on top.
 */
import { performance } from 'node:perf_hooks';
import { Counter, Histogram, Registry } from 'prom-client';
import { catalog, createObservability } from 'agent-observability';
import type { Suite } from '../harness.js';

const TOOL_LABELS = ['gen_ai_tool_name', 'gen_ai_agent_name', 'error_type'] as const;

/** A Float64Array histogram with the same buckets as ours: the least any recorder can do. */
class FloorHistogram {
  readonly bounds = Float64Array.from(catalog.CALL_DURATION_BUCKETS);
  readonly counts = new Float64Array(this.bounds.length + 1);
  sum = 0;
  observe(v: number): void {
    const b = this.bounds;
    let k = 0;
    while (k < b.length && v > (b[k] as number)) k++;
    this.counts[k]! += 1;
    this.sum += v;
  }
  total(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }
}

function promTool(registry: Registry, name: string) {
  const hist = new Histogram({
    name: `bench_${name}_duration_seconds`,
    help: 'raw prom-client baseline',
    labelNames: TOOL_LABELS,
    buckets: [...catalog.CALL_DURATION_BUCKETS],
    registers: [registry],
  });
  const calls = new Counter({
    name: `bench_${name}_calls_total`,
    help: 'raw prom-client baseline',
    labelNames: ['gen_ai_tool_name', 'gen_ai_agent_name'] as const,
    registers: [registry],
  });
  // Children resolved once, as a careful prom-client user would.
  return { hist, ok: hist.labels(name, 'a', ''), err: hist.labels(name, 'a', 'Error'), calls: calls.labels(name, 'a') };
}

async function promCount(hist: Histogram): Promise<number> {
  const m = await hist.get();
  return m.values.filter((v) => v.metricName?.endsWith('_count') === true).reduce((a, v) => a + v.value, 0);
}

/** Builds the RED suite (one observability handle, one prom-client registry). */
export function redSuite(): Suite {
  const asyncTool = async (x: number): Promise<number> => x + 1;
  const syncTool = (x: number): number => x + 1;

  const obs = createObservability({ runtimeMetrics: false, logger: false });
  const wrappedAsync = obs.instrumentTool(asyncTool, { tool: 'search', agent: 'a' });
  const searchHandle = obs.tool('search', { agent: 'a' });
  const wrappedSync = obs.instrumentTool(syncTool, { tool: 'lookup', agent: 'a' });
  const lookupHandle = obs.tool('lookup', { agent: 'a' });

  const registry = new Registry();
  const promSearch = promTool(registry, 'search');
  const promLookup = promTool(registry, 'lookup');

  const floorAsync = new FloorHistogram();
  const floorAwait = new FloorHistogram();
  const floorSync = new FloorHistogram();
  const now = (): number => performance.now();

  return {
    id: 'red',
    title: 'RED recording cost per tool call',
    description:
      'Per-call cost of recording duration/outcome for a trivial tool (`x => x + 1`), against the bare call. ' +
      'Ours: `instrumentTool` wrapper and pre-bound `obs.tool(...).run(...)`, metrics only (no runtime metrics, no logger). ' +
      'Raw prom-client: pre-bound histogram child `observe` + counter child `inc`, timed with `performance.now()`. ' +
      'Floor: `performance.now()` twice + a Float64Array bucket scan/increment/sum.',
    groups: [
      {
        id: 'async',
        title: 'async tool (`async (x) => x + 1`, awaited)',
        mode: 'async',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: '1. bare call', op: (i) => asyncTool(i) },
          { id: 'wrap', label: '2. ours: instrumentTool wrapper', op: (i) => wrappedAsync(i) },
          { id: 'handle', label: '3. ours: obs.tool().run(() => fn())', op: (i) => searchHandle.run(() => asyncTool(i)) },
          {
            id: 'prom',
            label: '4. raw prom-client (bound children)',
            op: (i) => {
              const t0 = now();
              const p = asyncTool(i);
              p.then(
                () => {
                  promSearch.ok.observe((now() - t0) / 1000);
                  promSearch.calls.inc();
                },
                () => promSearch.err.observe((now() - t0) / 1000),
              );
              return p;
            },
          },
          {
            id: 'floor',
            label: '5. floor: 2x now() + Float64Array',
            op: (i) => {
              const t0 = now();
              const p = asyncTool(i);
              p.then(
                () => floorAsync.observe((now() - t0) / 1000),
                () => floorAsync.observe((now() - t0) / 1000),
              );
              return p;
            },
          },
          {
            id: 'floor-await',
            label: '5b. floor, async/await shape',
            op: async (i) => {
              const t0 = now();
              const r = await asyncTool(i);
              floorAwait.observe((now() - t0) / 1000);
              return r;
            },
          },
        ],
      },
      {
        id: 'sync',
        title: 'sync tool (`(x) => x + 1`)',
        mode: 'sync',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: '1. bare call', op: (i) => syncTool(i) },
          { id: 'wrap', label: '2. ours: instrumentTool wrapper', op: (i) => wrappedSync(i) },
          { id: 'handle', label: '3. ours: obs.tool().run(() => fn())', op: (i) => lookupHandle.run(() => syncTool(i)) },
          {
            id: 'prom',
            label: '4. raw prom-client (bound children)',
            op: (i) => {
              const t0 = now();
              const r = syncTool(i);
              promLookup.ok.observe((now() - t0) / 1000);
              promLookup.calls.inc();
              return r;
            },
          },
          {
            id: 'floor',
            label: '5. floor: 2x now() + Float64Array',
            op: (i) => {
              const t0 = now();
              const r = syncTool(i);
              floorSync.observe((now() - t0) / 1000);
              return r;
            },
          },
        ],
      },
    ],
    ratios: [
      { label: 'async: ours wrapper added / floor added', group: 'async', numerator: 'wrap', denominator: 'floor' },
      { label: 'async: ours handle.run added / floor added', group: 'async', numerator: 'handle', denominator: 'floor' },
      { label: 'async: raw prom-client added / ours wrapper added', group: 'async', numerator: 'prom', denominator: 'wrap' },
      { label: 'sync: ours wrapper added / floor added', group: 'sync', numerator: 'wrap', denominator: 'floor' },
      { label: 'sync: ours handle.run added / floor added', group: 'sync', numerator: 'handle', denominator: 'floor' },
      { label: 'sync: raw prom-client added / ours wrapper added', group: 'sync', numerator: 'prom', denominator: 'wrap' },
    ],
    // Not timings: proof that each measured path really recorded, and that nothing is left in flight.
    verify: async () => {
      const body = (await obs.metrics()).body;
      const count = (tool: string): number => {
        const line = body.split('\n').find((l) =>
          l.startsWith(`${catalog.toolDuration.name}_count{`) && l.includes(`gen_ai_tool_name="${tool}"`) && l.includes('error_type=""'));
        return Number(line?.split(' ').pop() ?? 0);
      };
      const active = body.split('\n').filter((l) => l.startsWith(`${catalog.operationActive.name}{`) && !l.endsWith(' 0'));
      const checks: [string, number][] = [
        ['ours search', count('search')],
        ['ours lookup', count('lookup')],
        ['prom-client search', await promCount(promSearch.hist)],
        ['prom-client lookup', await promCount(promLookup.hist)],
        ['floor async', floorAsync.total()],
        ['floor await', floorAwait.total()],
        ['floor sync', floorSync.total()],
      ];
      const empty = checks.filter(([, n]) => !(n > 0)).map(([what]) => what);
      if (empty.length > 0) throw new Error(`red: nothing recorded by ${empty.join(', ')}`);
      if (active.length > 0) throw new Error(`red: calls still in flight after the run: ${active.join('; ')}`);
    },
    dispose: () => obs.shutdown(),
  };
}
