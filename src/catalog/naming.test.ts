import { describe, expect, it } from 'vitest';
import { isConfigError } from '../errors.js';
import { assertLabelName, assertMetricName, exponentialBuckets, namingProblems, validateBuckets, type MetricShape } from './naming.js';

const good: MetricShape = { name: 'agentobs_things_total', type: 'counter', unit: '', help: 'Things.', labels: ['kind'] };
const goodHistogram: MetricShape = {
  name: 'agentobs_wait_seconds', type: 'histogram', unit: 'seconds', help: 'Waits.', labels: ['pool'], buckets: [0.1, 1, 10],
};

describe('namingProblems', () => {
  it('accepts well-formed counters, gauges and histograms', () => {
    expect(namingProblems(good)).toEqual([]);
    expect(namingProblems(goodHistogram)).toEqual([]);
    expect(namingProblems({ name: 'agentobs_load_ratio', type: 'gauge', unit: 'ratio', help: 'Load.', labels: [] })).toEqual([]);
    expect(namingProblems({ name: 'agentobs_cpu_seconds_total', type: 'counter', unit: 'seconds', help: 'CPU.', labels: [] })).toEqual([]);
  });

  it.each<[string, Partial<MetricShape>, RegExp]>([
    ['an invalid metric name', { name: 'agentobs-things_total' }, /invalid metric name/],
    ['a name starting with a digit', { name: '1things_total' }, /invalid metric name/],
    ['a reserved __ name', { name: '__things_total' }, /invalid metric name/],
    ['a colon (recording rules only)', { name: 'agentobs:things_total' }, /invalid metric name/],
    ['a counter without _total', { name: 'agentobs_things' }, /counter name must end in _total/],
    ['a gauge ending in _total', { name: 'agentobs_things_total', type: 'gauge' }, /only counters end in _total/],
    ['a unit without its suffix', { name: 'agentobs_wait_total', unit: 'seconds' }, /must end in _seconds_total/],
    ['a gauge unit without its suffix', { name: 'agentobs_wait', type: 'gauge', unit: 'seconds' }, /must end in _seconds$/],
    ['a unit suffix on a unitless metric', { name: 'agentobs_wait_seconds_total', unit: '' }, /ends in _seconds but unit is ''/],
    ['milliseconds', { name: 'agentobs_wait_milliseconds_total' }, /non-base unit suffix _milliseconds/],
    ['ms', { name: 'agentobs_latency_ms', type: 'gauge' }, /non-base unit suffix _ms/],
    ['kilobytes', { name: 'agentobs_payload_kilobytes', type: 'gauge' }, /non-base unit suffix _kilobytes/],
    ['percent', { name: 'agentobs_load_percent', type: 'gauge' }, /non-base unit suffix _percent/],
    ['minutes', { name: 'agentobs_uptime_minutes_total' }, /non-base unit suffix _minutes/],
    ['empty help', { help: '   ' }, /help must not be empty/],
    ['an invalid label name', { labels: ['bad-label'] }, /invalid label name "bad-label"/],
    ['a reserved label name', { labels: ['__name'] }, /invalid label name "__name"/],
    ['a duplicate label', { labels: ['a', 'a'] }, /duplicate label a/],
    ['buckets on a counter', { buckets: [1, 2] }, /only histograms have buckets/],
  ])('reports %s', (_what, patch, problem) => {
    const problems = namingProblems({ ...good, ...patch });
    expect(problems.join('; ')).toMatch(problem);
  });

  it.each<[string, Partial<MetricShape>, RegExp]>([
    ['a histogram without buckets', { buckets: undefined }, /histogram needs buckets/],
    ['empty buckets', { buckets: [] }, /non-empty array/],
    ['decreasing buckets', { buckets: [1, 0.5] }, /greater than the previous/],
    ['equal buckets', { buckets: [1, 1] }, /greater than the previous/],
    ['a negative bucket', { buckets: [-1, 1] }, /non-negative/],
    ['an infinite bucket', { buckets: [1, Infinity] }, /finite number/],
    ['a NaN bucket', { buckets: [NaN] }, /finite number/],
    ['an le label', { labels: ['le'] }, /reserved in histograms/],
  ])('reports a histogram with %s', (_what, patch, problem) => {
    expect(namingProblems({ ...goodHistogram, ...patch }).join('; ')).toMatch(problem);
  });

  it('reports every problem of an entry, not just the first', () => {
    const problems = namingProblems({ name: 'bad-name', type: 'counter', unit: 'seconds', help: '', labels: ['x', 'x'] });
    expect(problems.length).toBeGreaterThanOrEqual(4);
  });
});

describe('assertMetricName / assertLabelName', () => {
  it('accept valid names', () => {
    expect(() => assertMetricName('agentobs_a_b', 'p')).not.toThrow();
    expect(() => assertLabelName('gen_ai_tool_name', 'p')).not.toThrow();
  });

  it.each([['has-dash'], ['9lives'], [''], ['__reserved'], ['with space'], [42], [undefined]])('reject %j with a ConfigError at the given path', (name) => {
    const asserts: ((name: unknown, path: string) => void)[] = [assertMetricName, assertLabelName];
    for (const assert of asserts) {
      let err: unknown;
      try {
        assert(name, 'somewhere.name');
      } catch (e) {
        err = e;
      }
      expect(isConfigError(err)).toBe(true);
      expect((err as { path: string }).path).toBe('somewhere.name');
      expect((err as Error).message).toMatch(/expected .*, got /);
    }
  });

  it('rejects colons in metric names (they are for recording rules)', () => {
    expect(() => assertMetricName('job:requests:rate5m', 'p')).toThrow(/expected a metric name/);
  });
});

describe('validateBuckets', () => {
  it('returns a frozen copy of valid buckets', () => {
    const input = [0, 0.5, 1];
    const out = validateBuckets(input, 'b');
    expect(out).toEqual(input);
    expect(out).not.toBe(input);
    expect(Object.isFrozen(out)).toBe(true);
  });

  it.each([
    ['not an array', 'nope', 'b'],
    ['empty', [], 'b'],
    ['a string bound', [1, '2'], 'b[1]'],
    ['a NaN bound', [1, NaN], 'b[1]'],
    ['+Inf (implicit)', [1, Infinity], 'b[1]'],
    ['a negative bound', [-0.5], 'b[0]'],
    ['a repeated bound', [1, 2, 2], 'b[2]'],
  ])('rejects %s, pointing at the bad element', (_what, buckets, path) => {
    let err: unknown;
    try {
      validateBuckets(buckets, 'b');
    } catch (e) {
      err = e;
    }
    expect(isConfigError(err)).toBe(true);
    expect((err as { path: string }).path).toBe(path);
  });
});

describe('exponentialBuckets', () => {
  it('multiplies by factor and rounds away float noise', () => {
    expect(exponentialBuckets(0.1, 3, 4)).toEqual([0.1, 0.3, 0.9, 2.7]);
    expect(exponentialBuckets(1, 2, 0)).toEqual([]);
  });
});
