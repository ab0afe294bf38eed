import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { getHistogram, getValue, parseExposition } from '../../test/helpers/exposition.js';
import type { MetricDef } from '../catalog/metrics.js';
import { createObservability } from '../observability.js';
import { VERSION } from '../version.js';
import type { LabelPolicySettings } from './labels.js';
import { CounterFamily, GaugeFamily, HistogramFamily, formatValue, isFamily } from './store.js';

const settings: LabelPolicySettings = { maxValuesPerLabel: 100, maxValueLength: 128, maxSeriesPerMetric: 100, allow: new Map() };
const noHooks = { overflow: () => {}, sanitized: () => {} };
const counterDef: MetricDef = { name: 'test_things_total', type: 'counter', unit: '', help: 'Things.', labels: ['a', 'b'] };
const gaugeDef: MetricDef = { name: 'test_level', type: 'gauge', unit: '', help: 'Level.', labels: ['a'] };
const histDef: MetricDef = { name: 'test_wait_seconds', type: 'histogram', unit: 'seconds', help: 'Wait.', labels: ['a'], buckets: [0.1, 1, 10] };

describe('HistogramSeries', () => {
  it('places values in the first bucket whose bound is >= the value (le is inclusive)', () => {
    const s = new HistogramFamily(histDef, [0.1, 1, 10], settings, noHooks).child(['x']);
    expect([0, 0.1, 0.10000001, 1, 5, 10, 10.5, 1e9].map((v) => s.observe(v))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect([...s.counts]).toEqual([2, 2, 2, 2]);
    expect(s.count).toBe(8);
    expect(s.sum).toBeCloseTo(0 + 0.1 + 0.10000001 + 1 + 5 + 10 + 10.5 + 1e9, 6);
  });

  it('keeps the latest exemplar per bucket, and reset() clears values and exemplars', () => {
    const s = new HistogramFamily(histDef, [0.1, 1, 10], settings, noHooks).child(['x']);
    s.observeWithExemplar(0.5, { trace_id: 'a' }, 1);
    s.observeWithExemplar(0.7, { trace_id: 'b' }, 2);
    s.observeWithExemplar(50, { trace_id: 'c' }, 3);
    expect(s.exemplars?.[1]).toEqual({ labels: { trace_id: 'b' }, value: 0.7, timestampSeconds: 2 });
    expect(s.exemplars?.[3]?.value).toBe(50);
    expect(s.exemplars?.[0]).toBeUndefined();
    s.reset();
    expect([...s.counts, s.sum, s.count]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(s.exemplars).toBeUndefined();
  });
});

describe('CounterSeries / GaugeSeries', () => {
  it('counters ignore negative and NaN increments', () => {
    const c = new CounterFamily(counterDef, settings, noHooks).child(['x', 'y']);
    c.inc();
    c.inc(2.5);
    c.inc(-1);
    c.inc(NaN);
    expect(c.value).toBe(3.5);
  });

  it('gauges set, go up and down', () => {
    const g = new GaugeFamily(gaugeDef, settings, noHooks).child(['x']);
    g.set(5);
    g.inc();
    g.dec(3);
    expect(g.value).toBe(3);
  });
});

describe('Family', () => {
  it('binds one series per label tuple and returns the same object for the same tuple', () => {
    const f = new CounterFamily(counterDef, settings, noHooks);
    const a = f.child(['x', 'y']);
    expect(f.child(['x', 'y'])).toBe(a);
    expect(f.child(['x', 'z'])).not.toBe(a);
    expect(f.child(['x'])).toBe(f.child(['x', '']));
    expect(f.size).toBe(3);
  });

  it('escapes label values once at bind time and renders the pairs from them', () => {
    const f = new CounterFamily(counterDef, settings, noHooks);
    const s = f.child(['q"\\', 'two\nlines']);
    expect(f.labelPairs(s)).toBe('a="q\\"\\\\",b="two_lines"');
    expect(s.labelValues).toEqual(['q"\\', 'two_lines']);
    expect(Object.isFrozen(s.labelValues)).toBe(true);
    expect(f.labelPairs(f.child(['', '']))).toBe('a="",b=""');
    const none = new CounterFamily({ ...counterDef, labels: [] }, settings, noHooks);
    expect(none.labelPairs(none.child([]))).toBe('');
    expect(none.child([]).labelValues).toEqual([]);
  });

  it('keeps tuples apart whatever quotes, backslashes and commas their values hold', () => {
    const f = new CounterFamily(counterDef, settings, noHooks);
    const tuples = [['a', 'b'], ['a"', 'b'], ['a', '"b'], ['a\\', '"b'], ['a\\"', 'b'], ['a","b', ''], ['a', '","b'], ['', 'a","b'], ['\\', '\\\\']];
    const series = tuples.map((t) => f.child(t));
    expect(new Set(series).size).toBe(tuples.length);
    for (const [i, t] of tuples.entries()) {
      expect(series[i]?.labelValues).toEqual(t);
      expect(f.labelPairs(series[i]!)).toBe(`a="${t[0]!.replace(/[\\"]/g, '\\$&')}",b="${t[1]!.replace(/[\\"]/g, '\\$&')}"`);
    }
  });

  it('folds new tuples past maxSeriesPerMetric into the all-_OTHER series and counts an overflow per label', () => {
    const overflows: string[] = [];
    const f = new CounterFamily(counterDef, { ...settings, maxSeriesPerMetric: 2 }, { overflow: (m, l) => overflows.push(`${m}/${l}`), sanitized: () => {} });
    f.child(['1', '1']).inc();
    f.child(['2', '2']).inc();
    const o1 = f.child(['3', '3']);
    const o2 = f.child(['4', '4']);
    expect(o1).toBe(o2);
    expect(o1.labelValues).toEqual(['_OTHER', '_OTHER']);
    expect(f.child(['1', '1']).labelValues).toEqual(['1', '1']);
    expect(overflows).toEqual(['test_things_total/a', 'test_things_total/b', 'test_things_total/a', 'test_things_total/b']);
  });

  it('remove() drops one series and clear() drops all', () => {
    const f = new GaugeFamily(gaugeDef, settings, noHooks);
    const a = f.child(['a']);
    f.child(['b']);
    f.remove(a);
    expect([...f.all()].map((s) => s.labelValues[0])).toEqual(['b']);
    f.clear();
    expect(f.size).toBe(0);
  });

  it('remove() of a series no longer bound leaves the one bound to its tuple since', () => {
    const f = new GaugeFamily(gaugeDef, settings, noHooks);
    const old = f.child(['a']);
    f.remove(old);
    const now = f.child(['a']);
    f.remove(old);
    expect([...f.all()]).toEqual([now]);
  });

  it('a removed histogram series keeps its own numbers: handles still bound to it cannot touch the series reusing its slots', () => {
    const f = new HistogramFamily(histDef, [0.1, 1, 10], settings, noHooks);
    const old = f.child(['old']);
    old.observe(0.5);
    f.remove(old);
    const fresh = f.child(['fresh']);
    expect([...fresh.counts, fresh.sum, fresh.count]).toEqual([0, 0, 0, 0, 0, 0]);
    old.observe(5);
    fresh.observe(50);
    expect([...old.counts, old.sum, old.count]).toEqual([0, 1, 1, 0, 5.5, 2]);
    expect([...fresh.counts, fresh.sum, fresh.count]).toEqual([0, 0, 0, 1, 50, 1]);
  });

  it('histogram series never share numbers, across slabs and after clear()', () => {
    const f = new HistogramFamily(histDef, [0.1, 1, 10], settings, { ...noHooks });
    const before = Array.from({ length: 40 }, (_, i) => f.child([`s${i}`]));
    before.forEach((s, i) => s.observe(i));
    f.clear();
    const after = Array.from({ length: 40 }, (_, i) => f.child([`s${i}`]));
    after.forEach((s) => s.observe(0.05));
    before.forEach((s, i) => expect([s.sum, s.count]).toEqual([i, 1]));
    after.forEach((s) => expect([...s.counts, s.sum, s.count]).toEqual([1, 0, 0, 0, 0.05, 1]));
  });

  it('get() returns the prom-client metric shape with cumulative buckets and exemplars', () => {
    const f = new HistogramFamily(histDef, [0.1, 1, 10], settings, noHooks);
    const s = f.child(['x']);
    s.observe(0.05);
    s.observeWithExemplar(0.5, { trace_id: 't' }, 7);
    s.observe(100);
    const m = f.get();
    expect(m).toMatchObject({ name: 'test_wait_seconds', help: 'Wait.', type: 'histogram', aggregator: 'sum' });
    expect(m.values.map((v) => [v.metricName, v.labels.le, v.value])).toEqual([
      ['test_wait_seconds_bucket', '0.1', 1],
      ['test_wait_seconds_bucket', '1', 2],
      ['test_wait_seconds_bucket', '10', 2],
      ['test_wait_seconds_bucket', '+Inf', 3],
      ['test_wait_seconds_sum', undefined, 100.55],
      ['test_wait_seconds_count', undefined, 3],
    ]);
    expect(m.values[1]?.exemplar).toEqual({ labelSet: { trace_id: 't' }, value: 0.5, timestamp: 7 });
    expect(m.values[0]?.exemplar).toBeUndefined();
    expect(isFamily(f)).toBe(true);
    expect(isFamily(m)).toBe(false);
  });

  it('runs collect() before each get()', () => {
    const f = new GaugeFamily(gaugeDef, settings, noHooks);
    const s = f.child(['x']);
    let n = 0;
    f.collect = () => s.set(++n);
    expect(f.get().values[0]?.value).toBe(1);
    expect(f.get().values[0]?.value).toBe(2);
  });

  it('serializes through prom-client\'s own Registry#metrics()', async () => {
    const reg = new Registry();
    const f = new HistogramFamily(histDef, [0.1, 1, 10], settings, noHooks);
    reg.registerMetric(f as never);
    f.child(['x']).observe(2);
    const exp = parseExposition(await reg.metrics(), 'prometheus');
    expect(getHistogram(exp, 'test_wait_seconds', { a: 'x' })).toEqual({
      buckets: [{ le: 0.1, count: 0 }, { le: 1, count: 0 }, { le: 10, count: 1 }, { le: Infinity, count: 1 }],
      sum: 2,
      count: 1,
    });
  });
});

describe('Registry#resetMetrics()', () => {
  it('zeroes counters and histograms in place, so handles bound before the reset keep exporting', async () => {
    const obs = createObservability({ runtimeMetrics: false, logger: false, cardinality: { tools: ['a'] } });
    const tool = obs.tool('a');
    tool.run(() => 1);
    tool.run(() => 1);
    obs.tool('b').run(() => 1); // overflow counter = 1
    obs.registry.resetMetrics();
    tool.run(() => 1);
    const exp = parseExposition((await obs.metrics()).body, 'prometheus');
    expect(getValue(exp, 'gen_ai_execute_tool_duration_seconds_count', { gen_ai_tool_name: 'a', gen_ai_agent_name: '', error_type: '' })).toBe(1);
    expect(getValue(exp, 'agentobs_label_overflow_total', { metric: 'gen_ai_execute_tool_duration_seconds', label: 'gen_ai_tool_name' })).toBe(0);
    // Gauges hold state, not history: build info stays 1.
    expect(getValue(exp, 'agentobs_build_info', { version: VERSION })).toBe(1);
    await obs.shutdown();
  });
});

describe('formatValue', () => {
  it('writes finite numbers as JavaScript does and the specials as the formats want', () => {
    expect([1, 0.5, -2, 1e-7, 1e21, Infinity, -Infinity, NaN].map(formatValue)).toEqual(['1', '0.5', '-2', '1e-7', '1e+21', '+Inf', '-Inf', 'NaN']);
  });
});
