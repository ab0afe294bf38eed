/**
 * Runtime USE metrics from one source: our own collector, not prom-client's
 * `collectDefaultMetrics`.
 *
 * Why we replaced the defaults instead of adding beside them: prom-client's event-loop
 * monitor (`monitorEventLoopDelay`) is enabled forever and its GC `PerformanceObserver` is
 * never disconnected (there is no teardown API), so every `createObservability()` would leak
 * a sampling timer and an observer past `shutdown()`; its GC observer also reads only the
 * first entry of each batch. The defaults also lack the heap limit and event-loop
 * utilization. So we keep prom-client's metric *names* (dashboards built for them keep
 * working) and declare them in the catalog, but produce them here, stoppable.
 *
 * One source only: a metric whose name is already in the registry (a user who called
 * `collectDefaultMetrics` on the registry they passed in) is left to that source.
 *
 * Everything is read at scrape time (collect hooks), except the two samplers that must run
 * between scrapes: the event-loop delay histogram and the GC observer. `stop()` releases both.
 */
import { readFileSync, readdirSync } from 'node:fs';
import {
  PerformanceObserver, constants, monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram,
} from 'node:perf_hooks';
import v8 from 'node:v8';
import {
  activeResources, eventLoopLagMax, eventLoopLagMean, eventLoopLagMin, eventLoopLagP50, eventLoopLagP90, eventLoopLagP99,
  eventLoopLagStddev, eventLoopUtilization, externalMemory, gcDuration, heapLimit, heapSpaceAvailable, heapSpaceTotal,
  heapSpaceUsed, heapTotal, heapUsed, nodeVersionInfo, processCpu, processCpuSystem, processCpuUser, processMaxFds,
  processOpenFds, processResidentMemory, processStartTime, type MetricDef,
} from '../catalog/metrics.js';
import type { Kernel } from '../internal/kernel.js';
import type { CounterFamily, Family, GaugeFamily, GaugeSeries, HistogramSeries } from '../metrics/store.js';

/** What the runtime collector needs from the kernel. */
export type RuntimeContext = Pick<Kernel, 'registry' | 'counter' | 'gauge' | 'histogram' | 'diag' | 'onCollect' | 'onShutdown'>;

/** A running collector; `stop()` disables the event-loop monitor and disconnects the GC observer. Idempotent. */
export interface RuntimeCollector {
  stop(): void;
  /** True until `stop()`: the samplers are live. */
  readonly running: boolean;
  /** Names of the metrics this collector produces (those a user's own source already had are not included). */
  readonly names: readonly string[];
}

/** Event-loop delay sampling resolution (prom-client's default too). */
const ELD_RESOLUTION_MS = 10;

