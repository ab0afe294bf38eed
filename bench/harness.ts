/**
 * Benchmark harness: suites of cases measured side by side in one process.
 *
 * Each tinybench sample is one *batch* of `n` calls timed with two clock reads, and the
 * sample value is the batch mean, so per-call costs of a few nanoseconds stay far above
 * the timer's resolution and overhead. Every op is called from the same loop (one loop
 * per mode), primed with all ops first: the call site is megamorphic, so no op is inlined
 * into the loop and every case pays the same real call. Results are summed into a
 * blackhole so nothing can be eliminated as dead code.
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Bench, type FnReturnedObject } from 'tinybench';

/** A synchronous op; `i` varies per call so results cannot be constant-folded. */
export type SyncOp = (i: number) => number;
/** An asynchronous op; the loop awaits each call before the next one. */
export type AsyncOp = (i: number) => Promise<number>;

export interface CaseInfo {
  /** Stable id, unique within the group (used in ratios and markdown anchors). */
  readonly id: string;
  readonly label: string;
}
export interface SyncCase extends CaseInfo {
  readonly op: SyncOp;
}
export interface AsyncCase extends CaseInfo {
  readonly op: AsyncOp;
}

interface GroupBase {
  readonly id: string;
  readonly title: string;
  /** The case whose median is subtracted to get each case's added cost. */
  readonly baseline: string;
  /** Calls per sample; defaults to the mode's batch size from the run config. */
  readonly batch?: number;
}
export interface SyncGroup extends GroupBase {
  readonly mode: 'sync';
  readonly cases: readonly SyncCase[];
}
export interface AsyncGroup extends GroupBase {
  readonly mode: 'async';
  readonly cases: readonly AsyncCase[];
}
export type Group = SyncGroup | AsyncGroup;

/** A ratio of two cases' added costs (median minus the group baseline's median). */
export interface RatioDef {
  readonly label: string;
  readonly group: string;
  readonly numerator: string;
  readonly denominator: string;
}

export interface Suite {
  readonly id: string;
  readonly title: string;
  /** One or two sentences for the report: what is compared, and how. */
  readonly description: string;
  readonly groups: readonly Group[];
  readonly ratios: readonly RatioDef[];
  /**
   * Runs after AsyncLocalStorage is in use in the process. On Node 20 the first
   * `AsyncLocalStorage#run` turns on promise hooks for good, so every promise (every `await`)
   * costs more from then on; suites that need it (correlation, SDK context, autometrics) run
   * after every suite that does not, and each suite compares cases measured in one state.
   */
  readonly als?: boolean;
  /** Sanity checks after the run (e.g. the instrumented path really recorded); throws on failure. */
  readonly verify?: () => Promise<void>;
  readonly dispose?: () => Promise<void>;
}

export interface RunConfig {
  readonly quick: boolean;
  /** Measured passes over all cases; passes alternate direction to cancel order effects. */
  readonly passes: number;
  /** tinybench time budget per case per pass (ms). */
  readonly timeMs: number;
  readonly warmupMs: number;
  /** Minimum samples per case per pass. */
  readonly minSamples: number;
  readonly batchSync: number;
  readonly batchAsync: number;
  /** Calls per op in the priming round that runs before any measurement. */
  readonly primeCalls: number;
  /** Only cases whose `suite/group/case` key matches are measured. */
  readonly filter: RegExp | undefined;
}

/** Statistics over per-call values (batch means), in nanoseconds. */
export interface Stats {
  readonly samples: number;
  readonly calls: number;
  readonly min: number;
  readonly p25: number;
  readonly median: number;
  readonly p75: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}
export interface CaseResult extends CaseInfo {
  readonly stats: Stats;
  /** Median minus the baseline's median (ns); undefined when the baseline was filtered out. */
  readonly added: number | undefined;
}
export interface GroupResult {
  readonly id: string;
  readonly title: string;
  readonly mode: 'sync' | 'async';
  readonly batch: number;
  readonly baseline: string;
  readonly cases: readonly CaseResult[];
}
export interface RatioResult extends RatioDef {
  readonly value: number | undefined;
}
export interface SuiteResult {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  /** Measured with AsyncLocalStorage in use (see {@link Suite.als}). */
  readonly als: boolean;
  readonly groups: readonly GroupResult[];
  readonly ratios: readonly RatioResult[];
}

/** Results land here; a store into a global object cannot be eliminated. */
const blackhole = { value: 0 };
/** A checksum of every result, printed by the runner so the sink is observably used. */
export const checksum = (): number => blackhole.value;

const now = (): number => performance.now();
type Batch = () => FnReturnedObject | Promise<FnReturnedObject>;

// One loop per mode, shared by every case: see the file comment on megamorphic call sites.
function syncBatch(op: SyncOp, n: number): () => FnReturnedObject {
  return () => {
    let acc = 0;
    const t0 = now();
    for (let i = 0; i < n; i++) acc += op(i);
    const t1 = now();
    blackhole.value = (blackhole.value + acc) % 1_000_003;
    return { overriddenDuration: (t1 - t0) / n, overriddenIterationCost: t1 - t0 };
  };
}

function asyncBatch(op: AsyncOp, n: number): () => Promise<FnReturnedObject> {
  return async () => {
    let acc = 0;
    const t0 = now();
    for (let i = 0; i < n; i++) acc += await op(i);
    const t1 = now();
    blackhole.value = (blackhole.value + acc) % 1_000_003;
    return { overriddenDuration: (t1 - t0) / n, overriddenIterationCost: t1 - t0 };
  };
}

