/**
 * The example agent service, end to end: real HTTP requests into the running service,
 * real scrapes of its /metrics in both formats, and exact comparison with what the
 * service itself says it did (its ledger, and the task reports it returned).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_NAME, STEP_NAMES, WORKFLOW_NAME, type TaskInput, type TaskResult } from '../../examples/agent-service/agent.js';
import { TOOL_NAMES, type FaultsPatch } from '../../examples/agent-service/faults.js';
import { QUESTIONS } from '../../examples/agent-service/load.js';
import { HTTP_REQUESTS, startAgentService, type AgentService } from '../../examples/agent-service/service.js';
import { MODEL_PRICES, MODELS, PROVIDER } from '../../examples/agent-service/simulated-llm.js';
import type { LlmPolicyStats, LlmStats, OpStats, ServiceStats } from '../../examples/agent-service/stats.js';
import { findSamples, getHistogram, getValue, labelSetKey, parseExposition, type ParsedExposition } from '../helpers/exposition.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** What Prometheus 2.x sends when scraping. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const N = 200;
const CONCURRENCY = 16;
const SEED = 'integration-2024';
/** Fast, and failing often enough that every error path shows up in 200 tasks. */
const FAULTS: FaultsPatch = {
  llmErrorRate: 0.15,
  llmLatencyMs: 3,
  llmLatencyJitterMs: 2,
  toolErrorRate: 0.1,
  toolErrorRates: { kb_lookup: 0.25 },
  toolLatencyMs: 2,
  toolLatencyJitterMs: 2,
  toolTimeoutMs: 15,
};
const SERVICE_OPTIONS = { port: 0, seed: SEED, faults: FAULTS, llmRetryBackoffMs: 1 } as const;

const tasks: TaskInput[] = Array.from({ length: N }, (_, i) => ({ id: `t-${i}`, question: QUESTIONS[i % QUESTIONS.length] as string }));

/** Runs `fn(i)` for i < n with at most `limit` in flight. */
async function pool<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

