/**
 * The RED/USE alerts shipped besides the SLO burn-rate rules: tool and LLM error ratios,
 * latency over SLA, provider throttling and rate-limit headroom, breakers, pools, the event
 * loop, targets that stop reporting, and the library's own health (internal failures, labels
 * folded into `_OTHER`). Every expression is built from catalog entries;
 * every threshold and duration comes from the config. Severity policy: `critical` pages
 * and is reserved for SLO burn (symptoms users feel); these cause-level alerts are
 * `warning` (act within hours) or `info` (context, no action on their own).
 */
import {
  agentDuration, breakerState, buildInfo, eventLoopLagP99, internalErrors, labelOverflow, llmCallDuration, llmThrottled, poolUtilization,
  rateLimitUtilization, toolDuration,
} from '../../catalog/metrics.js';
import type { ResolvedGenerateConfig } from '../config.js';
import {
  absentOverTime, aggregate, callRate, counterIncrease, counterRate, eq, errorRatio, gaugeAggregate, metricSeries, num, on, overTime, quantile,
  upSeries, type LabelMatcher,
} from '../promql.js';
import type { AlertingRule, RuleGroup } from '../rules.js';

/** Alert severities (mixin convention). */
export type Severity = 'critical' | 'warning' | 'info';

/** An alert before post-processing adds its runbook link. */
export interface AlertDraft extends AlertingRule {
  readonly labels: Readonly<Record<string, string>> & { readonly severity: Severity };
  readonly annotations: { readonly summary: string; readonly description: string };
}

/** How long a generated target remembers that an instance reported our metrics (for the target-down alert). */
export const TARGET_MEMORY = '1h';

/** Names of the alerts below, in file order (the SLO rules add `SloErrorBudgetBurn`, `SloLatencyHigh`). */
export const AGENT_ALERTS = Object.freeze([
  'AgentToolErrorRatioHigh',
  'AgentLlmErrorRatioHigh',
  'AgentLatencyOverSla',
  'AgentToolLatencyOverSla',
  'AgentLlmLatencyOverSla',
  'AgentLlmThrottled',
  'AgentLlmRateLimitNearExhaustion',
  'AgentCircuitBreakerOpen',
  'AgentPoolSaturated',
  'AgentEventLoopBlocked',
  'AgentObservabilityTargetDown',
  'AgentObservabilityMetricsAbsent',
  'AgentObservabilityInternalErrors',
  'AgentObservabilityLabelOverflow',
] as const);
export type AgentAlertName = (typeof AGENT_ALERTS)[number];

const indent = (expr: string): string => expr.split('\n').map((l) => `  ${l}`).join('\n');
const pct = (ratio: number): string => `${Number((ratio * 100).toPrecision(12))}%`;
const secs = (s: number): string => `${num(s)}s`;

/** `expr` only where `guard` (a call rate) reaches `min` calls per second; no guard at 0. */
function guarded(expr: string, guard: string, min: number): string {
  return min > 0 ? `${expr}\nand\n${guard} >= ${num(min)}` : expr;
}

function draft(alert: AgentAlertName, expr: string, forDuration: string, severity: Severity, summary: string, description: string): AlertDraft {
  return { alert, expr, for: forDuration, labels: { severity }, annotations: { summary, description } };
}

