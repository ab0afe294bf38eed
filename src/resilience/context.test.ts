/**
 * The caller's async context through the resilience wrappers: a queued pool call runs in
 * its own caller's context (not in the one that freed the slot); histograms observed
 * outside a wrapped call (breaker call durations, pool queue waits) carry the exemplar of
 * the caller's sampled span; breaker transition log lines carry its correlation ID.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findSamples, parseExposition, type ParsedExposition } from '../../test/helpers/exposition.js';
import { installTestTracing, type TestTracing } from '../../test/helpers/otel.js';
import { createObservability, type Observability, type ObservabilityOptions } from '../index.js';

let tracing: TestTracing | undefined;
const handles: Observability[] = [];

afterEach(async () => {
  await tracing?.uninstall();
  tracing = undefined;
  for (const h of handles.splice(0)) await h.shutdown();
});

function make(o: ObservabilityOptions = {}): Observability {
  const obs = createObservability({ runtimeMetrics: false, logger: false, ...o });
  handles.push(obs);
  return obs;
}

async function om(obs: Observability): Promise<ParsedExposition> {
  return parseExposition((await obs.metrics('application/openmetrics-text')).body, 'openmetrics');
}

const exemplarsOf = (exp: ParsedExposition, name: string) =>
  findSamples(exp, name).flatMap((s) => (s.exemplar === undefined ? [] : [{ le: s.labels.le, ...s.exemplar }]));

describe('exemplars on resilience histograms', () => {
  it('breaker call durations carry the exemplar of the caller’s sampled span', async () => {
    tracing = installTestTracing();
    const obs = make();
    const b = obs.circuitBreaker(async (x: number) => (x > 0 ? x : Promise.reject(new Error('no'))), { name: 'b', timeout: false, volumeThreshold: 100 });
    await obs.agent('caller').run(() => b.fire(1));
    await obs.agent('caller').run(() => b.fire(-1)).catch(() => undefined);
    const spans = new Map(tracing.spans().map((s) => [s.spanContext().spanId, s]));
    const ex = exemplarsOf(await om(obs), 'agentobs_circuit_breaker_call_duration_seconds_bucket');
    expect(ex).toHaveLength(2);
    for (const e of ex) {
      const span = spans.get(e.labels.span_id ?? '');
      expect(span?.name).toBe('invoke_agent caller');
      expect(e.labels.trace_id).toBe(span?.spanContext().traceId);
    }
  });

  it('a queued pool call’s wait carries its own span, not the span of the call that freed the slot', async () => {
    tracing = installTestTracing();
    const obs = make();
    const pool = obs.pool('p', { concurrency: 1, queue: 1 });
    let release!: () => void;
    const first = obs.agent('first').run(() => pool.run(() => new Promise<void>((r) => (release = r))));
    const second = obs.agent('second').run(() => pool.run(async () => 2));
    await new Promise((r) => setTimeout(r, 5));
    release();
    await Promise.all([first, second]);
    const spans = new Map(tracing.spans().map((s) => [s.spanContext().spanId, s.name]));
    const ex = exemplarsOf(await om(obs), 'agentobs_pool_wait_time_seconds_bucket');
    // The immediate start (0 s) and the queued one (> 0 s) land in different buckets.
    expect(ex.map((e) => [e.value === 0 ? 'immediate' : 'queued', spans.get(e.labels.span_id ?? '')]).sort()).toEqual([
      ['immediate', 'invoke_agent first'],
      ['queued', 'invoke_agent second'],
    ]);
  });

  it('adds none outside a span, with no tracer provider, or with exemplars off', async () => {
    const plain = make();
    await plain.pool('p', { concurrency: 1 }).run(async () => 1);
    await plain.circuitBreaker(async () => 1, { name: 'b', timeout: false }).fire();
    expect((await om(plain)).samples.filter((s) => s.exemplar !== undefined)).toEqual([]);

    tracing = installTestTracing();
    const off = make({ tracing: { exemplars: false } });
    await off.agent('a').run(() => off.circuitBreaker(async () => 1, { name: 'b', timeout: false }).fire());
    expect((await om(off)).samples.filter((s) => s.exemplar !== undefined)).toEqual([]);
  });
});

describe('pool: context of queued calls', () => {
  it('runs a queued call in its caller’s correlation scope and span, whoever frees the slot', async () => {
    tracing = installTestTracing();
    const obs = make();
    const pool = obs.pool('p', { concurrency: 1, queue: 5 });
    let release!: () => void;
    const seen: [string | undefined, string | undefined][] = [];
    const probe = async (): Promise<void> => void seen.push([obs.correlationId(), obs.traceIds()?.spanId]);
    const first = obs.withCorrelation('first', () => pool.run(() => new Promise<void>((r) => (release = r))));
    const queued = ['q1', 'q2', 'q3'].map((id) => obs.withCorrelation(id, () => obs.agent(id).run(() => pool.run(probe))));
    await new Promise((r) => setTimeout(r, 5));
    obs.withCorrelation('releaser', () => release());
    await Promise.all([first, ...queued]);
    const spanOf = new Map(tracing.spans().map((s) => [s.name, s.spanContext().spanId]));
    expect(seen).toEqual(['q1', 'q2', 'q3'].map((id) => [id, spanOf.get(`invoke_agent ${id}`)]));
  });
});

describe('breaker transition log lines', () => {
  it('carry the correlation ID and trace of the call that caused the transition', async () => {
    tracing = installTestTracing();
    const warn = vi.fn();
    const obs = make({ logger: { warn } });
    const b = obs.circuitBreaker(async () => Promise.reject(new Error('down')), { name: 'llm', timeout: false, volumeThreshold: 1, errorThresholdPercentage: 1 });
    await obs.withCorrelation('req-42', () => obs.agent('a').run(() => b.fire())).catch(() => undefined);
    b.close();
    const agentSpan = tracing.spans().find((s) => s.name === 'invoke_agent a');
    expect(warn.mock.calls.map(([d]) => d)).toEqual([
      {
        component: 'circuit_breaker', breaker: 'llm', from: 'closed', to: 'open', correlation_id: 'req-42',
        trace_id: agentSpan?.spanContext().traceId, span_id: agentSpan?.spanContext().spanId,
      },
      // Outside any request: no IDs.
      { component: 'circuit_breaker', breaker: 'llm', from: 'open', to: 'closed' },
    ]);
  });
});
