import { describe, expect, it } from 'vitest';
import * as catalog from './index.js';
import { BASE_UNITS, namingProblems } from './naming.js';
import { METRICS } from './metrics.js';

// Non-base units, as name suffixes or unit fields, that must never appear in the catalog.
const NON_BASE = ['milliseconds', 'microseconds', 'nanoseconds', 'ms', 'us', 'ns', 'minutes', 'hours', 'days', 'kilobytes', 'megabytes', 'bytes_per_second', 'percent', 'bits'];

describe('the metric catalog', () => {
  it('has no naming problems in any entry', () => {
    const bad = METRICS.map((m) => ({ name: m.name, problems: namingProblems(m) })).filter((x) => x.problems.length > 0);
    expect(bad).toEqual([]);
  });

  it('has unique metric names', () => {
    const names = METRICS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('has no name that collides with another entry\'s histogram or OpenMetrics sample names', () => {
    const samples = new Map<string, string>();
    for (const m of METRICS) {
      const own = m.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => m.name + s) : [m.name];
      for (const s of own) {
        expect(samples.get(s), `${s} of ${m.name}`).toBeUndefined();
        samples.set(s, m.name);
      }
    }
  });

  it('ends every counter in _total and nothing else', () => {
    for (const m of METRICS) {
      expect(m.name.endsWith('_total'), m.name).toBe(m.type === 'counter');
    }
  });

  it('suffixes every name with its unit (before _total) and uses base units only', () => {
    for (const m of METRICS) {
      expect([...BASE_UNITS, ''] as string[]).toContain(m.unit);
      const stem = m.name.replace(/_total$/, '');
      if (m.unit !== '') expect(stem.endsWith(`_${m.unit}`), m.name).toBe(true);
      else for (const u of BASE_UNITS) expect(stem.endsWith(`_${u}`), `${m.name} is unitless but ends in _${u}`).toBe(false);
      for (const bad of NON_BASE) expect(stem.endsWith(`_${bad}`), `${m.name} uses non-base unit ${bad}`).toBe(false);
    }
  });

  it('gives histograms strictly increasing, finite, non-negative buckets and nothing else buckets', () => {
    for (const m of METRICS) {
      if (m.type !== 'histogram') {
        expect(m.buckets, m.name).toBeUndefined();
        continue;
      }
      const b = m.buckets ?? [];
      expect(b.length, m.name).toBeGreaterThan(0);
      b.forEach((v, i) => {
        expect(Number.isFinite(v) && v >= 0, `${m.name}[${i}]`).toBe(true);
        if (i > 0) expect(v, `${m.name}[${i}]`).toBeGreaterThan(b[i - 1] as number);
      });
      expect(m.labels, m.name).not.toContain('le');
    }
  });

  it('uses valid, unique, non-reserved label names and non-empty help', () => {
    for (const m of METRICS) {
      expect(new Set(m.labels).size, m.name).toBe(m.labels.length);
      for (const l of m.labels) expect(l, m.name).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
      for (const l of m.labels) expect(l.startsWith('__'), m.name).toBe(false);
      expect(m.help.trim(), m.name).not.toBe('');
      expect(m.help, `${m.name} help is one line`).not.toMatch(/\n/);
    }
  });

  it('is frozen, so no caller can change a definition at run time', () => {
    for (const m of METRICS) {
      expect(Object.isFrozen(m), m.name).toBe(true);
      expect(Object.isFrozen(m.labels), m.name).toBe(true);
      if (m.buckets !== undefined) expect(Object.isFrozen(m.buckets), m.name).toBe(true);
    }
    expect(Object.isFrozen(METRICS)).toBe(true);
  });

  it('prints the doubling bucket presets without floating-point noise', () => {
    expect(catalog.CALL_DURATION_BUCKETS).toEqual([0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]);
    expect(catalog.CALL_DURATION_BUCKETS.map(String).every((s) => s.length <= 5)).toBe(true);
    expect(catalog.TOKEN_BUCKETS[0]).toBe(1);
    expect(catalog.TOKEN_BUCKETS.at(-1)).toBe(4 ** 13);
  });

  it('mirrors the GenAI semantic conventions verbatim where they exist', () => {
    const withSemconv = METRICS.filter((m) => 'semconv' in m && m.semconv !== undefined);
    expect(withSemconv.length).toBeGreaterThan(0);
    for (const m of withSemconv) {
      const semconv = (m as { semconv: string }).semconv;
      const promName = semconv.replace(/\./g, '_') + (m.unit === '' ? '' : `_${m.unit}`);
      expect(m.name, semconv).toBe(promName);
    }
    expect(catalog.llmCallDuration.name).toBe('gen_ai_client_operation_duration_seconds');
    expect(catalog.llmTokenUsage.labels).toContain('gen_ai_token_type');
    expect(catalog.toolDuration.labels).toEqual(['gen_ai_tool_name', 'gen_ai_agent_name', 'error_type']);
  });

  it('exports every entry of METRICS by its own binding too', () => {
    const exported = new Set(Object.values(catalog).filter((v) => typeof v === 'object' && v !== null && 'name' in v));
    for (const m of METRICS) expect(exported.has(m), m.name).toBe(true);
  });
});
