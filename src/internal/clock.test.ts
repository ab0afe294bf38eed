import { describe, expect, it } from 'vitest';
import { getValue, labelValues, parseExposition } from '../../test/helpers/exposition.js';
import type { MetricDef } from '../catalog/metrics.js';
import { CounterFamily } from '../metrics/store.js';
import { createObservability } from '../observability.js';
import { defaultClock, guardClock } from './clock.js';
import { Diag } from './diag.js';

const def: MetricDef = { name: 'agentobs_internal_errors_total', type: 'counter', unit: '', help: 'x', labels: ['component'] };

function diag(): { diag: Diag; count: () => number; logs: string[] } {
  const f = new CounterFamily(def, { maxValuesPerLabel: Infinity, maxSeriesPerMetric: Infinity, maxValueLength: Infinity, allow: new Map() }, {
    overflow: () => {},
    sanitized: () => {},
  });
  const logs: string[] = [];
  const d = new Diag(f, { warn: (details) => void logs.push(String(details.error_type)) });
  return { diag: d, count: () => [...f.all()].find((s) => s.labelValues[0] === 'clock')?.value ?? 0, logs };
}

describe('guardClock', () => {
  it('hands back the default clock itself, unwrapped, when no clock is given', () => {
    const d = diag();
    expect(guardClock(undefined, d.diag)).toBe(defaultClock);
    expect(guardClock(defaultClock, d.diag)).toBe(defaultClock);
  });

  it('passes good readings through unchanged and reports nothing', () => {
    const d = diag();
    let t = 10;
    const clock = guardClock(() => (t += 0.5), d.diag);
    expect([clock(), clock(), clock()]).toEqual([10.5, 11, 11.5]);
    expect(d.count()).toBe(0);
  });

  it('a throwing clock: each reading is NaN, never a throw, counted once per reading under component="clock"', () => {
    const d = diag();
    const clock = guardClock(() => {
      throw new Error('clock broke');
    }, d.diag);
    expect(Number.isNaN(clock())).toBe(true);
    expect(Number.isNaN(clock())).toBe(true);
    expect(d.count()).toBe(2);
  });

  it.each<[string, unknown]>([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['a string', 'soon'],
    ['undefined', undefined],
  ])('a clock returning %s: NaN, counted', (_what, value) => {
    const d = diag();
    const clock = guardClock(() => value as number, d.diag);
    expect(Number.isNaN(clock())).toBe(true);
    expect(d.count()).toBe(1);
  });

  it('logs a broken clock once, however many readings fail', () => {
    const d = diag();
    const clock = guardClock(() => NaN, d.diag);
    for (let i = 0; i < 100; i++) clock();
    expect(d.count()).toBe(100);
    expect(d.logs).toEqual(['RangeError']);
  });

  it('one guard for the whole handle: recorders, pools, budgets, SLA and tracing all report a bad reading as component="clock"', async () => {
    const logs: string[] = [];
    const obs = createObservability({
      runtimeMetrics: false,
      logger: { warn: (details) => void logs.push(String(details.component)) },
      clock: () => {
        throw new Error('clock broke');
      },
      slos: [{ name: 'tools', target: { kind: 'tool' }, objective: 0.99, availability: {} }],
    });
    try {
      expect(obs.tool('t').run(() => 1)).toBe(1);
      await obs.pool('p', { concurrency: 1 }).run(() => 2);
      obs.tokenBudget('b', { limit: 10, windowMs: 1000 }).record({ input: 1 });
      obs.sla.check();
      const exp = parseExposition((await obs.metrics()).body, 'prometheus');
      expect(getValue(exp, 'agentobs_internal_errors_total', { component: 'clock' })).toBeGreaterThanOrEqual(4);
      expect([...labelValues(exp, 'agentobs_internal_errors_total', 'component')]).toEqual(['clock']);
      expect(logs).toEqual(['clock']);
    } finally {
      await obs.shutdown();
    }
  });
});
