import { describe, expect, it } from 'vitest';
import type { MetricDef } from '../catalog/metrics.js';
import { CounterFamily } from '../metrics/store.js';
import { Diag, stderrLogger, type DiagLogger } from './diag.js';

const def: MetricDef = { name: 'agentobs_internal_errors_total', type: 'counter', unit: '', help: 'x', labels: ['component'] };
const family = () =>
  new CounterFamily(def, { maxValuesPerLabel: Infinity, maxSeriesPerMetric: Infinity, maxValueLength: Infinity, allow: new Map() }, {
    overflow: () => {},
    sanitized: () => {},
  });
const count = (f: CounterFamily, component: string) => [...f.all()].find((s) => s.labelValues[0] === component)?.value ?? 0;

describe('Diag', () => {
  it('counts every error per component and logs once per component and error class', () => {
    const f = family();
    const logs: [Record<string, unknown>, string][] = [];
    const d = new Diag(f, { warn: (details, msg) => void logs.push([details, msg]) });
    d.error('usage', new TypeError('SECRET-a sk-live-1'));
    d.error('usage', new TypeError('SECRET-b'));
    d.error('usage', new RangeError('SECRET-c'));
    d.error('usage', 'SECRET-d a string');
    d.error('record', new TypeError('SECRET-e'));
    d.error('record', Object.assign(new Error('SECRET-f'), { code: 'ECONNRESET' }));
    expect(count(f, 'usage')).toBe(4);
    expect(count(f, 'record')).toBe(2);
    // The error's type, never its message: a user callback's error may carry prompts or keys.
    expect(logs.map(([d]) => [d.component, d.error_type])).toEqual([
      ['usage', 'TypeError'],
      ['usage', 'RangeError'],
      ['usage', 'string'],
      ['record', 'TypeError'],
      ['record', 'ECONNRESET'],
    ]);
    expect(JSON.stringify(logs)).not.toContain('SECRET');
  });

  it('never throws, even with a throwing logger', () => {
    const f = family();
    const d = new Diag(f, {
      warn: () => {
        throw new Error('logger down');
      },
    });
    expect(() => d.error('x', new Error('y'))).not.toThrow();
    expect(() => d.warnOnce('k', {}, 'm')).not.toThrow();
    expect(count(f, 'x')).toBe(1);
  });

  it('counts without a logger', () => {
    const f = family();
    const d = new Diag(f, undefined);
    d.error('x', null);
    expect(count(f, 'x')).toBe(1);
  });

  it('warnOnce logs a key once', () => {
    const logs: string[] = [];
    const logger: DiagLogger = { warn: (_d, m) => void logs.push(m) };
    const d = new Diag(family(), logger);
    d.warnOnce('k', {}, 'first');
    d.warnOnce('k', {}, 'second');
    d.warnOnce('j', {}, 'third');
    expect(logs).toEqual(['first', 'third']);
  });

  it('the default logger writes one JSON line to stderr', () => {
    const writes: string[] = [];
    const original = process.stderr.write;
    process.stderr.write = ((chunk: string) => (writes.push(chunk), true)) as typeof process.stderr.write;
    try {
      stderrLogger.warn({ component: 'usage' }, 'hello');
    } finally {
      process.stderr.write = original;
    }
    expect(writes).toHaveLength(1);
    expect(writes[0]?.endsWith('\n')).toBe(true);
    expect(JSON.parse(writes[0] as string)).toEqual({ level: 'warn', name: 'agent-observability', msg: 'hello', component: 'usage' });
  });
});
