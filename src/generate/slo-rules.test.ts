import { describe, expect, it } from 'vitest';
import { METRICS, toolDuration } from '../catalog/metrics.js';
import { defineSlo } from '../catalog/slo.js';
import { isConfigError } from '../errors.js';
import {
  generateSloRules, MULTI_BURN_RATE_ALERTS, sloRuleGroups, type AlertingRule, type RecordingRule, type SloRulesOptions,
} from './index.js';
import { eq, histogramQuantile, histogramSeries, rate, re, sum } from './promql.js';

const slos = [
  defineSlo({ name: 'support-availability', target: { kind: 'agent', name: 'support' }, objective: 0.995, availability: {} }),
  defineSlo({ name: 'search-latency', target: { kind: 'tool', name: 'web_search', agent: 'support' }, latency: { threshold: 2.56 }, objective: 0.95 }),
];
const options: SloRulesOptions = { service: 'support-agent', slos, selector: [eq('job', 'agent')] };

const alertsOf = (o: SloRulesOptions): AlertingRule[] => sloRuleGroups(o).alerts.flatMap((g) => g.rules as AlertingRule[]);
const recordsOf = (o: SloRulesOptions): RecordingRule[] => sloRuleGroups(o).recording.flatMap((g) => g.rules as RecordingRule[]);

function configPath(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isConfigError(e)) return e.path;
    throw e;
  }
  throw new Error('no ConfigError');
}