// Distinct ops that make each loop's call site megamorphic even when a filter leaves one case.
const SPREAD_SYNC: readonly SyncOp[] = [(i) => i, (i) => i + 1, (i) => i * 2, (i) => i - 1, (i) => i ^ 1];
const SPREAD_ASYNC: readonly AsyncOp[] = SPREAD_SYNC.map((f) => async (i: number) => f(i));

/** `gc()` without `--expose-gc` on the command line (the npm script stays plain). */
function exposeGc(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

function percentile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const a = sorted[lo] as number;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] as number;
  return a + (b - a) * (pos - lo);
}

function stats(samplesNs: readonly number[], batch: number): Stats {
  const s = [...samplesNs].sort((x, y) => x - y);
  if (s.length === 0) throw new Error('no samples');
  return {
    samples: s.length,
    calls: s.length * batch,
    min: s[0] as number,
    p25: percentile(s, 0.25),
    median: percentile(s, 0.5),
    p75: percentile(s, 0.75),
    p99: percentile(s, 0.99),
    max: s[s.length - 1] as number,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

interface Planned {
  readonly key: string;
  readonly group: Group;
  readonly info: CaseInfo;
  readonly batch: number;
  readonly fn: Batch;
  readonly async: boolean;
}

function plan(suite: Suite, cfg: RunConfig): Planned[] {
  const out: Planned[] = [];
  for (const group of suite.groups) {
    const keep = (c: CaseInfo): boolean => cfg.filter === undefined || cfg.filter.test(`${suite.id}/${group.id}/${c.id}`);
    if (group.mode === 'sync') {
      const n = group.batch ?? cfg.batchSync;
      for (const c of group.cases.filter(keep)) {
        out.push({ key: `${group.id}/${c.id}`, group, info: c, batch: n, fn: syncBatch(c.op, n), async: false });
      }
    } else {
      const n = group.batch ?? cfg.batchAsync;
      for (const c of group.cases.filter(keep)) {
        out.push({ key: `${group.id}/${c.id}`, group, info: c, batch: n, fn: asyncBatch(c.op, n), async: true });
      }
    }
  }
  return out;
}

/** Runs every case of `suite` (priming, then `cfg.passes` measured passes) and summarizes. */
export async function runSuite(suite: Suite, cfg: RunConfig, log: (line: string) => void): Promise<SuiteResult> {
  const planned = plan(suite, cfg);
  if (planned.length === 0) return { id: suite.id, title: suite.title, description: suite.description, als: suite.als === true, groups: [], ratios: [] };
  const gc = exposeGc();

  // Priming: every op through its loop before any measurement, so JIT feedback is final.
  for (const op of SPREAD_SYNC) syncBatch(op, 100)();
  for (const op of SPREAD_ASYNC) await asyncBatch(op, 100)();
  for (const p of planned) {
    const rounds = Math.max(1, Math.ceil(cfg.primeCalls / p.batch));
    for (let r = 0; r < rounds; r++) await p.fn();
  }

  const pools = new Map<string, number[]>(planned.map((p) => [p.key, []]));
  for (let pass = 0; pass < cfg.passes; pass++) {
    const order = pass % 2 === 0 ? planned : [...planned].reverse();
    const bench = new Bench({
      name: `${suite.id} pass ${pass + 1}`,
      time: cfg.timeMs,
      warmupTime: cfg.warmupMs,
      iterations: cfg.minSamples,
      warmupIterations: Math.min(cfg.minSamples, 16),
      retainSamples: true,
      throws: true,
      // A full collection before each case's warmup and run, so no case pays for the previous one's garbage.
      setup: () => gc?.(),
    });
    for (const p of order) bench.add(p.key, p.fn, { async: p.async });
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== 'completed') throw new Error(`${suite.id}/${task.name}: ${r.state}`);
      const samples = r.latency.samples;
      if (samples === undefined) throw new Error(`${suite.id}/${task.name}: no samples retained`);
      const pool = pools.get(task.name) as number[];
      for (const ms of samples) pool.push(ms * 1e6);
    }
    log(`  ${suite.id}: pass ${pass + 1}/${cfg.passes} done`);
  }

  const groups: GroupResult[] = [];
  for (const group of suite.groups) {
    const mine = planned.filter((p) => p.group === group);
    if (mine.length === 0) continue;
    const medians = new Map<string, number>();
    const measured = mine.map((p) => {
      const st = stats(pools.get(p.key) as number[], p.batch);
      medians.set(p.info.id, st.median);
      return { p, st };
    });
    const base = medians.get(group.baseline);
    groups.push({
      id: group.id,
      title: group.title,
      mode: group.mode,
      batch: mine[0]!.batch,
      baseline: group.baseline,
      cases: measured.map(({ p, st }) => ({
        id: p.info.id,
        label: p.info.label,
        stats: st,
        added: base === undefined ? undefined : st.median - base,
      })),
    });
  }

  const ratios = suite.ratios.flatMap((def): RatioResult[] => {
    const g = groups.find((x) => x.id === def.group);
    if (g === undefined) return [];
    const num = g.cases.find((c) => c.id === def.numerator)?.added;
    const den = g.cases.find((c) => c.id === def.denominator)?.added;
    const value = num === undefined || den === undefined || den <= 0 ? undefined : num / den;
    return [{ ...def, value }];
  });

  // Filtered runs skip some cases, so their paths would legitimately have recorded nothing.
  if (cfg.filter === undefined) await suite.verify?.();
  return { id: suite.id, title: suite.title, description: suite.description, als: suite.als === true, groups, ratios };
}
