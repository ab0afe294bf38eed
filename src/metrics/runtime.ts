/**
 * Node runtime metrics: prom-client's defaults (CPU, memory, heap spaces, handles, GC,
 * event-loop lag) plus event-loop utilization, which the defaults lack. ELU is sampled
 * at scrape time as the utilization since the previous scrape, so there is no timer.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import type { GaugeFamily } from './store.js';

/** Installs runtime metrics; returns the names it registered (for removal on shutdown). */
export function installRuntimeMetrics(registry: Registry, elu: GaugeFamily): string[] {
  const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
  // A registry that already has prom-client's defaults (a user's) keeps its own: one source only.
  if (!before.has('process_cpu_user_seconds_total')) collectDefaultMetrics({ register: registry });
  const series = elu.child([]);
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  elu.collect = () => {
    const now = performance.eventLoopUtilization();
    series.set(performance.eventLoopUtilization(now, last).utilization);
    last = now;
  };
  return registry
    .getMetricsAsArray()
    .map((m) => m.name)
    .filter((n) => !before.has(n));
}