const GC_KINDS: ReadonlyMap<number, string> = new Map([
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/**
 * Installs the runtime collector; the kernel's shutdown stops it. Never throws: a sampler
 * that cannot start is counted in diag and skipped.
 */
export function installRuntimeMetrics(ctx: RuntimeContext): RuntimeCollector {
  const names: string[] = [];
  const stops: (() => void)[] = [];
  const present = new Map(ctx.registry.getMetricsAsArray().map((m) => [m.name, typeOf(m)]));

  /**
   * The family of `def`, unless another source already registered that name: the same
   * metric from another collector is left to it; a different type under our name is a
   * squatter, counted as an internal error.
   */
  function fam<F extends Family>(def: MetricDef, make: (d: never) => F): F | undefined {
    const other = present.get(def.name);
    if (other !== undefined) {
      if (other !== def.type) ctx.diag.error('runtime', new TypeError(`${def.name} is registered as a ${other}, not a ${def.type}`));
      return undefined;
    }
    const f = make(def as never);
    names.push(def.name);
    return f;
  }
  const gauge = (def: MetricDef): GaugeFamily | undefined => fam(def, ctx.gauge);
  const counter = (def: MetricDef): CounterFamily | undefined => fam(def, ctx.counter);

  /**
   * A group of single-series families read from one sample. The first installed family's
   * scrape-time hook reads once and sets every member, so the members stay consistent.
   */
  function group(component: string, defs: readonly MetricDef[], kind: 'gauge' | 'counter', sample: () => readonly number[]): void {
    const members = defs.map((d) => (kind === 'gauge' ? gauge(d) : counter(d)));
    const series = members.map((f) => f?.child([]));
    const first = members.find((f) => f !== undefined);
    if (first === undefined) return;
    ctx.onCollect(first, () => {
      try {
        const values = sample();
        series.forEach((s, i) => {
          if (s !== undefined) s.value = values[i] as number;
        });
      } catch (e) {
        ctx.diag.error(component, e);
      }
    });
  }

  const safely = (component: string, install: () => void): void => {
    try {
      install();
    } catch (e) {
      ctx.diag.error(component, e);
    }
  };

  safely('runtime.cpu', () =>
    group('runtime.cpu', [processCpuUser, processCpuSystem, processCpu], 'counter', () => {
      const u = process.cpuUsage();
      return [u.user / 1e6, u.system / 1e6, (u.user + u.system) / 1e6];
    }),
  );
  safely('runtime.memory', () =>
    group('runtime.memory', [processResidentMemory, heapTotal, heapUsed, externalMemory, heapLimit], 'gauge', () => {
      const m = process.memoryUsage();
      return [m.rss, m.heapTotal, m.heapUsed, m.external, v8.getHeapStatistics().heap_size_limit];
    }),
  );
  safely('runtime.start_time', () => {
    const f = gauge(processStartTime);
    f?.child([]).set(Math.round(performance.timeOrigin) / 1000);
  });
  safely('runtime.version', () => {
    const [major = '', minor = '', patch = ''] = process.versions.node.split('.');
    gauge(nodeVersionInfo)?.child([process.version, major, minor, patch]).set(1);
  });
  safely('runtime.heap_spaces', () => installHeapSpaces(gauge, ctx));
  safely('runtime.resources', () => installActiveResources(gauge, ctx));
  if (process.platform === 'linux') safely('runtime.fds', () => installFds(gauge, ctx));
  safely('runtime.elu', () => {
    const f = gauge(eventLoopUtilization);
    if (f === undefined) return;
    const s = f.child([]);
    let last: EventLoopUtilization = performance.eventLoopUtilization();
    ctx.onCollect(f, () => {
      const now = performance.eventLoopUtilization();
      s.set(performance.eventLoopUtilization(now, last).utilization);
      last = now;
    });
  });
  safely('runtime.eventloop_delay', () => {
    const h = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
    h.enable();
    stops.push(() => h.disable());
    group(
      'runtime.eventloop_delay',
      [eventLoopLagMin, eventLoopLagMax, eventLoopLagMean, eventLoopLagStddev, eventLoopLagP50, eventLoopLagP90, eventLoopLagP99],
      'gauge',
      () => readDelay(h),
    );
  });
  safely('runtime.gc', () => {
    const f = fam(gcDuration, ctx.histogram);
    if (f === undefined) return;
    const byKind = new Map<number, HistogramSeries>();
    for (const [k, label] of GC_KINDS) byKind.set(k, f.child([label]));
    const observer = new PerformanceObserver((list) => {
      try {
        // All entries of the batch (prom-client's observer reads only the first).
        for (const entry of list.getEntries()) {
          const kind = ((entry as { detail?: unknown }).detail as { kind?: number } | null | undefined)?.kind;
          const s = kind === undefined ? undefined : byKind.get(kind);
          if (s !== undefined) s.observe(entry.duration / 1000);
        }
      } catch (e) {
        ctx.diag.error('runtime.gc', e);
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    stops.push(() => observer.disconnect());
  });

  let running = true;
  const collector: RuntimeCollector = {
    names,
    get running() {
      return running;
    },
    stop() {
      if (!running) return;
      running = false;
      for (const stop of stops) {
        try {
          stop();
        } catch (e) {
          ctx.diag.error('runtime', e);
        }
      }
    },
  };
  ctx.onShutdown(() => collector.stop());
  return collector;
}

/** A registered metric's type: ours carry `type`; prom-client's classes are named after it. */
function typeOf(m: object): string {
  const t = (m as { type?: unknown }).type;
  return typeof t === 'string' ? t : m.constructor.name.toLowerCase();
}

/** min, max, mean, stddev, p50, p90, p99 in seconds since the previous read; then starts a new interval. */
function readDelay(h: IntervalHistogram): number[] {
  // Before the first sample the histogram reports min as a huge sentinel and NaN stats: show zeros.
  const empty = h.count === 0;
  const v = empty ? [0, 0, 0, 0, 0, 0, 0] : [h.min, h.max, h.mean, h.stddev, h.percentile(50), h.percentile(90), h.percentile(99)];
  h.reset();
  return v.map((ns) => (Number.isFinite(ns) ? ns / 1e9 : 0));
}

function installHeapSpaces(gauge: (d: MetricDef) => GaugeFamily | undefined, ctx: RuntimeContext): void {
  const fams = [gauge(heapSpaceTotal), gauge(heapSpaceUsed), gauge(heapSpaceAvailable)];
  const first = fams.find((f) => f !== undefined);
  if (first === undefined) return;
  const bound = new Map<string, (GaugeSeries | undefined)[]>();
  const collect = (): void => {
    try {
      for (const sp of v8.getHeapSpaceStatistics()) {
        // V8 names spaces `new_space`, `old_space`…; prom-client exports them without the suffix.
        const space = sp.space_name.replace(/_space$/, '');
        let s = bound.get(space);
        if (s === undefined) {
          s = fams.map((f) => f?.child([space]));
          bound.set(space, s);
        }
        s[0]?.set(sp.space_size);
        s[1]?.set(sp.space_used_size);
        s[2]?.set(sp.space_available_size);
      }
    } catch (e) {
      ctx.diag.error('runtime.heap_spaces', e);
    }
  };
  ctx.onCollect(first, collect);
  collect();
}

function installActiveResources(gauge: (d: MetricDef) => GaugeFamily | undefined, ctx: RuntimeContext): void {
  const f = gauge(activeResources);
  if (f === undefined || typeof process.getActiveResourcesInfo !== 'function') return;
  const bound = new Map<string, GaugeSeries>();
  const collect = (): void => {
    try {
      const counts = new Map<string, number>();
      for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
      // Types seen before but gone now drop to 0 rather than keeping a stale count.
      for (const [type, s] of bound) if (!counts.has(type)) s.set(0);
      for (const [type, n] of counts) {
        let s = bound.get(type);
        if (s === undefined) {
          s = f.child([type]);
          bound.set(type, s);
        }
        s.set(n);
      }
    } catch (e) {
      ctx.diag.error('runtime.resources', e);
    }
  };
  ctx.onCollect(f, collect);
  collect();
}

function installFds(gauge: (d: MetricDef) => GaugeFamily | undefined, ctx: RuntimeContext): void {
  const open = gauge(processOpenFds);
  if (open !== undefined) {
    const s = open.child([]);
    ctx.onCollect(open, () => {
      try {
        // Minus the descriptor readdir itself holds open while listing.
        s.set(readdirSync('/proc/self/fd').length - 1);
      } catch (e) {
        ctx.diag.error('runtime.fds', e);
      }
    });
  }
  const max = gauge(processMaxFds);
  if (max !== undefined) {
    const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m !== null) max.child([]).set(Number(m[1]));
  }
}

