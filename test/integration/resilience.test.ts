/**
 * Fault injection into the running example service (issue 4, "Done when"): its simulated
 * LLM sits behind one `obs.policy` (retry → pool → circuit breaker → timeout, fallback
 * reply outermost). Faults are switched at run time through `POST /admin/faults`, every
 * task goes through `POST /tasks`, and every metric is read from the service's real
 * `/metrics` over HTTP, parsed and validated by `parseExposition`.
 *
 * - LLM outage (`llmMode: hard_fail`): the breaker opens (state gauge open=1), later calls
 *   are rejected (`rejected_open`) and tasks get the fallback reply; the fault is lifted;
 *   after `resetTimeout` the breaker goes half-open, a probe succeeds, it closes. Each
 *   stage is seen in a scrape, so the transition counters are read in order
 *   (closed→open, then open→half_open, then half_open→closed). Pool and retry metrics
 *   agree with the service's ledger; the transition log lines carry correlation IDs.
 * - Throttling (`llmMode: throttle`): 429s with `retry-after` and exhausted
 *   `x-ratelimit-remaining-*` headers count in `agentobs_llm_throttled_total` and drive the
 *   rate-limit gauges; slowness (`llmMode: slow`) times attempts out.
 *
 * Waits are bounded polls on observable state, never sleeps standing in for assertions;
 * nothing here asserts on timing (the measured times are printed for the record).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskResult } from '../../examples/agent-service/agent.js';
import type { FaultsPatch } from '../../examples/agent-service/faults.js';
import { startAgentService, type AgentService } from '../../examples/agent-service/service.js';
import { MODELS, PROVIDER } from '../../examples/agent-service/simulated-llm.js';
import { findSamples, getHistogram, getValue, parseExposition, type ParsedExposition } from '../helpers/exposition.js';

/** Fast and healthy dependencies: only the injected LLM fault fails anything. */
const HEALTHY: FaultsPatch = {
  llmMode: 'normal', llmErrorRate: 0, llmLatencyMs: 4, llmLatencyJitterMs: 2,
  toolErrorRate: 0, toolLatencyMs: 2, toolLatencyJitterMs: 1, toolTimeoutMs: 1000,
};
const QUESTION = 'How do I reset my password?';
const B = { breaker: 'llm' };

type LogLine = Record<string, unknown>;
function memoryLog(): { stream: Writable; lines: () => LogLine[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LogLine) };
}

