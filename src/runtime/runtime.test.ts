import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findSamples, getHistogram, getValue, parseExposition, type ParsedExposition } from '../../test/helpers/exposition.js';
import { METRICS } from '../catalog/metrics.js';
import { createObservability, type Observability, type ObservabilityOptions } from '../observability.js';

const created: Observability[] = [];
function make(options: ObservabilityOptions = {}): Observability {
  const obs = createObservability({ logger: false, ...options });
  created.push(obs);
  return obs;
}
afterEach(async () => {
  await Promise.all(created.splice(0).map((o) => o.shutdown()));
  vi.restoreAllMocks();
});
async function scrape(obs: Observability, format: 'prometheus' | 'openmetrics' = 'prometheus'): Promise<ParsedExposition> {
  const { body } = await obs.metrics(format === 'openmetrics' ? 'application/openmetrics-text' : undefined);
  return parseExposition(body, format);
}

function forceGc(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

const RUNTIME = [
  'process_cpu_user_seconds_total', 'process_cpu_system_seconds_total', 'process_cpu_seconds_total', 'process_resident_memory_bytes',
  'process_start_time_seconds', 'nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_heap_size_limit_bytes',
  'nodejs_external_memory_bytes', 'nodejs_heap_space_size_used_bytes', 'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p99_seconds', 'nodejs_eventloop_utilization_ratio', 'nodejs_active_resources', 'nodejs_gc_duration_seconds',
  'nodejs_version_info',
];

describe('runtime USE metrics', () => {
  it('exports CPU, memory, heap limit, event-loop delay p50/p99, GC pauses and active resources, each once, all in the catalog', async () => {
    const obs = make();
    forceGc();
    await new Promise((r) => setTimeout(r, 30));
    for (const format of ['prometheus', 'openmetrics'] as const) {
      const exp = await scrape(obs, format); // the parser rejects duplicate series and families
      for (const name of RUNTIME) expect(exp.families.has(format === 'openmetrics' ? name.replace(/_total$/, '') : name), name).toBe(true);
    }
    const exp = await scrape(obs);
    const catalogNames = new Set<string>(METRICS.map((m) => m.name));
    for (const name of RUNTIME) expect(catalogNames.has(name), name).toBe(true);
    expect(getValue(exp, 'nodejs_heap_size_limit_bytes')).toBeGreaterThan(getValue(exp, 'nodejs_heap_size_used_bytes'));
    expect(getValue(exp, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(getValue(exp, 'nodejs_eventloop_lag_p50_seconds'));
    expect(getHistogram(exp, 'nodejs_gc_duration_seconds', { kind: 'major' }).count).toBeGreaterThan(0);
    expect(findSamples(exp, 'nodejs_active_resources').length).toBeGreaterThan(0);
    expect(getValue(exp, 'nodejs_version_info', { version: process.version, major: process.versions.node.split('.')[0]!, minor: process.versions.node.split('.')[1]!, patch: process.versions.node.split('.')[2]! })).toBe(1);
  });

  it('leaves names that prom-client defaults already own to them (one source), and counts a squatter of another type', async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    make({ registry });
    const exp = parseExposition(await registry.metrics(), 'prometheus');
    expect(findSamples(exp, 'process_cpu_user_seconds_total')).toHaveLength(1);
    expect(findSamples(exp, 'nodejs_eventloop_lag_p99_seconds')).toHaveLength(1);
    expect(exp.families.has('nodejs_heap_size_limit_bytes')).toBe(true); // what the defaults lack is still added
    expect(findSamples(exp, 'agentobs_internal_errors_total', { component: 'runtime' })).toEqual([]);
  });

  it('disables the event-loop monitor and disconnects the GC observer on shutdown', async () => {
    const eldProto = Object.getPrototypeOf(monitorEventLoopDelay()) as { disable(): boolean };
    const disable = vi.spyOn(eldProto, 'disable');
    const disconnect = vi.spyOn(PerformanceObserver.prototype, 'disconnect');
    const obs = createObservability({ logger: false });
    expect(disable).not.toHaveBeenCalled();
    await obs.shutdown();
    expect(disable).toHaveBeenCalledTimes(1);
    expect(disconnect).toHaveBeenCalledTimes(1);
    expect((await obs.metrics()).body).not.toContain('nodejs_');
  });
});
