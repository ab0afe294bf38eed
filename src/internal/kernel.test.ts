import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { breakerFailureRatio, internalErrors, toolDuration } from '../catalog/metrics.js';
import { isConfigError } from '../errors.js';
import type { LabelPolicySettings } from '../metrics/labels.js';
import { defaultClock } from './clock.js';
import { createKernel, type KernelOptions } from './kernel.js';

const policy: LabelPolicySettings = { maxValuesPerLabel: 100, maxSeriesPerMetric: 10_000, maxValueLength: 128, allow: new Map() };

function kernel(o: Partial<KernelOptions> = {}) {
  return createKernel({ registry: new Registry(), labelPolicy: policy, buckets: new Map(), logger: undefined, clock: undefined, ...o });
}

const errors = (k: ReturnType<typeof kernel>, component: string): number =>
  [...k.counter(internalErrors).all()].find((s) => s.labelValues[0] === component)?.value ?? 0;

describe('kernel', () => {
  it('registers each catalog family once, on first use, with the self-metrics from the start', async () => {
    const k = kernel();
    expect(k.histogram(toolDuration)).toBe(k.histogram(toolDuration));
    const names = k.registry.getMetricsAsArray().map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(['agentobs_build_info', 'agentobs_internal_errors_total', toolDuration.name]));
    await k.shutdown();
  });

  it('refuses a registry that already has one of the names', () => {
    const registry = new Registry();
    createKernel({ registry, labelPolicy: policy, buckets: new Map(), logger: undefined, clock: undefined });
    try {
      createKernel({ registry, labelPolicy: policy, buckets: new Map(), logger: undefined, clock: undefined });
      expect.unreachable();
    } catch (e) {
      expect(isConfigError(e) && e.path).toMatch(/^registry\./);
    }
  });

  it('the default clock goes unwrapped and is trusted; a user clock is guarded', () => {
    expect(kernel().clock).toBe(defaultClock);
    expect(kernel().trustedClock).toBe(true);
    const user = kernel({ clock: () => 5 });
    expect(user.trustedClock).toBe(false);
    expect(user.clock()).toBe(5);
  });

  it('runs every collect hook of a family in order at each scrape; a throwing one is counted and the rest still run', async () => {
    const k = kernel();
    const f = k.gauge(breakerFailureRatio);
    const ran: string[] = [];
    k.onCollect(f, () => void ran.push('a'));
    k.onCollect(f, () => {
      throw new Error('hook broke');
    });
    k.onCollect(f, () => void ran.push('c'));
    await k.registry.metrics();
    await k.registry.metrics();
    expect(ran).toEqual(['a', 'c', 'a', 'c']);
    expect(errors(k, 'collect')).toBe(2);
    await k.shutdown();
  });

  it('shutdown runs the hooks latest first (a failing one is counted), then unregisters every family; idempotent', async () => {
    const k = kernel();
    k.histogram(toolDuration);
    const ran: number[] = [];
    k.onShutdown(() => void ran.push(1));
    k.onShutdown(async () => {
      await Promise.resolve();
      ran.push(2);
      throw new Error('hook broke');
    });
    k.onShutdown(() => void ran.push(3));
    const diag = k.counter(internalErrors);
    const p = k.shutdown();
    expect(k.shutdown()).toBe(p);
    await p;
    expect(ran).toEqual([3, 2, 1]);
    expect([...diag.all()].find((s) => s.labelValues[0] === 'shutdown')?.value).toBe(1);
    expect(k.registry.getMetricsAsArray()).toEqual([]);
  });
});