/** Polls `probe` every 20 ms until it returns a value, for at most `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function client(svc: AgentService) {
  let n = 0;
  return {
    async task(prefix: string): Promise<{ status: number; correlation: string; body: TaskResult }> {
      const id = `${prefix}-${++n}`;
      const res = await fetch(`${svc.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-correlation-id': id },
        body: JSON.stringify({ id, question: QUESTION }),
      });
      return { status: res.status, correlation: id, body: (await res.json()) as TaskResult };
    },
    async faults(patch: FaultsPatch): Promise<void> {
      const res = await fetch(`${svc.url}/admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    },
    async scrape(): Promise<ParsedExposition> {
      const res = await fetch(svc.metricsUrl, { headers: { accept: 'text/plain' } });
      expect(res.status).toBe(200);
      return parseExposition(await res.text(), 'prometheus');
    },
  };
}

const stateOf = (exp: ParsedExposition): Record<string, number> =>
  Object.fromEntries(['closed', 'open', 'half_open'].map((s) => [s, getValue(exp, 'agentobs_circuit_breaker_state', { ...B, state: s })]));
const transitionsOf = (exp: ParsedExposition): Record<string, number> =>
  Object.fromEntries(
    [['closed', 'open'], ['open', 'half_open'], ['half_open', 'closed'], ['half_open', 'open']].map(([from, to]) => [
      `${from}->${to}`,
      findSamples(exp, 'agentobs_circuit_breaker_transitions_total', { ...B, from: from as string, to: to as string })[0]?.value ?? 0,
    ]),
  );
const outcome = (exp: ParsedExposition, o: string): number => getValue(exp, 'agentobs_circuit_breaker_calls_total', { ...B, outcome: o });
const current = (exp: ParsedExposition): string | undefined => Object.entries(stateOf(exp)).find(([, v]) => v === 1)?.[0];

describe('LLM outage: the breaker opens, serves the fallback, probes half-open and closes, read from real /metrics', () => {
  const RESET_MS = 1000;
  const log = memoryLog();
  let svc: AgentService;
  let api: ReturnType<typeof client>;
  /** Scrapes at each stage of the cycle, in the order they were taken. */
  const stages: { name: string; exp: ParsedExposition }[] = [];
  const trips: Awaited<ReturnType<ReturnType<typeof client>['task']>>[] = [];
  const probes: Awaited<ReturnType<ReturnType<typeof client>['task']>>[] = [];
  let rejected: Awaited<ReturnType<ReturnType<typeof client>['task']>>;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    svc = await startAgentService({
      port: 0,
      seed: 'resilience',
      faults: { ...HEALTHY, llmLatencyMs: 40, llmLatencyJitterMs: 0 },
      llmRetryBackoffMs: 1,
      // Short reset and a small volume threshold, so a test-sized outage trips it.
      llmPolicy: { timeoutMs: 2000, concurrency: 4, queue: 64, breaker: { resetTimeout: RESET_MS, volumeThreshold: 5, errorThresholdPercentage: 50 } },
      logDestination: log.stream,
      logLevel: 'info',
    });
    api = client(svc);

    // Healthy traffic, 12 tasks at once into a pool of 4: every call succeeds, some wait for a slot.
    const healthy = await Promise.all(Array.from({ length: 12 }, () => api.task('healthy')));
    expect(healthy.map((r) => [r.status, r.body.fallback])).toEqual(healthy.map(() => [200, false]));
    stages.push({ name: 'healthy', exp: await api.scrape() });

    // The outage: one task at a time until a scrape shows the breaker open.
    let t0 = performance.now();
    await api.faults({ llmMode: 'hard_fail' });
    const opened = await until('the breaker to open', async () => {
      trips.push(await api.task('trip'));
      const exp = await api.scrape();
      return current(exp) === 'open' ? exp : undefined;
    });
    timings.faultToOpenMs = performance.now() - t0;
    const openAt = performance.now();
    stages.push({ name: 'open', exp: opened });
    // While open, a task's LLM call is rejected at once and the fallback is served.
    rejected = await api.task('while-open');
    stages.push({ name: 'rejecting', exp: await api.scrape() });

    // Lift the fault; after resetTimeout the breaker lets one probe through.
    t0 = performance.now();
    await api.faults({ llmMode: 'normal' });
    const halfOpen = await until('the breaker to go half-open', async () => {
      const exp = await api.scrape();
      return current(exp) === 'half_open' ? exp : undefined;
    });
    timings.openSeenToHalfOpenMs = performance.now() - openAt;
    stages.push({ name: 'half_open', exp: halfOpen });
    const closed = await until('the probe to close the breaker', async () => {
      probes.push(await api.task('probe'));
      const exp = await api.scrape();
      return current(exp) === 'closed' ? exp : undefined;
    });
    timings.liftToClosedMs = performance.now() - t0;
    stages.push({ name: 'closed', exp: closed });
    console.info(`breaker cycle: ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])))}, ` +
      `${trips.length} tasks to trip it, ${probes.length} to close it (resetTimeout ${RESET_MS} ms)`);
  }, 60_000);

  afterAll(async () => {
    await svc?.stop();
  });

  it('sees each state in turn in the state gauge, exactly one state at 1', () => {
    expect(stages.map((s) => [s.name, stateOf(s.exp)])).toEqual([
      ['healthy', { closed: 1, open: 0, half_open: 0 }],
      ['open', { closed: 0, open: 1, half_open: 0 }],
      ['rejecting', { closed: 0, open: 1, half_open: 0 }],
      ['half_open', { closed: 0, open: 0, half_open: 1 }],
      ['closed', { closed: 1, open: 0, half_open: 0 }],
    ]);
  });

  it('counts every transition, in order: closed->open, then open->half_open, then half_open->closed', () => {
    expect(stages.map((s) => [s.name, transitionsOf(s.exp)])).toEqual([
      ['healthy', { 'closed->open': 0, 'open->half_open': 0, 'half_open->closed': 0, 'half_open->open': 0 }],
      ['open', { 'closed->open': 1, 'open->half_open': 0, 'half_open->closed': 0, 'half_open->open': 0 }],
      ['rejecting', { 'closed->open': 1, 'open->half_open': 0, 'half_open->closed': 0, 'half_open->open': 0 }],
      ['half_open', { 'closed->open': 1, 'open->half_open': 1, 'half_open->closed': 0, 'half_open->open': 0 }],
      ['closed', { 'closed->open': 1, 'open->half_open': 1, 'half_open->closed': 1, 'half_open->open': 0 }],
    ]);
  });

  it('served the fallback reply to every task of the outage, and the probe was a real answer', () => {
    for (const t of [...trips, rejected]) {
      expect([t.status, t.body.status, t.body.fallback, t.body.degraded]).toEqual([200, 'succeeded', true, true]);
      expect(t.body.answer).toMatch(/^Our assistant is unavailable/);
      // No review without a draft.
      expect(t.body.modelCalls.map((c) => c.purpose)).toEqual(['draft']);
    }
    // Before the breaker opened, drafts reached the provider and failed with its 503 (retried by the policy).
    expect(trips[0]?.body.modelCalls[0]).toMatchObject({ outcome: 'fallback', attempts: 3, error: { type: 'provider_unavailable' } });
    expect(trips[0]?.body.llmCalls.map((c) => [c.attempt, c.error?.type])).toEqual([
      [1, 'provider_unavailable'], [2, 'provider_unavailable'], [3, 'provider_unavailable'],
    ]);
    // While open: rejected without reaching the provider (no LLM call at all), and not retried.
    expect(rejected.body.modelCalls).toEqual([
      { model: MODELS.large.name, purpose: 'draft', attempts: 0, outcome: 'fallback', rejected: true, error: expect.objectContaining({ type: 'circuit_open' }) },
    ]);
    expect(rejected.body.llmCalls).toEqual([]);
    const probe = probes.at(-1);
    expect([probe?.status, probe?.body.fallback, probe?.body.modelCalls[0]?.outcome, probe?.body.modelCalls[0]?.attempts]).toEqual([200, false, 'ok', 1]);
  });

  it('meters calls by outcome exactly as the service’s ledger counted them', async () => {
    const exp = await api.scrape();
    const s = svc.stats();
    const llmErrors = Object.values(s.llm).reduce((n, m) => n + Object.values(m.errors).reduce((a, b) => a + b, 0), 0);
    const llmCalls = Object.values(s.llm).reduce((n, m) => n + m.calls, 0);
    expect(s.llmPolicy.rejections.circuit_open).toBeGreaterThanOrEqual(1);
    expect({
      success: outcome(exp, 'success'), failure: outcome(exp, 'failure'), timeout: outcome(exp, 'timeout'),
      rejected_open: outcome(exp, 'rejected_open'), fallback: outcome(exp, 'fallback'),
    }).toEqual({
      success: llmCalls - llmErrors, failure: llmErrors, timeout: 0,
      rejected_open: s.llmPolicy.rejections.circuit_open, fallback: s.llmPolicy.fallbacks,
    });
    expect(s.llmPolicy.fallbacks).toBe(trips.length + 1);
    // The provider's 503s are the only LLM errors, one per attempt that reached it.
    expect(Object.fromEntries(Object.entries(s.llm).map(([m, v]) => [m, v.errors]))).toEqual({
      [MODELS.large.name]: { provider_unavailable: llmErrors }, [MODELS.small.name]: {},
    });
    expect(getValue(exp, 'gen_ai_client_operation_duration_seconds_count', {
      gen_ai_operation_name: 'chat', gen_ai_provider_name: PROVIDER, gen_ai_request_model: MODELS.large.name, gen_ai_agent_name: 'support-agent',
      error_type: 'provider_unavailable',
    })).toBe(llmErrors);
  });

  it('populates the retry metrics: attempts per call (a rejection is the last attempt) and exhausted retries', async () => {
    const exp = await api.scrape();
    const s = svc.stats();
    const retries = getHistogram(exp, 'agentobs_retry_attempts', { kind: 'llm', name: 'llm' });
    const rejections = Object.values(s.llmPolicy.rejections).reduce((a, b) => a + b, 0);
    expect([retries.count, retries.sum]).toEqual([s.llmPolicy.calls, s.llmPolicy.attempts + rejections]);
    // Outage calls that used all three attempts, never an open circuit.
    const exhausted = [...trips, rejected].flatMap((t) => t.body.modelCalls).filter((c) => c.outcome !== 'ok' && c.attempts === 3).length;
    expect(exhausted).toBeGreaterThanOrEqual(1);
    expect(getValue(exp, 'agentobs_retry_exhausted_total', { kind: 'llm', name: 'llm' })).toBe(exhausted);
  });

  it('populates the pool metrics: limits, usage back to 0, a wait per call that entered the pool', async () => {
    const exp = await api.scrape();
    const s = svc.stats();
    expect(getValue(exp, 'agentobs_pool_limit', { pool: 'llm', state: 'active' })).toBe(4);
    expect(getValue(exp, 'agentobs_pool_limit', { pool: 'llm', state: 'queued' })).toBe(64);
    expect(getValue(exp, 'agentobs_pool_usage', { pool: 'llm', state: 'active' })).toBe(0);
    expect(getValue(exp, 'agentobs_pool_usage', { pool: 'llm', state: 'queued' })).toBe(0);
    expect(getValue(exp, 'agentobs_pool_utilization_ratio', { pool: 'llm' })).toBe(0);
    // An open circuit skips the queue: every attempt that reached the provider waited (0 s or more) for a slot.
    const wait = getHistogram(exp, 'agentobs_pool_wait_time_seconds', { pool: 'llm' });
    expect(wait.count).toBe(s.llmPolicy.attempts);
    // 12 healthy tasks into 4 slots, 40 ms per draft: some waited.
    expect(wait.sum).toBeGreaterThan(0);
    expect(findSamples(exp, 'agentobs_pool_rejections_total', { pool: 'llm' }).reduce((n, x) => n + x.value, 0)).toBe(0);
  });

  it('logs each transition once, with the correlation ID of the request that caused it', () => {
    const lines = log.lines().filter((l) => l.component === 'circuit_breaker');
    expect(lines.map((l) => [l.from, l.to])).toEqual([['closed', 'open'], ['open', 'half_open'], ['half_open', 'closed']]);
    const [opened, halfOpen, closed] = lines;
    expect(trips.map((t) => t.correlation)).toContain(opened?.correlation_id);
    // The reset timer was armed by the tripping request, so the half-open line carries its ID too.
    expect(halfOpen?.correlation_id).toBe(opened?.correlation_id);
    expect(probes.map((t) => t.correlation)).toContain(closed?.correlation_id);
    expect(log.lines().filter((l) => l.level === 50 && l.component !== 'slo')).toEqual([]);
  });
});

