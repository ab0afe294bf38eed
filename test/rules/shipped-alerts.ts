/**
 * promtool scenarios for the SHIPPED rule files (`alerts/*.yaml`, generated from
 * `obs.config.ts`): for every alert, one entity goes bad while another stays healthy,
 * and the alert is checked both before the fault (silent) and after its `for:` (firing,
 * for the bad entity only). `shipped-alerts.test.yaml` is rendered from this module and
 * committed (regenerate: `npx vitest run test/unit/shipped-rules.test.ts -u`).
 *
 * Expected labels and the rendered `$value` are written here by hand; the annotation
 * wording is taken from the shipped rules and rendered with them, so the suite checks
 * the PromQL, the labels and the numbers, not the prose.
 */
import {
  agentDuration, breakerState, buildInfo, eventLoopLagP99, internalErrors, labelOverflow, llmCallDuration, llmThrottled, poolUtilization,
  rateLimitUtilization, toolDuration,
} from '../../src/catalog/metrics.js';
import { formatLe, resolveSlos } from '../../src/catalog/slo.js';
import { PROMETHEUS_UP } from '../../src/generate/promql.js';
import shippedConfig from '../../obs.config.js';
import { readRuleFiles, type RuleJson } from '../helpers/promql.js';

interface InputSeries {
  readonly series: string;
  readonly values: string;
}
interface Expected {
  readonly labels: Readonly<Record<string, string>>;
  /** `$value` as the template renders it (`25%`, `19.97s`), when the annotations use it. */
  readonly value?: string;
}
interface Check {
  readonly at: string;
  readonly alert: string;
  readonly expect: readonly Expected[];
}
interface Scenario {
  readonly name: string;
  readonly series: readonly InputSeries[];
  readonly checks: readonly Check[];
}

const JOB = { job: 'agent', instance: '10.0.0.1:8080' } as const;
const AGENT = 'support-agent';
const LLM = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'simulated', gen_ai_agent_name: AGENT } as const;

const sel = (name: string, labels: Readonly<Record<string, string | undefined>>): string =>
  `${name}{${Object.entries(labels)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ')}}`;
const s = (series: string, values: string): InputSeries => ({ series, values });
/** `perMinute` a minute for `minutes` minutes. */
const steady = (perMinute: number, minutes = 40): string => `0+${perMinute}x${minutes}`;
/** Flat 0 until `fromMinute`, then `perMinute` a minute up to minute 40. */
const from = (fromMinute: number, perMinute: number): string => `0x${fromMinute} ${perMinute}+${perMinute}x${39 - fromMinute}`;
/** Grows `perMinute` until `untilMinute`, then flat. */
const until = (untilMinute: number, perMinute: number): string => `0+${perMinute}x${untilMinute} ${untilMinute * perMinute}+0x${39 - untilMinute}`;

/** Histogram series: `before` calls/min all at or below `fastLe` until minute 10, then `after` calls/min in (slowFrom, slowLe]. */
function slowAfter10(name: string, labels: Record<string, string>, fastLe: string, slowFrom: string, slowLe: string, perMinute = 60): InputSeries[] {
  const b = (le: string, values: string): InputSeries => s(sel(`${name}_bucket`, { ...labels, le }), values);
  return [
    b(fastLe, until(10, perMinute)),
    b(slowFrom, until(10, perMinute)),
    b(slowLe, steady(perMinute)),
    b('+Inf', steady(perMinute)),
    s(sel(`${name}_count`, labels), steady(perMinute)),
  ];
}
/** Histogram series with every call at or below `fastLe`. */
function allFast(name: string, labels: Record<string, string>, fastLe: string, slowLe: string, perMinute = 60): InputSeries[] {
  const b = (le: string): InputSeries => s(sel(`${name}_bucket`, { ...labels, le }), steady(perMinute));
  return [b(fastLe), b(slowLe), b('+Inf'), s(sel(`${name}_count`, labels), steady(perMinute))];
}

const tool = (t: string): Record<string, string> => ({ ...JOB, gen_ai_tool_name: t, gen_ai_agent_name: AGENT });
const llm = (model: string): Record<string, string> => ({ ...JOB, ...LLM, gen_ai_request_model: model });
const SLOW = 'sim-large-2025-06';
const FAST = 'sim-small-2025-06';