describe('SLO rules', () => {
  it('records Sloth-compatible SLIs for 5m … 3d plus the 30d period, and the meta series', () => {
    const names = recordsOf(options).filter((r) => r.labels?.sloth_slo === 'support-availability').map((r) => r.record);
    for (const w of ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d']) expect(names).toContain(`slo:sli_error:ratio_rate${w}`);
    for (const n of ['slo:objective:ratio', 'slo:error_budget:ratio', 'slo:time_period:days', 'slo:current_burn_rate:ratio', 'slo:period_burn_rate:ratio', 'slo:period_error_budget_remaining:ratio', 'sloth_slo_info']) {
      expect(names).toContain(n);
    }
    const rec = recordsOf(options).find((r) => r.record === 'slo:sli_error:ratio_rate5m' && r.labels?.sloth_slo === 'support-availability');
    expect(rec?.labels).toEqual({ sloth_id: 'support-agent-support-availability', sloth_service: 'support-agent', sloth_slo: 'support-availability', sloth_window: '5m' });
  });

  it('one burn-rate alert per window pair per SLO, plus a latency alert per latency SLO, each fully annotated', () => {
    const alerts = alertsOf(options);
    expect(alerts).toHaveLength(2 * MULTI_BURN_RATE_ALERTS.length + 1);
    const pairs = alerts.filter((a) => a.labels?.sloth_slo === 'support-availability').map((a) => [a.labels?.severity, a.labels?.burn_factor, a.labels?.long_window, a.labels?.short_window]);
    expect(pairs).toEqual([
      ['critical', '14.4', '1h', '5m'],
      ['critical', '6', '6h', '30m'],
      ['warning', '3', '1d', '2h'],
      ['warning', '1', '3d', '6h'],
    ]);
    for (const a of alerts) {
      expect(a.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(Object.keys(a.annotations ?? {}).sort()).toEqual(['description', 'runbook_url', 'summary']);
      expect(a.annotations?.runbook_url).toBe(`docs/runbooks.md#${a.alert.toLowerCase()}`);
      expect(['critical', 'warning', 'info']).toContain(a.labels?.severity);
    }
    const latency = alerts.find((a) => a.alert === 'SloLatencyHigh');
    expect(latency?.for).toBe('10m');
    expect(latency?.expr).toContain(
      'histogram_quantile(0.95, sum by (le) (rate(gen_ai_execute_tool_duration_seconds_bucket{job="agent", gen_ai_tool_name="web_search", gen_ai_agent_name="support"}[5m]))) > 2.56',
    );
  });

  it('latency SLIs come from the _bucket{le="T"} series; availability SLIs from error_type!=""', () => {
    const five = (slo: string) => recordsOf(options).find((r) => r.record === 'slo:sli_error:ratio_rate5m' && r.labels?.sloth_slo === slo)?.expr;
    expect(five('search-latency')).toContain('gen_ai_execute_tool_duration_seconds_bucket{job="agent", gen_ai_tool_name="web_search", gen_ai_agent_name="support", le="2.56"}[5m]');
    expect(five('support-availability')).toContain('gen_ai_invoke_agent_duration_seconds_count{job="agent", gen_ai_agent_name="support", error_type!=""}[5m]');
  });

  it('every metric name in every expression is a catalog metric or a recorded series', () => {
    const { recording, alerts } = sloRuleGroups(options);
    const recorded = new Set(recording.flatMap((g) => g.rules.map((r) => (r as RecordingRule).record)));
    const catalog = new Set(METRICS.flatMap((m) => (m.type === 'histogram' ? [`${m.name}_bucket`, `${m.name}_count`, `${m.name}_sum`] : [m.name])));
    const functions = new Set(['sum', 'rate', 'by', 'without', 'on', 'and', 'ignoring', 'group_left', 'max', 'vector', 'histogram_quantile', 'sum_over_time', 'count_over_time']);
    for (const g of [...recording, ...alerts]) {
      for (const r of g.rules) {
        const bare = r.expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '');
        const idents = bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
        for (const id of idents) {
          if (functions.has(id) || /^(le|sloth_\w+|cluster)$/.test(id)) continue;
          expect(catalog.has(id) || recorded.has(id), `${id} in ${r.expr}`).toBe(true);
        }
      }
    }
  });

  it('aggregates over instances with sum / sum by, keeping only the `by` labels', () => {
    const withBy = alertsOf({ ...options, by: ['cluster'] });
    const page = withBy.find((a) => a.labels?.long_window === '1h' && a.labels.sloth_slo === 'support-availability');
    expect(page?.expr).toContain('and on(cluster)\nsum by (cluster) (rate(gen_ai_invoke_agent_duration_seconds_count');
    expect(withBy.find((a) => a.alert === 'SloLatencyHigh')?.expr).toContain('histogram_quantile(0.95, sum by (le, cluster) (');
    const plain = recordsOf(options).find((r) => r.record === 'slo:sli_error:ratio_rate1h');
    expect(plain?.expr.startsWith('sum(rate(')).toBe(true);
  });

  it('the low-traffic guard is configurable per generator and per SLO, and 0 removes it', () => {
    const guarded = alertsOf({ ...options, minRequestRate: 0.5 });
    expect(guarded.every((a) => a.expr.includes('>= 0.5'))).toBe(true);
    expect(alertsOf({ ...options, minRequestRate: 0 }).some((a) => a.expr.includes('>='))).toBe(false);
    const perSlo = alertsOf({ ...options, slos: [{ ...slos[0]!, alerting: { minRequestRate: 2 } }] });
    expect(perSlo.every((a) => a.expr.endsWith('>= 2'))).toBe(true);
  });

  it('honours bucket overrides for le and rejects thresholds that are not boundaries, naming the path', () => {
    const custom = [{ name: 'l', target: { kind: 'tool', name: 't' }, latency: { threshold: 2.2 }, objective: 0.9 } as const];
    expect(configPath(() => sloRuleGroups({ ...options, slos: [slos[0]!, ...custom] }))).toBe('slos[1].latency.threshold');
    const ok = recordsOf({ ...options, slos: custom, buckets: { gen_ai_execute_tool_duration_seconds: [1, 2.2, 5] } });
    expect(ok[0]?.expr).toContain('le="2.2"');
  });

  it('checks its own options', () => {
    expect(configPath(() => sloRuleGroups({ ...options, service: '' }))).toBe('service');
    expect(configPath(() => sloRuleGroups({ ...options, selector: [eq('bad-label', 'x')] }))).toBe('selector[0].label');
    expect(configPath(() => sloRuleGroups({ ...options, by: ['__name__'] }))).toBe('by[0]');
    expect(configPath(() => sloRuleGroups({ ...options, minRequestRate: -1 }))).toBe('minRequestRate');
    expect(configPath(() => sloRuleGroups({ ...options, alertWindows: [{ severity: 'critical', burnFactor: 2, longWindow: '5m', shortWindow: '1h' }] }))).toBe(
      'alertWindows[0].shortWindow',
    );
    expect(configPath(() => sloRuleGroups({ ...options, buckets: { gen_ai_execute_tool_duration_seconds: [2, 1] } }))).toBe(
      'buckets.gen_ai_execute_tool_duration_seconds[1]',
    );
  });

  it('renders YAML with the do-not-edit banner', () => {
    const { recording, alerts } = generateSloRules(options);
    expect(recording.startsWith('# Code generated by agent-observability ')).toBe(true);
    expect(alerts).toContain('DO NOT EDIT.');
    expect(generateSloRules(options)).toEqual({ recording, alerts });
  });
});

describe('PromQL builder', () => {
  it('builds selectors from catalog entries and checks label names at compile time', () => {
    expect(histogramSeries(toolDuration, 'count', [eq('gen_ai_tool_name', 'a"b')], [re('job', 'agent.*')])).toBe(
      'gen_ai_execute_tool_duration_seconds_count{job=~"agent.*", gen_ai_tool_name="a\\"b"}',
    );
    expect(sum(rate('x', '5m'), ['a', 'b'])).toBe('sum by (a, b) (rate(x[5m]))');
    expect(histogramQuantile(0.99, toolDuration, '5m')).toBe('histogram_quantile(0.99, sum by (le) (rate(gen_ai_execute_tool_duration_seconds_bucket[5m])))');
    // @ts-expect-error: not a label of the tool histogram
    histogramSeries(toolDuration, 'count', [eq('gen_ai_request_model', 'm')]);
  });
});