describe('provider degradations: throttling (429) and slowness, read from real /metrics', () => {
  let svc: AgentService;
  let api: ReturnType<typeof client>;
  let afterHealthy: ParsedExposition;
  let afterThrottle: ParsedExposition;
  let afterRecovery: ParsedExposition;
  let throttled: Awaited<ReturnType<ReturnType<typeof client>['task']>>[];
  let slow: Awaited<ReturnType<ReturnType<typeof client>['task']>>;
  const rl = (exp: ParsedExposition, metric: string, kind: string): number =>
    getValue(exp, metric, { gen_ai_provider_name: PROVIDER, gen_ai_request_model: MODELS.large.name, kind });

  beforeAll(async () => {
    svc = await startAgentService({
      port: 0,
      seed: 'throttle',
      // The provider asks for a 5 ms pause: short enough to be honoured (maxRetryAfterMs 5000).
      faults: { ...HEALTHY, llmThrottleRetryAfterMs: 5, llmSlowMs: 60_000 },
      llmRetryBackoffMs: 1,
      llmPolicy: { timeoutMs: 100 },
      observability: { logger: false },
    });
    api = client(svc);
    for (let i = 0; i < 3; i++) await api.task('ok');
    afterHealthy = await api.scrape();
    await api.faults({ llmMode: 'throttle' });
    throttled = [await api.task('throttled'), await api.task('throttled')];
    afterThrottle = await api.scrape();
    await api.faults({ llmMode: 'slow' });
    slow = await api.task('slow');
    await api.faults({ llmMode: 'normal' });
    await api.task('ok');
    afterRecovery = await api.scrape();
  }, 60_000);

  afterAll(async () => {
    await svc?.stop();
  });

  it('reads the OpenAI-style rate-limit headers of successful calls into the gauges', () => {
    const limit = rl(afterHealthy, 'agentobs_llm_rate_limit_limit', 'requests');
    const remaining = rl(afterHealthy, 'agentobs_llm_rate_limit_remaining', 'requests');
    expect(limit).toBe(MODELS.large.requestsPerMinute);
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThan(limit);
    expect(rl(afterHealthy, 'agentobs_llm_rate_limit_utilization_ratio', 'requests')).toBeCloseTo(1 - remaining / limit, 12);
    expect(rl(afterHealthy, 'agentobs_llm_rate_limit_limit', 'tokens')).toBe(MODELS.large.tokensPerMinute);
    expect(findSamples(afterHealthy, 'agentobs_llm_throttled_total')).toEqual([]);
  });

  it('counts every 429 as throttled, retries after the provider’s retry-after, then serves the fallback', () => {
    for (const t of throttled) {
      expect(t.body.fallback).toBe(true);
      expect(t.body.llmCalls.map((c) => c.error?.type)).toEqual(['rate_limited', 'rate_limited', 'rate_limited']);
    }
    const s = svc.stats();
    expect(s.llm[MODELS.large.name]?.errors.rate_limited).toBe(6);
    expect(getValue(afterThrottle, 'agentobs_llm_throttled_total', { gen_ai_provider_name: PROVIDER, gen_ai_request_model: MODELS.large.name })).toBe(6);
    // The 429s said the quota was spent.
    for (const kind of ['requests', 'tokens']) {
      expect([kind, rl(afterThrottle, 'agentobs_llm_rate_limit_remaining', kind), rl(afterThrottle, 'agentobs_llm_rate_limit_utilization_ratio', kind)]).toEqual([kind, 0, 1]);
    }
    expect(getValue(afterThrottle, 'agentobs_retry_exhausted_total', { kind: 'llm', name: 'llm' })).toBe(2);
    expect(findSamples(afterThrottle, 'agentobs_llm_rate_limit_headers_invalid_total')).toEqual([]);
  });

  it('times slow attempts out (aborting them), counts them as breaker timeouts, and recovers', () => {
    expect(slow.body.fallback).toBe(true);
    expect(slow.body.llmCalls.map((c) => c.error?.type)).toEqual(['timeout', 'timeout', 'timeout']);
    expect(getValue(afterRecovery, 'agentobs_circuit_breaker_calls_total', { ...B, outcome: 'timeout' })).toBe(3);
    expect(getValue(afterRecovery, 'gen_ai_client_operation_duration_seconds_count', {
      gen_ai_operation_name: 'chat', gen_ai_provider_name: PROVIDER, gen_ai_request_model: MODELS.large.name, gen_ai_agent_name: 'support-agent',
      error_type: 'timeout',
    })).toBe(3);
    // Back to normal: quota headers again, utilization below 1; the breaker never opened.
    expect(rl(afterRecovery, 'agentobs_llm_rate_limit_utilization_ratio', 'requests')).toBeLessThan(1);
    expect(stateOf(afterRecovery)).toEqual({ closed: 1, open: 0, half_open: 0 });
    expect(getValue(afterRecovery, 'agentobs_circuit_breaker_failure_ratio', B)).toBeGreaterThan(0);
    expect(findSamples(afterRecovery, 'agentobs_internal_errors_total').filter((x) => x.value !== 0)).toEqual([]);
  });

  it('feeds the token budget with the usage of every successful call', () => {
    const s = svc.stats();
    const used = Object.values(s.llm).reduce((n, m) => n + m.inputTokens + m.outputTokens, 0);
    expect(getValue(afterRecovery, 'agentobs_token_budget_usage', { budget: 'support-agent', gen_ai_token_type: 'total' })).toBe(used);
    expect(getValue(afterRecovery, 'agentobs_token_budget_limit', { budget: 'support-agent', gen_ai_token_type: 'total' })).toBe(2_000_000);
    expect(svc.tokenBudget.remaining()).toBe(2_000_000 - used);
  });
});