/** The alert groups (as data) for a resolved config. */
export function agentAlertGroups(c: ResolvedGenerateConfig): RuleGroup[] {
  const w = c.rateInterval;
  const t = c.thresholds;
  const extra: readonly LabelMatcher[] = c.selector;
  const keep = [...c.groupBy, 'job'];
  const keepInstance = [...keep, 'instance'];
  const q = t.latencyQuantile;
  const pq = `p${Number((q * 100).toPrecision(12))}`;

  const tool = { extra, keep, by: ['gen_ai_agent_name', 'gen_ai_tool_name'] as const };
  const llm = { extra, keep, by: ['gen_ai_provider_name', 'gen_ai_request_model'] as const };
  const agent = { extra, keep, by: ['gen_ai_agent_name'] as const };

  const red: AlertDraft[] = [
    draft(
      'AgentToolErrorRatioHigh',
      guarded(`(\n${indent(errorRatio(toolDuration, 'error_type', w, tool))}\n) > ${num(t.toolErrorRatio)}`, callRate(toolDuration, w, tool), c.minRequestRate),
      c.for.errorRatio,
      'warning',
      'Tool {{ $labels.gen_ai_tool_name }} fails {{ $value | humanizePercentage }} of its calls.',
      `Over the last ${w}, {{ $value | humanizePercentage }} of the calls to tool {{ $labels.gen_ai_tool_name }} by agent ` +
        `{{ $labels.gen_ai_agent_name }} (job {{ $labels.job }}) failed, above the ${pct(t.toolErrorRatio)} threshold.`,
    ),
    draft(
      'AgentLlmErrorRatioHigh',
      guarded(`(\n${indent(errorRatio(llmCallDuration, 'error_type', w, llm))}\n) > ${num(t.llmErrorRatio)}`, callRate(llmCallDuration, w, llm), c.minRequestRate),
      c.for.errorRatio,
      'warning',
      'Model {{ $labels.gen_ai_request_model }} fails {{ $value | humanizePercentage }} of its calls.',
      `Over the last ${w}, {{ $value | humanizePercentage }} of the calls to model {{ $labels.gen_ai_request_model }} ` +
        `(provider {{ $labels.gen_ai_provider_name }}, job {{ $labels.job }}) failed, above the ${pct(t.llmErrorRatio)} threshold.`,
    ),
    draft(
      'AgentLatencyOverSla',
      guarded(`${quantile(q, agentDuration, w, agent)} > ${num(t.agentLatencySeconds)}`, callRate(agentDuration, w, agent), c.minRequestRate),
      c.for.latency,
      'warning',
      `Agent {{ $labels.gen_ai_agent_name }} ${pq} latency is {{ $value | humanizeDuration }}, over its ${secs(t.agentLatencySeconds)} SLA.`,
      `The ${pq} duration of agent {{ $labels.gen_ai_agent_name }} invocations (job {{ $labels.job }}) over the last ${w} ` +
        `is {{ $value | humanizeDuration }}, above the ${secs(t.agentLatencySeconds)} SLA.`,
    ),
    draft(
      'AgentToolLatencyOverSla',
      guarded(`${quantile(q, toolDuration, w, tool)} > ${num(t.toolLatencySeconds)}`, callRate(toolDuration, w, tool), c.minRequestRate),
      c.for.latency,
      'warning',
      `Tool {{ $labels.gen_ai_tool_name }} ${pq} latency is {{ $value | humanizeDuration }}, over its ${secs(t.toolLatencySeconds)} SLA.`,
      `The ${pq} duration of tool {{ $labels.gen_ai_tool_name }} calls by agent {{ $labels.gen_ai_agent_name }} ` +
        `(job {{ $labels.job }}) over the last ${w} is {{ $value | humanizeDuration }}, above the ${secs(t.toolLatencySeconds)} SLA.`,
    ),
    draft(
      'AgentLlmLatencyOverSla',
      guarded(`${quantile(q, llmCallDuration, w, llm)} > ${num(t.llmLatencySeconds)}`, callRate(llmCallDuration, w, llm), c.minRequestRate),
      c.for.latency,
      'warning',
      `Model {{ $labels.gen_ai_request_model }} ${pq} latency is {{ $value | humanizeDuration }}, over its ${secs(t.llmLatencySeconds)} SLA.`,
      `The ${pq} duration of calls to model {{ $labels.gen_ai_request_model }} (provider {{ $labels.gen_ai_provider_name }}, ` +
        `job {{ $labels.job }}) over the last ${w} is {{ $value | humanizeDuration }}, above the ${secs(t.llmLatencySeconds)} SLA.`,
    ),
  ];

  const providers: AlertDraft[] = [
    draft(
      'AgentLlmThrottled',
      `${counterRate(llmThrottled, w, llm)} > ${num(t.throttledPerSecond)}`,
      c.for.throttled,
      'warning',
      'Provider {{ $labels.gen_ai_provider_name }} is throttling model {{ $labels.gen_ai_request_model }}.',
      `Provider {{ $labels.gen_ai_provider_name }} answered {{ printf "%.2f" $value }} calls per second to model ` +
        `{{ $labels.gen_ai_request_model }} (job {{ $labels.job }}) with HTTP 429 over the last ${w}, above ${num(t.throttledPerSecond)}/s.`,
    ),
    draft(
      'AgentLlmRateLimitNearExhaustion',
      `${gaugeAggregate('max', rateLimitUtilization, { extra, keep, by: ['gen_ai_provider_name', 'gen_ai_request_model', 'kind'] })} >= ${num(t.rateLimitUtilization)}`,
      c.for.rateLimit,
      'info',
      'The {{ $labels.kind }} rate limit of {{ $labels.gen_ai_provider_name }}/{{ $labels.gen_ai_request_model }} is nearly used up.',
      `{{ $value | humanizePercentage }} of the {{ $labels.kind }} rate limit of provider {{ $labels.gen_ai_provider_name }} ` +
        `for model {{ $labels.gen_ai_request_model }} (job {{ $labels.job }}) is in use, per its last response headers ` +
        `(threshold ${pct(t.rateLimitUtilization)}); throttling (HTTP 429) comes next.`,
    ),
  ];

  const resilience: AlertDraft[] = [
    draft(
      'AgentCircuitBreakerOpen',
      `${gaugeAggregate('max', breakerState, { extra, keep: keepInstance, by: ['breaker'], match: [eq('state', 'open')] })} == 1`,
      c.for.breakerOpen,
      'warning',
      'Circuit breaker {{ $labels.breaker }} is open.',
      'Circuit breaker {{ $labels.breaker }} on {{ $labels.instance }} (job {{ $labels.job }}) is open: calls through it ' +
        `are rejected (or served by its fallback) without reaching the dependency. It has been open for at least ${c.for.breakerOpen}.`,
    ),
    draft(
      'AgentPoolSaturated',
      `${gaugeAggregate('max', poolUtilization, { extra, keep: keepInstance, by: ['pool'], overTime: { fn: 'avg', window: w } })} >= ${num(t.poolUtilization)}`,
      c.for.poolSaturated,
      'warning',
      'Pool {{ $labels.pool }} is saturated.',
      `Pool {{ $labels.pool }} on {{ $labels.instance }} (job {{ $labels.job }}) has used {{ $value | humanizePercentage }} of its ` +
        `concurrency on average over the last ${w} (threshold ${pct(t.poolUtilization)}): new calls queue, wait and may be rejected.`,
    ),
  ];

  const runtime: AlertDraft[] = [
    draft(
      'AgentEventLoopBlocked',
      `${gaugeAggregate('max', eventLoopLagP99, { extra, keep: keepInstance, overTime: { fn: 'avg', window: w } })} > ${num(t.eventLoopLagSeconds)}`,
      c.for.eventLoop,
      'warning',
      'The event loop of {{ $labels.instance }} is blocked.',
      `The p99 event-loop delay of {{ $labels.instance }} (job {{ $labels.job }}) averaged {{ $value | humanizeDuration }} ` +
        `over the last ${w}, above ${secs(t.eventLoopLagSeconds)}: every request on that process waits behind synchronous work.`,
    ),
  ];

  const up = upSeries(extra);
  const meta: AlertDraft[] = [
    draft(
      'AgentObservabilityTargetDown',
      `${up} == 0\nand ${on(keepInstance)}\n${aggregate('max', overTime('last', metricSeries(buildInfo, [], extra), TARGET_MEMORY), keepInstance)}`,
      c.for.targetDown,
      'warning',
      'Target {{ $labels.instance }} of job {{ $labels.job }} is down.',
      `Prometheus cannot scrape {{ $labels.instance }} (job {{ $labels.job }}), which exposed agent-observability metrics ` +
        `within the last ${TARGET_MEMORY}: its alerts and dashboards are blind until it is back.`,
    ),
    draft(
      'AgentObservabilityMetricsAbsent',
      absentOverTime(metricSeries(buildInfo, [], extra), w),
      c.for.metricsAbsent,
      'warning',
      'No agent-observability metrics are being scraped.',
      `No series of ${buildInfo.name}${c.selectorText === '' ? '' : ` matching {${c.selectorText}}`} was scraped for ` +
        `${c.for.metricsAbsent} or more: the services are down, or Prometheus no longer scrapes them.`,
    ),
    draft(
      'AgentObservabilityInternalErrors',
      `${counterIncrease(internalErrors, w, { extra, keep: keepInstance, by: ['component'] })} > 0`,
      c.for.internalErrors,
      'info',
      'agent-observability keeps failing internally on {{ $labels.instance }} ({{ $labels.component }}).',
      `agent-observability on {{ $labels.instance }} (job {{ $labels.job }}) counted {{ $value | humanize }} internal ` +
        `failures in component {{ $labels.component }} over the last ${w}, and has kept doing so for ${c.for.internalErrors}: ` +
        'user calls are unaffected, but some of its telemetry (metrics, spans, exemplars) is being dropped. Its log has the first error of each kind.',
    ),
    draft(
      'AgentObservabilityLabelOverflow',
      `${counterIncrease(labelOverflow, w, { extra, keep, by: ['metric', 'label'] })} > 0`,
      c.for.labelOverflow,
      'info',
      'Label {{ $labels.label }} of {{ $labels.metric }} is over its cardinality cap.',
      `New values of label {{ $labels.label }} on {{ $labels.metric }} (job {{ $labels.job }}) are being folded into _OTHER ` +
        `({{ $value | humanize }} over the last ${w}, for ${c.for.labelOverflow}): nothing is lost from totals, but ` +
        'dashboards no longer tell those values apart. Usually an unbounded value (user input, IDs) reaches a name.',
    ),
  ];

  return [
    { name: 'agent-observability-red', rules: red },
    { name: 'agent-observability-llm-providers', rules: providers },
    { name: 'agent-observability-resilience', rules: resilience },
    { name: 'agent-observability-runtime', rules: runtime },
    { name: 'agent-observability-meta', rules: meta },
  ];
}
