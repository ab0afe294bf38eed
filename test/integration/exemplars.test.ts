/**
 * Exemplars end to end: the example service runs under an in-memory OpenTelemetry SDK, a
 * real Prometheus (Debian binary, exemplar storage on) scrapes it with OpenMetrics, and
 * `/api/v1/query_exemplars` must return exemplars whose `trace_id`/`span_id` are spans the
 * SDK exported, for the span that timed that very observation.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_NAME } from '../../examples/agent-service/agent.js';
import { QUESTIONS } from '../../examples/agent-service/load.js';
import { startAgentService, type AgentService } from '../../examples/agent-service/service.js';
import { installTestTracing, seconds, type TestTracing } from '../helpers/otel.js';
import { startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.js';

interface ExemplarSeries {
  readonly seriesLabels: Record<string, string>;
  readonly exemplars: readonly { readonly labels: Record<string, string>; readonly value: string; readonly timestamp: number }[];
}

describe('exemplars through a real Prometheus', () => {
  let tracing: TestTracing;
  let svc: AgentService;
  let prom: PrometheusServer;
  let started: number;

  const runTasks = async (n: number, prefix: string): Promise<void> => {
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        fetch(`${svc.url}/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: `${prefix}-${i}`, question: QUESTIONS[i % QUESTIONS.length] }),
        }).then((r) => r.arrayBuffer()),
      ),
    );
  };

  beforeAll(async () => {
    tracing = installTestTracing();
    svc = await startAgentService({
      port: 0, seed: 'exemplars', llmRetryBackoffMs: 1, observability: { logger: false },
      faults: { llmLatencyMs: 5, llmLatencyJitterMs: 3, toolLatencyMs: 3, toolLatencyJitterMs: 2, llmErrorRate: 0.1, toolErrorRate: 0.1 },
    });
    started = Date.now() / 1000;
    prom = await startPrometheus([{ job: 'agent', address: new URL(svc.url).host }]);
    await prom.waitUp('agent');
    // Traffic after the first scrape, then two more scrapes so every bucket's latest exemplar is stored.
    await runTasks(40, 'x');
    await new Promise((r) => setTimeout(r, 2500));
  }, 90_000);

  afterAll(async () => {
    await prom?.stop();
    await svc?.stop();
    await tracing?.uninstall();
  });

  const query = (metric: string): Promise<ExemplarSeries[]> =>
    prom.api<ExemplarSeries[]>('query_exemplars', { query: metric, start: String(started - 60), end: String(Date.now() / 1000 + 60) });

  function spanIndex(): Map<string, ReadableSpan> {
    return new Map(tracing.spans().map((s) => [`${s.spanContext().traceId}/${s.spanContext().spanId}`, s]));
  }

  it.each([
    ['gen_ai_invoke_agent_duration_seconds_bucket', (s: ReadableSpan) => s.name === `invoke_agent ${AGENT_NAME}`],
    ['gen_ai_invoke_workflow_duration_seconds_bucket', (s: ReadableSpan) => s.name === 'invoke_workflow answer_question'],
    ['agentobs_workflow_step_duration_seconds_bucket', (s: ReadableSpan) => s.name.startsWith('workflow_step ')],
    ['gen_ai_execute_tool_duration_seconds_bucket', (s: ReadableSpan) => s.name.startsWith('execute_tool ')],
    ['gen_ai_client_operation_duration_seconds_bucket', (s: ReadableSpan) => s.name.startsWith('chat ')],
    ['http_server_request_duration_seconds_bucket', (s: ReadableSpan) => s.name === 'POST /tasks'],
  ])('%s: every exemplar names the span that timed it', async (metric, isItsSpan) => {
    const series = await query(metric);
    const spans = spanIndex();
    const exemplars = series.flatMap((s) => s.exemplars.map((e) => ({ series: s.seriesLabels, ...e })));
    expect(exemplars.length, prom.output()).toBeGreaterThan(0);
    for (const e of exemplars) {
      expect(Object.keys(e.labels).sort()).toEqual(['span_id', 'trace_id']);
      const span = spans.get(`${e.labels.trace_id}/${e.labels.span_id}`);
      expect(span, `${metric} exemplar ${JSON.stringify(e.labels)}`).toBeDefined();
      expect(isItsSpan(span!), span!.name).toBe(true);
      // Same timestamp pair for the metric and the span: the exemplar value is the span's duration.
      expect(Math.abs(Number(e.value) - seconds(span!))).toBeLessThan(1e-5);
      expect(Number(e.value)).toBeLessThanOrEqual(e.series.le === '+Inf' ? Infinity : Number(e.series.le));
      expect(Math.abs(e.timestamp - (span!.endTime[0] + span!.endTime[1] / 1e9))).toBeLessThan(1.5);
      // Prometheus drops empty labels: no error_type means a success, and the span agrees.
      expect([e.series.error_type ?? '', span!.status.code === 2]).toEqual([e.series.error_type ?? '', (e.series.error_type ?? '') !== '']);
    }
  });

  it.each([
    ['agentobs_circuit_breaker_call_duration_seconds_bucket'],
    ['agentobs_pool_wait_time_seconds_bucket'],
  ])('%s (the LLM policy, outside any wrapped call): every exemplar names the synthesize step that made the call', async (metric) => {
    const series = await query(metric);
    const spans = spanIndex();
    const exemplars = series.flatMap((s) => s.exemplars.map((e) => ({ series: s.seriesLabels, ...e })));
    expect(exemplars.length, prom.output()).toBeGreaterThan(0);
    for (const e of exemplars) {
      expect(Object.keys(e.labels).sort()).toEqual(['span_id', 'trace_id']);
      const span = spans.get(`${e.labels.trace_id}/${e.labels.span_id}`);
      expect(span?.name, `${metric} exemplar ${JSON.stringify(e.labels)}`).toBe('workflow_step synthesize');
      expect(Number(e.value)).toBeLessThanOrEqual(e.series.le === '+Inf' ? Infinity : Number(e.series.le));
      // Part of the step: no longer than it (opossum times calls in whole milliseconds).
      expect(Number(e.value)).toBeLessThanOrEqual(seconds(span!) + 0.002);
    }
  });

  it('is queryable by trace ID from PromQL results to the trace', async () => {
    const [first] = await query('gen_ai_invoke_agent_duration_seconds_bucket');
    const traceId = first?.exemplars[0]?.labels.trace_id;
    const trace = tracing.spans().filter((s) => s.spanContext().traceId === traceId);
    expect(trace.map((s) => s.name)).toEqual(expect.arrayContaining(['POST /tasks', `invoke_agent ${AGENT_NAME}`, 'invoke_workflow answer_question']));
  });
});