async function scrape(url: string, accept: string): Promise<{ contentType: string; body: string }> {
  const res = await fetch(url, { headers: { accept } });
  expect(res.status).toBe(200);
  return { contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** `{labels → _count}` of every series of a histogram family. */
function counts(exp: ParsedExposition, family: string): Record<string, number> {
  return Object.fromEntries(findSamples(exp, `${family}_count`).map((s) => [labelSetKey(s.labels), s.value]));
}

function successes(s: OpStats): number {
  return s.calls - Object.values(s.errors).reduce((a, b) => a + b, 0);
}

/** The series a family must hold: the success series (bound at start-up) plus one per error code. */
function expectedCounts(
  names: readonly string[], stats: Readonly<Record<string, OpStats>>, labels: (name: string, errorType: string) => Record<string, string>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of names) {
    const s = stats[name] ?? { calls: 0, errors: {} };
    out[labelSetKey(labels(name, ''))] = successes(s);
    for (const [type, n] of Object.entries(s.errors)) out[labelSetKey(labels(name, type))] = n;
  }
  return out;
}

const llmLabels = (model: string): Record<string, string> => ({
  gen_ai_operation_name: 'chat',
  gen_ai_provider_name: PROVIDER,
  gen_ai_request_model: model,
  gen_ai_agent_name: AGENT_NAME,
});
const MODEL_NAMES = Object.values(MODELS).map((m) => m.name);

/** Rebuilds the ledger from the task reports the API returned: a second, independent truth. */
function statsFromResults(results: readonly TaskResult[]): ServiceStats {
  const bump = (m: Record<string, OpStats>, name: string, error?: string): void => {
    const s = (m[name] ??= { calls: 0, errors: {} });
    s.calls++;
    if (error !== undefined) s.errors[error] = (s.errors[error] ?? 0) + 1;
  };
  const agent: Record<string, OpStats> = {};
  const workflow: Record<string, OpStats> = {};
  const steps: Record<string, OpStats> = {};
  const tools: Record<string, OpStats> = {};
  const llm: Record<string, LlmStats> = {};
  const llmPolicy: LlmPolicyStats = { calls: 0, attempts: 0, succeeded: 0, failures: {}, rejections: {}, fallbacks: 0 };
  const inc = (m: Record<string, number>, k: string): void => void (m[k] = (m[k] ?? 0) + 1);
  for (const r of results) {
    for (const c of r.modelCalls) {
      llmPolicy.calls++;
      llmPolicy.attempts += c.attempts;
      if (c.outcome === 'ok') llmPolicy.succeeded++;
      else inc(llmPolicy.failures, c.error?.type ?? '?');
      if (c.rejected === true) inc(llmPolicy.rejections, c.error?.type ?? '?');
      if (c.outcome === 'fallback') llmPolicy.fallbacks++;
    }
    bump(agent, AGENT_NAME, r.error?.type);
    bump(workflow, WORKFLOW_NAME, r.error?.type);
    for (const s of r.steps) bump(steps, s.name, s.error?.type);
    for (const t of r.toolCalls) bump(tools, t.tool, t.error?.type);
    for (const c of r.llmCalls) {
      const s = (llm[c.model] ??= { calls: 0, errors: {}, inputTokens: 0, outputTokens: 0 });
      bump(llm as Record<string, OpStats>, c.model, c.error?.type);
      s.inputTokens += c.usage?.prompt_tokens ?? 0;
      s.outputTokens += c.usage?.completion_tokens ?? 0;
    }
  }
  const sorted = <T>(m: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    tasks: { succeeded: results.filter((r) => r.status === 'succeeded').length, failed: results.filter((r) => r.status === 'failed').length },
    agent, workflow, steps: sorted(steps), tools: sorted(tools), llm: sorted(llm),
    llmPolicy: { ...llmPolicy, failures: sorted(llmPolicy.failures), rejections: sorted(llmPolicy.rejections) },
  };
}

describe('example agent service under a burst of HTTP tasks', () => {
  let svc: AgentService;
  let responses: { status: number; body: TaskResult }[];
  let stats: ServiceStats;
  let om: { contentType: string; body: string };
  let text: { contentType: string; body: string };
  let omExp: ParsedExposition;
  let textExp: ParsedExposition;

  beforeAll(async () => {
    svc = await startAgentService(SERVICE_OPTIONS);
    responses = await pool(N, CONCURRENCY, async (i) => {
      const res = await fetch(`${svc.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(tasks[i]),
      });
      return { status: res.status, body: (await res.json()) as TaskResult };
    });
    stats = svc.stats();
    om = await scrape(svc.metricsUrl, PROMETHEUS_ACCEPT);
    text = await scrape(svc.metricsUrl, 'text/plain');
    omExp = parseExposition(om.body, 'openmetrics');
    textExp = parseExposition(text.body, 'prometheus');
  });

  afterAll(async () => {
    await svc?.stop();
  });

  it('answers every task, 200 when it succeeded and 502 when it failed', () => {
    expect(responses).toHaveLength(N);
    for (const [i, r] of responses.entries()) {
      expect(r.body.id).toBe(`t-${i}`);
      expect(r.status).toBe(r.body.status === 'succeeded' ? 200 : 502);
      if (r.body.status === 'succeeded') {
        expect(r.body.answer).toEqual(expect.any(String));
        expect(r.body.steps.map((s) => s.name)).toEqual(STEP_NAMES);
      } else {
        expect(r.body.error).toMatchObject({ type: expect.any(String), step: expect.stringMatching(/^(gather|synthesize)$/) });
      }
      expect(r.body.plan?.tools.length).toBeGreaterThanOrEqual(1);
      expect(r.body.plan?.tools.length).toBeLessThanOrEqual(3);
    }
    expect(stats.tasks).toEqual({
      succeeded: responses.filter((r) => r.status === 200).length,
      failed: responses.filter((r) => r.status === 502).length,
    });
  });

  it('injected enough failures to exercise every error path', () => {
    const errors = (m: Readonly<Record<string, OpStats>>): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const s of Object.values(m)) for (const [k, v] of Object.entries(s.errors)) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    expect(stats.tasks.failed).toBeGreaterThan(0);
    expect(Object.keys(errors(stats.tools)).sort()).toEqual(['rate_limited', 'timeout', 'upstream_unavailable']);
    expect(Object.keys(errors(stats.llm)).sort()).toEqual(['overloaded', 'rate_limited', 'timeout']);
    expect(Object.keys(stats.agent[AGENT_NAME]?.errors ?? {})).toContain('tools_unavailable');
    // Some drafts needed a retry and some reviews failed without failing the task.
    expect(responses.some((r) => r.body.llmCalls.some((c) => c.attempt > 1 && c.ok))).toBe(true);
    expect(responses.some((r) => r.body.status === 'succeeded' && r.body.llmCalls.some((c) => c.purpose === 'review' && !c.ok))).toBe(true);
    expect(responses.some((r) => r.body.degraded)).toBe(true);
  });

  it('reports per task exactly what its ledger counted', () => {
    expect(statsFromResults(responses.map((r) => r.body))).toEqual(stats);
  });

  it('meters the LLM policy (retry, breaker, pool) as its ledger counted it', () => {
    const p = stats.llmPolicy;
    const llmErrors = Object.values(stats.llm).reduce((n, s) => n + s.calls - successes(s), 0);
    // The burst neither opened the breaker nor filled the pool; some calls fell back.
    expect(p.rejections).toEqual({});
    expect(p.fallbacks).toBeGreaterThan(0);
    expect(p.attempts).toBe(Object.values(stats.llm).reduce((n, s) => n + s.calls, 0));
    const retries = getHistogram(textExp, 'agentobs_retry_attempts', { kind: 'llm', name: 'llm' });
    expect([retries.count, retries.sum]).toEqual([p.calls, p.attempts]);
    const outcome = (o: string): number => getValue(textExp, 'agentobs_circuit_breaker_calls_total', { breaker: 'llm', outcome: o });
    expect({ success: outcome('success'), failure: outcome('failure'), timeout: outcome('timeout'), fallback: outcome('fallback'), rejected_open: outcome('rejected_open') })
      .toEqual({ success: p.attempts - llmErrors, failure: llmErrors, timeout: 0, fallback: p.fallbacks, rejected_open: 0 });
    expect(getValue(textExp, 'agentobs_circuit_breaker_state', { breaker: 'llm', state: 'closed' })).toBe(1);
    expect(getHistogram(textExp, 'agentobs_pool_wait_time_seconds', { pool: 'llm' }).count).toBe(p.attempts);
    expect(getValue(textExp, 'agentobs_pool_usage', { pool: 'llm', state: 'active' })).toBe(0);
    // Every task that fell back says so, and answered with the sources only.
    const fellBack = responses.filter((r) => r.body.fallback);
    expect(fellBack.length).toBe(p.fallbacks);
    for (const r of fellBack) expect([r.status, r.body.degraded, r.body.answer]).toEqual([200, true, expect.stringMatching(/^Our assistant is unavailable/)]);
    // Rate-limit headers of every response, and 429s counted as throttled.
    const throttled = Object.values(stats.llm).reduce((n, s) => n + (s.errors.rate_limited ?? 0), 0);
    expect(findSamples(textExp, 'agentobs_llm_throttled_total').reduce((n, s) => n + s.value, 0)).toBe(throttled);
    for (const m of MODEL_NAMES) {
      const limit = getValue(textExp, 'agentobs_llm_rate_limit_limit', { gen_ai_provider_name: PROVIDER, gen_ai_request_model: m, kind: 'requests' });
      expect(limit).toBe(Object.values(MODELS).find((x) => x.name === m)?.requestsPerMinute);
    }
    const used = (t: string): number => getValue(textExp, 'agentobs_token_budget_usage', { budget: AGENT_NAME, gen_ai_token_type: t });
    expect(used('total')).toBe(Object.values(stats.llm).reduce((n, s) => n + s.inputTokens + s.outputTokens, 0));
  });

  it('is deterministic: the same seed and task ids replay the same failures in-process, one at a time', async () => {
    const replay = await startAgentService(SERVICE_OPTIONS);
    try {
      for (const t of tasks) await replay.runTask(t);
      expect(replay.stats()).toEqual(stats);
    } finally {
      await replay.stop();
    }
  });

  it('negotiates OpenMetrics for Prometheus and text 0.0.4 for text/plain', () => {
    expect(om.contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(text.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(om.body.endsWith('# EOF\n')).toBe(true);
  });

  describe.each([
    ['openmetrics', () => omExp],
    ['text 0.0.4', () => textExp],
  ] as const)('%s exposition', (_format, exp) => {
    it('counts agent and workflow runs by outcome', () => {
      expect(counts(exp(), 'gen_ai_invoke_agent_duration_seconds')).toEqual(
        expectedCounts([AGENT_NAME], stats.agent, (n, e) => ({ gen_ai_agent_name: n, error_type: e })),
      );
      expect(counts(exp(), 'gen_ai_invoke_workflow_duration_seconds')).toEqual(
        expectedCounts([WORKFLOW_NAME], stats.workflow, (n, e) => ({ gen_ai_workflow_name: n, error_type: e })),
      );
      expect(getValue(exp(), 'gen_ai_invoke_agent_duration_seconds_count', { gen_ai_agent_name: AGENT_NAME, error_type: '' })).toBe(
        stats.tasks.succeeded,
      );
    });

    it('counts every step by outcome', () => {
      expect(counts(exp(), 'agentobs_workflow_step_duration_seconds')).toEqual(
        expectedCounts(STEP_NAMES, stats.steps, (n, e) => ({ gen_ai_workflow_name: WORKFLOW_NAME, step: n, error_type: e })),
      );
    });

    it('counts every tool call, with one error series per injected failure type', () => {
      expect(counts(exp(), 'gen_ai_execute_tool_duration_seconds')).toEqual(
        expectedCounts(TOOL_NAMES, stats.tools, (n, e) => ({ gen_ai_tool_name: n, gen_ai_agent_name: AGENT_NAME, error_type: e })),
      );
      const toolErrors = findSamples(exp(), 'gen_ai_execute_tool_duration_seconds_count').filter((s) => s.labels.error_type !== '');
      const injected = Object.values(stats.tools).reduce((n, s) => n + s.calls - successes(s), 0);
      expect(toolErrors.reduce((n, s) => n + s.value, 0)).toBe(injected);
    });

    it('counts every LLM call attempt, retries included', () => {
      expect(counts(exp(), 'gen_ai_client_operation_duration_seconds')).toEqual(
        expectedCounts(MODEL_NAMES, stats.llm, (m, e) => ({ ...llmLabels(m), error_type: e })),
      );
      const attempts = responses.reduce((n, r) => n + r.body.llmCalls.length, 0);
      expect(findSamples(exp(), 'gen_ai_client_operation_duration_seconds_count').reduce((n, s) => n + s.value, 0)).toBe(attempts);
    });

    it('sums token usage exactly as the provider reported it', () => {
      for (const model of MODEL_NAMES) {
        const s = stats.llm[model] as LlmStats;
        const input = getHistogram(exp(), 'gen_ai_client_token_usage', { ...llmLabels(model), gen_ai_token_type: 'input' });
        const output = getHistogram(exp(), 'gen_ai_client_token_usage', { ...llmLabels(model), gen_ai_token_type: 'output' });
        expect(input.sum).toBe(s.inputTokens);
        expect(output.sum).toBe(s.outputTokens);
        expect(input.count).toBe(successes(s));
        expect(output.count).toBe(successes(s));
      }
      const reported = responses.reduce((n, r) => n + r.body.usage.prompt_tokens + r.body.usage.completion_tokens, 0);
      expect(findSamples(exp(), 'gen_ai_client_token_usage_sum').reduce((n, s) => n + s.value, 0)).toBe(reported);
    });

    it('records every streamed draft to its end: one completed stream and one time to first chunk per successful draft', () => {
      const drafts = responses.flatMap((r) => r.body.llmCalls).filter((c) => c.purpose === 'draft' && c.ok);
      expect(drafts.length).toBeGreaterThan(10);
      const byModel = new Map<string, number>();
      for (const d of drafts) byModel.set(d.model, (byModel.get(d.model) ?? 0) + 1);
      for (const [model, n] of byModel) {
        const labels = llmLabels(model);
        expect(getValue(exp(), 'agentobs_llm_streams_total', { ...labels, outcome: 'completed' })).toBe(n);
        // A stream cut by the policy's timeout after its first chunk has a first chunk too.
        expect(getHistogram(exp(), 'gen_ai_client_operation_time_to_first_chunk_seconds', labels).count).toBeGreaterThanOrEqual(n);
        // Several chunks per reply, each after the first timed.
        expect(getHistogram(exp(), 'gen_ai_client_operation_time_per_output_chunk_seconds', labels).count).toBeGreaterThan(n);
      }
      // The service reads every stream to its end: none is cancelled or dropped.
      const stopped = findSamples(exp(), 'agentobs_llm_streams_total').filter((s) => s.labels.outcome === 'cancelled' || s.labels.outcome === 'unconsumed');
      expect(stopped.filter((s) => s.value !== 0)).toEqual([]);
      // Reviews do not stream.
      const reviewModels = new Set(responses.flatMap((r) => r.body.llmCalls).filter((c) => c.purpose === 'review').map((c) => c.model));
      for (const m of reviewModels) if (!byModel.has(m)) expect(findSamples(exp(), 'agentobs_llm_streams_total', llmLabels(m))).toEqual([]);
    });

    it('records cached and reasoning tokens, and prices every model from the token counts at its own prices', () => {
      for (const model of MODEL_NAMES) {
        const l = llmLabels(model);
        const tokens = (t: string): number => getHistogram(exp(), 'gen_ai_client_token_usage', { ...l, gen_ai_token_type: t }).sum;
        const detail = (t: string): number => getValue(exp(), 'agentobs_llm_token_details_total', { ...l, gen_ai_token_type: t });
        const price = MODEL_PRICES.models[model] as { input: number; cacheRead: number; output: number };
        // Every prompt starts with a system prompt the provider's cache serves.
        expect(detail('cache_read')).toBeGreaterThan(0);
        expect(detail('cache_read')).toBeLessThan(tokens('input'));
        if (model === MODELS.large.name) expect(detail('reasoning')).toBeGreaterThan(0);
        else expect(detail('reasoning')).toBe(0);
        const expected = ((tokens('input') - detail('cache_read')) * price.input + detail('cache_read') * price.cacheRead + tokens('output') * price.output) / 1e6;
        expect(getValue(exp(), 'agentobs_llm_cost_total', { ...l, currency: 'USD' })).toBeCloseTo(expected, 9);
      }
    });

    it('has cumulative buckets ending in +Inf == _count for every histogram series', () => {
      const histograms = [...exp().families.values()].filter((f) => f.type === 'histogram');
      expect(histograms.map((f) => f.name)).toEqual(
        expect.arrayContaining([
          'gen_ai_invoke_agent_duration_seconds', 'gen_ai_invoke_workflow_duration_seconds', 'agentobs_workflow_step_duration_seconds',
          'gen_ai_execute_tool_duration_seconds', 'gen_ai_client_operation_duration_seconds', 'gen_ai_client_token_usage',
        ]),
      );
      let series = 0;
      for (const f of histograms) {
        for (const c of findSamples(exp(), `${f.name}_count`)) {
          const h = getHistogram(exp(), f.name, c.labels);
          const last = h.buckets.at(-1);
          expect(last?.le).toBe(Infinity);
          expect(last?.count).toBe(h.count);
          for (let i = 1; i < h.buckets.length; i++) expect(h.buckets[i]?.count).toBeGreaterThanOrEqual(h.buckets[i - 1]?.count as number);
          // Queue waits are all 0 s when no call ever queued.
          if (h.count === 0 || f.name === 'agentobs_pool_wait_time_seconds') expect(h.sum).toBeGreaterThanOrEqual(0);
          else expect(h.sum).toBeGreaterThan(0);
          series++;
        }
      }
      expect(series).toBeGreaterThan(20);
    });

    it('returns every in-flight gauge to 0 and records no internal errors', () => {
      const active = findSamples(exp(), 'agentobs_operation_active');
      expect(active.length).toBe(1 + 1 + STEP_NAMES.length + TOOL_NAMES.length + MODEL_NAMES.length);
      for (const s of active) expect({ ...s.labels, value: s.value }).toEqual({ ...s.labels, value: 0 });
      expect(findSamples(exp(), 'agentobs_internal_errors_total').filter((s) => s.value !== 0)).toEqual([]);
      expect(findSamples(exp(), 'agentobs_label_overflow_total').filter((s) => s.value !== 0)).toEqual([]);
    });

    it("serves the service's own request counter next to the library's metrics", () => {
      expect(getValue(exp(), HTTP_REQUESTS, { method: 'POST', route: '/tasks', status: '200' })).toBe(stats.tasks.succeeded);
      expect(getValue(exp(), HTTP_REQUESTS, { method: 'POST', route: '/tasks', status: '502' })).toBe(stats.tasks.failed);
    });
  });

  it('agrees between text and OpenMetrics on every value of every non-runtime series', () => {
    // Runtime gauges (CPU, heap, event loop) and the scrape counter move between two scrapes;
    // everything else must not.
    const stable = (exp: ParsedExposition): Map<string, number> =>
      new Map(exp.samples.filter((s) => !/^(process_|nodejs_|agentobs_scrapes_total$)/.test(s.name)).map((s) => [`${s.name}${labelSetKey(s.labels)}`, s.value]));
    const a = stable(omExp);
    const b = stable(textExp);
    expect(a.size).toBeGreaterThan(200);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [k, v] of a) expect([k, b.get(k)]).toEqual([k, v]);
    // Families agree on type too (OpenMetrics names counter families without `_total`).
    for (const f of textExp.families.values()) {
      const omName = f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name;
      expect([f.name, omExp.families.get(omName)?.type]).toEqual([f.name, f.type]);
    }
  });
});

describe('example agent service HTTP API', () => {
  let svc: AgentService;
  const post = (path: string, body: string, type = 'application/json'): Promise<Response> =>
    fetch(`${svc.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });

  beforeAll(async () => {
    svc = await startAgentService({ ...SERVICE_OPTIONS, seed: 'api', faults: { ...FAULTS, llmErrorRate: 0, toolErrorRate: 0, toolErrorRates: { kb_lookup: null } } });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('rejects bad input with 4xx and a JSON error, running nothing', async () => {
    const cases: [Promise<Response>, number, string][] = [
      [post('/tasks', '{"question": '), 400, 'invalid_json'],
      [post('/tasks', '[]'), 400, 'invalid_request'],
      [post('/tasks', '{"question": "   "}'), 400, 'invalid_request'],
      [post('/tasks', JSON.stringify({ question: 'x'.repeat(2001) })), 400, 'invalid_request'],
      [post('/tasks', JSON.stringify({ question: 'hi', id: 'bad id!' })), 400, 'invalid_request'],
      [post('/tasks', 'question=hi', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type'],
      [post('/tasks', JSON.stringify({ question: 'x'.repeat(70_000) })), 413, 'body_too_large'],
      [fetch(`${svc.url}/tasks`), 405, 'method_not_allowed'],
      [fetch(`${svc.url}/nope`), 404, 'not_found'],
      [post('/admin/faults', '{"llmErrorRatee": 1}'), 400, 'invalid_faults'],
      [post('/admin/faults', '{"llmErrorRate": 2}'), 400, 'invalid_faults'],
      [post('/admin/faults', '{"toolErrorRates": {"shell": 1}}'), 400, 'invalid_faults'],
    ];
    for (const [res, status, code] of cases) {
      const r = await res;
      expect([r.status, ((await r.json()) as { error: { code: string } }).error.code]).toEqual([status, code]);
    }
    expect(svc.stats().tasks).toEqual({ succeeded: 0, failed: 0 });
    expect(svc.faults().llmErrorRate).toBe(0);
  });

  it('serves /healthz', async () => {
    const r = await fetch(`${svc.url}/healthz`);
    expect([r.status, await r.json()]).toEqual([200, { status: 'ok' }]);
  });

  it('takes fault changes at run time: an LLM outage serves the fallback reply, lifting it recovers', async () => {
    const ask = async (id: string): Promise<TaskResult> =>
      (await (await post('/tasks', JSON.stringify({ id, question: 'What is your refund policy for annual plans?' }))).json()) as TaskResult;
    const before = await ask('before');
    expect(before.status).toBe('succeeded');

    const r = await post('/admin/faults', JSON.stringify({ llmErrorRate: 1 }));
    expect(r.status).toBe(200);
    expect(((await r.json()) as { llmErrorRate: number }).llmErrorRate).toBe(1);
    const during = await Promise.all(['d1', 'd2', 'd3'].map(ask));
    for (const t of during) {
      // The draft failed after the policy's retries: the fallback reply is served, and no review is attempted.
      expect([t.status, t.fallback, t.degraded]).toEqual(['succeeded', true, true]);
      expect(t.answer).toMatch(/^Our assistant is unavailable/);
      expect(t.modelCalls).toEqual([
        { model: MODELS.large.name, purpose: 'draft', attempts: t.llmCalls.length, outcome: 'fallback', error: expect.objectContaining({ type: t.llmCalls.at(-1)?.error?.type }) },
      ]);
      // One try and two retries when retryable; the provider's own timeout is not retried.
      expect(t.llmCalls.length).toBe(['rate_limited', 'overloaded'].includes(t.llmCalls.at(-1)?.error?.type ?? '') ? 3 : 1);
    }

    await post('/admin/faults', JSON.stringify({ llmErrorRate: 0 }));
    expect((await ask('after')).fallback).toBe(false);

    const exp = parseExposition((await scrape(svc.metricsUrl, 'text/plain')).body, 'prometheus');
    const s = svc.stats();
    expect(s.tasks).toEqual({ succeeded: 5, failed: 0 });
    expect(s.llmPolicy.fallbacks).toBe(3);
    expect(getValue(exp, 'agentobs_circuit_breaker_calls_total', { breaker: 'llm', outcome: 'fallback' })).toBe(3);
    expect(counts(exp, 'gen_ai_invoke_agent_duration_seconds')).toEqual(
      expectedCounts([AGENT_NAME], s.agent, (n, e) => ({ gen_ai_agent_name: n, error_type: e })),
    );
    expect(counts(exp, 'gen_ai_client_operation_duration_seconds')).toEqual(
      expectedCounts(MODEL_NAMES, s.llm, (m, e) => ({ ...llmLabels(m), error_type: e })),
    );
  });

  it('protects /admin with a bearer token when one is configured', async () => {
    const guarded = await startAgentService({ ...SERVICE_OPTIONS, adminToken: 's3cret' });
    try {
      expect((await fetch(`${guarded.url}/admin/faults`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/admin/faults`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
      expect((await fetch(`${guarded.url}/metrics`)).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });
});

describe('example processes', () => {
  /** Spawns `node --import tsx <script>` from the repo root and collects its output. */
  function run(script: string, args: string[], env: Record<string, string>) {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const line = async (re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(stdout);
        if (m !== null) return m;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${re} in output:\n${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    return { child, exited, line, out: () => ({ stdout, stderr }) };
  }

  it('main.ts prints the metrics URL, serves /metrics under load and exits 0 on SIGTERM', async () => {
    const p = run('examples/agent-service/main.ts', [], {
      PORT: '0',
      LOAD_RPS: '40',
      SEED: 'spawned',
      LLM_LATENCY_MS: '5',
      LLM_LATENCY_JITTER_MS: '2',
      TOOL_LATENCY_MS: '2',
      TOOL_LATENCY_JITTER_MS: '1',
      REPORT_INTERVAL_S: '0',
    });
    try {
      const url = (await p.line(/^metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m))[1] as string;
      expect(p.out().stdout).toMatch(/^api: http:\/\/127\.0\.0\.1:\d+ /m);
      // Wait until the built-in load has completed some tasks.
      let exp: ParsedExposition | undefined;
      for (let i = 0; i < 100; i++) {
        const body = await (await fetch(url, { headers: { accept: PROMETHEUS_ACCEPT } })).text();
        exp = parseExposition(body, 'openmetrics');
        if (findSamples(exp, 'gen_ai_invoke_agent_duration_seconds_count').reduce((n, s) => n + s.value, 0) >= 10) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(findSamples(exp as ParsedExposition, 'gen_ai_invoke_agent_duration_seconds_count').reduce((n, s) => n + s.value, 0)).toBeGreaterThanOrEqual(10);
      expect((await fetch(url.replace(/metrics$/, 'healthz'))).status).toBe(200);

      p.child.kill('SIGTERM');
      const [code, signal] = await p.exited;
      expect({ code, signal, stderr: p.out().stderr }).toEqual({ code: 0, signal: null, stderr: '' });
      const { stdout } = p.out();
      expect(stdout.match(/^metrics: /gm)).toHaveLength(1);
      expect(stdout).toMatch(/^SIGTERM: stopping load/m);
      expect(stdout).toMatch(/^stopped; tasks: \d+ succeeded, \d+ failed/m);
      // The port is closed.
      await expect(fetch(url)).rejects.toThrow();
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });

  it('main.ts rejects a bad setting with exit code 2 and the usage', async () => {
    const p = run('examples/agent-service/main.ts', ['--llm-error-rate', '1.5'], { PORT: '0' });
    const [code] = await p.exited;
    expect(code).toBe(2);
    expect(p.out().stderr).toContain('Expected --llm-error-rate to be a number from 0 to 1, got "1.5"');
    expect(p.out().stderr).toContain('LLM_ERROR_RATE');
  });

  it('quickstart.ts --once runs to completion with exit 0', async () => {
    const p = run('examples/quickstart.ts', ['--once'], { PORT: '0' });
    const [code] = await p.exited;
    expect({ code, stderr: p.out().stderr }).toEqual({ code: 0, stderr: '' });
    expect(p.out().stdout).toMatch(/^metrics: http:\/\/127\.0\.0\.1:\d+\/metrics$/m);
    expect(p.out().stdout).toMatch(/^gen_ai_client_token_usage_count\{.*gen_ai_token_type="output"\} 1$/m);
  });
});