/** Agent-level alerts: each fault starts at minute 10; checked at 10m (silent) and later (firing). */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'AgentToolErrorRatioHigh: web_search fails 25% from minute 10; calculator fails 1 in 60',
    series: [
      s(sel(`${toolDuration.name}_count`, tool('web_search')), steady(45)),
      s(sel(`${toolDuration.name}_count`, { ...tool('web_search'), error_type: 'timeout' }), from(10, 15)),
      s(sel(`${toolDuration.name}_count`, tool('calculator')), steady(59)),
      s(sel(`${toolDuration.name}_count`, { ...tool('calculator'), error_type: 'invalid_expression' }), steady(1)),
    ],
    checks: [
      { at: '10m', alert: 'AgentToolErrorRatioHigh', expect: [] },
      { at: '25m', alert: 'AgentToolErrorRatioHigh', expect: [{ labels: { job: 'agent', gen_ai_agent_name: AGENT, gen_ai_tool_name: 'web_search', severity: 'warning' }, value: '25%' }] },
    ],
  },
  {
    name: 'AgentLlmErrorRatioHigh: the large model fails 25% from minute 10; the small one never',
    series: [
      s(sel(`${llmCallDuration.name}_count`, llm(SLOW)), steady(30)),
      s(sel(`${llmCallDuration.name}_count`, { ...llm(SLOW), error_type: 'rate_limited' }), from(10, 10)),
      s(sel(`${llmCallDuration.name}_count`, llm(FAST)), steady(30)),
    ],
    checks: [
      { at: '10m', alert: 'AgentLlmErrorRatioHigh', expect: [] },
      {
        at: '25m',
        alert: 'AgentLlmErrorRatioHigh',
        expect: [{ labels: { job: 'agent', gen_ai_provider_name: 'simulated', gen_ai_request_model: SLOW, severity: 'warning' }, value: '25%' }],
      },
    ],
  },
  {
    name: 'AgentLatencyOverSla: support-agent turns slow (51.2-102.4 s) at minute 10; faq-agent stays fast',
    series: [
      ...slowAfter10(agentDuration.name, { ...JOB, gen_ai_agent_name: AGENT }, '0.8', '51.2', '102.4'),
      ...allFast(agentDuration.name, { ...JOB, gen_ai_agent_name: 'faq-agent' }, '0.8', '102.4'),
    ],
    checks: [
      { at: '10m', alert: 'AgentLatencyOverSla', expect: [] },
      // p95 = 51.2 + 0.95 * 51.2
      { at: '30m', alert: 'AgentLatencyOverSla', expect: [{ labels: { job: 'agent', gen_ai_agent_name: AGENT, severity: 'warning' }, value: '1m 39s' }] },
    ],
  },
  {
    name: 'AgentToolLatencyOverSla: web_search turns slow (10.24-20.48 s) at minute 10; kb_lookup stays fast',
    series: [
      ...slowAfter10(toolDuration.name, tool('web_search'), '0.16', '10.24', '20.48'),
      ...allFast(toolDuration.name, tool('kb_lookup'), '0.16', '20.48'),
    ],
    checks: [
      { at: '10m', alert: 'AgentToolLatencyOverSla', expect: [] },
      {
        at: '30m',
        alert: 'AgentToolLatencyOverSla',
        expect: [{ labels: { job: 'agent', gen_ai_agent_name: AGENT, gen_ai_tool_name: 'web_search', severity: 'warning' }, value: '19.97s' }],
      },
    ],
  },
  {
    name: 'AgentLlmLatencyOverSla: the large model turns slow (20.48-40.96 s) at minute 10; the small one stays fast',
    series: [...slowAfter10(llmCallDuration.name, llm(SLOW), '1.28', '20.48', '40.96'), ...allFast(llmCallDuration.name, llm(FAST), '1.28', '40.96')],
    checks: [
      { at: '10m', alert: 'AgentLlmLatencyOverSla', expect: [] },
      {
        at: '30m',
        alert: 'AgentLlmLatencyOverSla',
        expect: [{ labels: { job: 'agent', gen_ai_provider_name: 'simulated', gen_ai_request_model: SLOW, severity: 'warning' }, value: '39.94s' }],
      },
    ],
  },
  {
    name: 'AgentLlmThrottled: 0.5 429s per second from minute 10 on one model; one a minute on the other',
    series: [
      s(sel(llmThrottled.name, { ...JOB, gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-x' }), from(10, 30)),
      s(sel(llmThrottled.name, { ...JOB, gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-y' }), steady(1)),
    ],
    checks: [
      { at: '10m', alert: 'AgentLlmThrottled', expect: [] },
      { at: '25m', alert: 'AgentLlmThrottled', expect: [{ labels: { job: 'agent', gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-x', severity: 'warning' }, value: '0.50' }] },
    ],
  },
  {
    name: 'AgentLlmRateLimitNearExhaustion: 95% of the requests limit in use from minute 10; tokens at 30%',
    series: [
      s(sel(rateLimitUtilization.name, { ...JOB, gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-x', kind: 'requests' }), '0.5x10 0.95x29'),
      s(sel(rateLimitUtilization.name, { ...JOB, gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-x', kind: 'tokens' }), '0.3x40'),
    ],
    checks: [
      { at: '10m', alert: 'AgentLlmRateLimitNearExhaustion', expect: [] },
      {
        at: '25m',
        alert: 'AgentLlmRateLimitNearExhaustion',
        expect: [{ labels: { job: 'agent', gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-x', kind: 'requests', severity: 'info' }, value: '95%' }],
      },
    ],
  },
  {
    name: 'AgentCircuitBreakerOpen: search-api opens at minute 10; llm stays closed',
    series: [
      s(sel(breakerState.name, { ...JOB, breaker: 'search-api', state: 'open' }), '0x10 1x29'),
      s(sel(breakerState.name, { ...JOB, breaker: 'search-api', state: 'closed' }), '1x10 0x29'),
      s(sel(breakerState.name, { ...JOB, breaker: 'llm', state: 'open' }), '0x40'),
      s(sel(breakerState.name, { ...JOB, breaker: 'llm', state: 'closed' }), '1x40'),
    ],
    checks: [
      { at: '10m', alert: 'AgentCircuitBreakerOpen', expect: [] },
      { at: '15m', alert: 'AgentCircuitBreakerOpen', expect: [{ labels: { ...JOB, breaker: 'search-api', severity: 'warning' } }] },
    ],
  },
  {
    name: 'AgentPoolSaturated: llm-slots at 100% from minute 10; tools at 60%',
    series: [
      s(sel(poolUtilization.name, { ...JOB, pool: 'llm-slots' }), '0.5x10 1x29'),
      s(sel(poolUtilization.name, { ...JOB, pool: 'tools' }), '0.6x40'),
    ],
    checks: [
      { at: '10m', alert: 'AgentPoolSaturated', expect: [] },
      { at: '30m', alert: 'AgentPoolSaturated', expect: [{ labels: { ...JOB, pool: 'llm-slots', severity: 'warning' }, value: '100%' }] },
    ],
  },
  {
    name: 'AgentEventLoopBlocked: p99 delay 0.8 s on one instance from minute 10; 20 ms on the other',
    series: [
      s(sel(eventLoopLagP99.name, JOB), '0.01x10 0.8x29'),
      s(sel(eventLoopLagP99.name, { ...JOB, instance: '10.0.0.2:8080' }), '0.02x40'),
    ],
    checks: [
      { at: '10m', alert: 'AgentEventLoopBlocked', expect: [] },
      { at: '25m', alert: 'AgentEventLoopBlocked', expect: [{ labels: { ...JOB, severity: 'warning' }, value: '800ms' }] },
    ],
  },
  {
    name: 'AgentObservabilityTargetDown: an instance that exposed our metrics goes down at minute 10; a healthy one, and a down target that never did',
    series: [
      s(sel(PROMETHEUS_UP, JOB), '1x10 0x29'),
      s(sel(buildInfo.name, { ...JOB, version: '0.1.0' }), '1x10 stale'),
      s(sel(PROMETHEUS_UP, { ...JOB, instance: '10.0.0.2:8080' }), '1x40'),
      s(sel(buildInfo.name, { ...JOB, instance: '10.0.0.2:8080', version: '0.1.0' }), '1x40'),
      s(sel(PROMETHEUS_UP, { job: 'node', instance: '10.0.0.3:9100' }), '0x40'),
    ],
    checks: [
      { at: '10m', alert: 'AgentObservabilityTargetDown', expect: [] },
      { at: '20m', alert: 'AgentObservabilityTargetDown', expect: [{ labels: { ...JOB, severity: 'warning' } }] },
    ],
  },
  {
    name: 'AgentObservabilityInternalErrors: span recording keeps failing on one instance from minute 10; one failure on another',
    series: [
      s(sel(internalErrors.name, { ...JOB, component: 'tracing' }), from(10, 3)),
      s(sel(internalErrors.name, { ...JOB, instance: '10.0.0.2:8080', component: 'tracing' }), '0x10 1x29'),
    ],
    checks: [
      { at: '10m', alert: 'AgentObservabilityInternalErrors', expect: [] },
      { at: '25m', alert: 'AgentObservabilityInternalErrors', expect: [{ labels: { ...JOB, component: 'tracing', severity: 'info' }, value: '15' }] },
    ],
  },
  {
    name: 'AgentObservabilityLabelOverflow: tool names overflow from minute 10; a model label that overflowed once at minute 2',
    series: [
      s(sel(labelOverflow.name, { ...JOB, metric: toolDuration.name, label: 'gen_ai_tool_name' }), from(10, 5)),
      s(sel(labelOverflow.name, { ...JOB, metric: llmCallDuration.name, label: 'gen_ai_request_model' }), '0x2 1x37'),
    ],
    checks: [
      { at: '10m', alert: 'AgentObservabilityLabelOverflow', expect: [] },
      {
        at: '30m',
        alert: 'AgentObservabilityLabelOverflow',
        expect: [{ labels: { job: 'agent', metric: toolDuration.name, label: 'gen_ai_tool_name', severity: 'info' }, value: '25' }],
      },
    ],
  },
  {
    name: 'AgentObservabilityMetricsAbsent: metrics keep coming',
    series: [s(sel(buildInfo.name, { ...JOB, version: '0.1.0' }), '1x40')],
    checks: [{ at: '35m', alert: 'AgentObservabilityMetricsAbsent', expect: [] }],
  },
  {
    name: 'AgentObservabilityMetricsAbsent: the only target stops at minute 10',
    series: [s(sel(buildInfo.name, { ...JOB, version: '0.1.0' }), '1x10 stale')],
    checks: [
      { at: '20m', alert: 'AgentObservabilityMetricsAbsent', expect: [] },
      { at: '30m', alert: 'AgentObservabilityMetricsAbsent', expect: [{ labels: { severity: 'warning' } }] },
    ],
  },
];

/**
 * The shipped SLOs (obs.config.ts), whatever they are: every SLO target gets 600 calls a
 * minute for 75 minutes. Clean: all succeed, all under every latency threshold. Burning:
 * 90% fail and are slower than the largest threshold, so every SLO burns at
 * 0.9 / (1 - objective) its budget and exactly the window pairs below that factor fire,
 * with the latency alerts.
 */
function sloScenario(bad: boolean): Scenario {
  const minutes = 75;
  const perMinute = 600;
  const badShare = 0.9;
  const failed = bad ? perMinute * badShare : 0;
  const ok = perMinute - failed;
  const slos = resolveSlos(shippedConfig.slos ?? [], 'slos');
  // One population per target series; several SLOs may share it (availability and latency of one agent).
  const targets = new Map<string, { metric: string; labels: Record<string, string>; bounds: readonly number[]; thresholds: number[] }>();
  for (const slo of slos) {
    const labels = { ...JOB, ...Object.fromEntries(slo.matchers.map((m) => [m.label, m.value])) };
    const k = `${slo.metric.name}${JSON.stringify(labels)}`;
    const t = targets.get(k) ?? { metric: slo.metric.name, labels, bounds: slo.bounds, thresholds: [] as number[] };
    if (slo.latency !== undefined) t.thresholds.push(slo.latency.threshold);
    targets.set(k, t);
  }
  const c = (series: string, n: number): InputSeries => s(series, `0+${n}x${minutes}`);
  const series = [...targets.values()].flatMap(({ metric, labels, bounds, thresholds }) => {
    const top = Math.max(bounds[0] as number, ...thresholds);
    const slowLe = bounds.find((b) => b > top) ?? top * 2;
    const les = [...new Set([...thresholds, top])].sort((a, b) => a - b);
    const failedLabels = { ...labels, error_type: 'timeout' };
    return [
      c(sel(`${metric}_count`, labels), ok),
      ...les.map((le) => c(sel(`${metric}_bucket`, { ...labels, le: formatLe(le) }), ok)),
      c(sel(`${metric}_bucket`, { ...labels, le: formatLe(slowLe) }), ok),
      c(sel(`${metric}_bucket`, { ...labels, le: '+Inf' }), ok),
      ...(bad
        ? [
            c(sel(`${metric}_count`, failedLabels), failed),
            ...les.map((le) => c(sel(`${metric}_bucket`, { ...failedLabels, le: formatLe(le) }), 0)),
            c(sel(`${metric}_bucket`, { ...failedLabels, le: formatLe(slowLe) }), failed),
            c(sel(`${metric}_bucket`, { ...failedLabels, le: '+Inf' }), failed),
          ]
        : []),
    ];
  });
  const burn = new Map(slos.map((slo) => [slo.name, badShare / (1 - slo.objective)]));
  const firing = (alert: string): Expected[] =>
    bad
      ? shippedAlerts()
          .filter((r) => r.alert === alert)
          .filter((r) => r.labels?.burn_factor === undefined || Number(r.labels.burn_factor) < (burn.get(r.labels.sloth_slo as string) ?? 0))
          .map((r) => ({ labels: r.labels ?? {} }))
      : [];
  return {
    name: bad ? `shipped SLOs: ${badShare * 100}% bad events for ${minutes} minutes` : `shipped SLOs: clean for ${minutes} minutes`,
    series,
    checks: [
      { at: `${minutes}m`, alert: 'SloErrorBudgetBurn', expect: firing('SloErrorBudgetBurn') },
      { at: `${minutes}m`, alert: 'SloLatencyHigh', expect: firing('SloLatencyHigh') },
    ],
  };
}

function shippedAlerts(): RuleJson[] {
  return readRuleFiles().flatMap((f) => f.groups.flatMap((g) => g.rules)).filter((r) => r.alert !== undefined);
}
/** Renders a rule's annotation templates for one expected alert. */
function render(template: string, e: Expected): string {
  return template
    .replace(/\{\{ \$labels\.([A-Za-z_][A-Za-z0-9_]*) \}\}/g, (_, l: string) => {
      const v = e.labels[l];
      if (v === undefined) throw new Error(`template uses $labels.${l}, not among the expected labels ${JSON.stringify(e.labels)}`);
      return v;
    })
    .replace(/\{\{ (?:\$value \| [a-zA-Z]+|printf "[^"]*" \$value) \}\}/g, () => {
      if (e.value === undefined) throw new Error(`template uses $value; give the expected rendering: ${template}`);
      return e.value;
    });
}

/** The promtool test document. */
export function shippedAlertSuite(ruleFiles: readonly string[]): unknown {
  const rules = shippedAlerts();
  const ruleFor = (alert: string, labels: Readonly<Record<string, string>>): RuleJson => {
    const candidates = rules.filter((r) => r.alert === alert && Object.entries(r.labels ?? {}).every(([k, v]) => labels[k] === v));
    if (candidates.length !== 1) throw new Error(`${candidates.length} shipped rules match ${alert} ${JSON.stringify(labels)}`);
    return candidates[0] as RuleJson;
  };
  const all = [...SCENARIOS, sloScenario(true), sloScenario(false)];
  const tested = new Set(all.flatMap((sc) => sc.checks.filter((c) => c.expect.length > 0).map((c) => c.alert)));
  const silent = new Set(all.flatMap((sc) => sc.checks.filter((c) => c.expect.length === 0).map((c) => c.alert)));
  for (const name of new Set(rules.map((r) => r.alert as string))) {
    if (!tested.has(name) || !silent.has(name)) throw new Error(`alert ${name} needs a firing and a silent promtool case`);
  }
  return {
    rule_files: ruleFiles,
    evaluation_interval: '1m',
    tests: all.map((sc) => ({
      name: sc.name,
      interval: '1m',
      input_series: sc.series,
      alert_rule_test: sc.checks.map((c) => ({
        eval_time: c.at,
        alertname: c.alert,
        exp_alerts: c.expect.map((e) => {
          const rule = ruleFor(c.alert, e.labels);
          return {
            exp_labels: e.labels,
            exp_annotations: Object.fromEntries(Object.entries(rule.annotations ?? {}).map(([k, v]) => [k, render(v, e)])),
          };
        }),
      })),
    })),
  };
}
