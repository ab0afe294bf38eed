/**
 * The in-process SLA numbers agree with what a real Prometheus computes from the same
 * calls. One Prometheus for the file scrapes two targets:
 *
 * 1. library level: one burst of recorded calls with a fixed duration distribution,
 *    compared over a window that holds exactly that burst;
 * 2. the example agent service: a fixed workload of HTTP tasks whose simulated latencies
 *    and failures are drawn from known distributions (seeded), compared over its long
 *    window, which holds exactly that workload, for its own SLOs (`serviceSlos`).
 *
 * - Exact: on the counters' own deltas (`x - x @ <before the burst>`), `histogram_quantile`
 *   and the ratio queries give the in-process numbers to float precision, since both
 *   interpolate the same way on the same counts.
 * - Within tolerance: `increase()` over a range extrapolates each series by its own factor
 *   (Prometheus' zero-point clamp depends on each counter's start value), so the rate-based
 *   queries dashboards use land within one bucket width (quantiles) and a few percent
 *   (ratios) of the in-process numbers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUESTIONS } from '../../examples/agent-service/load.js';
import { startAgentService, type AgentService } from '../../examples/agent-service/service.js';
import { SLO_NAMES, serviceSlos } from '../../examples/agent-service/slos.js';
import { createObservability, type MetricsServer, type Observability, type SloReport } from '../../src/index.js';
import { startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.js';

const JOB = 'sla';
const EXAMPLE_JOB = 'example';
const METRIC = 'gen_ai_execute_tool_duration_seconds';
const evaluation = { slice: '1s', shortWindow: '10s', longWindow: '1m', minRequests: 20 } as const;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// One Prometheus for the file, scraping both targets.
let obs: Observability;
let server: MetricsServer;
let svc: AgentService;
let prom: PrometheusServer;

const query = async (q: string): Promise<number> => {
  const r = await prom.api<{ result: { value: [number, string] }[] }>('query', { query: q });
  expect(r.result, q).toHaveLength(1);
  return Number(r.result[0]!.value[1]);
};

/** Bounds of the upper end of the bucket holding `v` and its width, from a histogram's boundaries. */
function bucketOf(bounds: readonly number[], v: number): { upper: number; width: number } {
  const upper = bounds.find((b) => b >= v) ?? Infinity;
  return { upper, width: upper - (bounds[bounds.indexOf(upper) - 1] ?? 0) };
}

beforeAll(async () => {
  obs = createObservability({
    runtimeMetrics: false,
    logger: false,
    slos: [
      { name: 'search-latency', target: { kind: 'tool', name: 'search' }, latency: { threshold: 0.64, percentile: 0.95 }, evaluation },
      { name: 'search-availability', target: { kind: 'tool', name: 'search' }, objective: 0.99, availability: {}, evaluation },
    ],
  });
  server = await obs.listen({ port: 0 });
  svc = await startAgentService({
    port: 0,
    seed: 'agreement',
    // Known distributions: tool latency uniform in 60 ± 50 ms, 8 % of tool calls failing (sooner,
    // or as hung calls at the 150 ms tool timeout); LLM latency uniform in 40 ± 30 ms (the review
    // model 0.4x); no LLM failures, so no retries.
    faults: { llmErrorRate: 0, llmLatencyMs: 40, llmLatencyJitterMs: 30, toolErrorRate: 0.08, toolLatencyMs: 60, toolLatencyJitterMs: 50, toolTimeoutMs: 150 },
    slos: serviceSlos({ evaluation: { slice: '1s', shortWindow: '10s', longWindow: '2m' } }),
    observability: { logger: false, runtimeMetrics: false },
  });
  prom = await startPrometheus([
    { job: JOB, address: `127.0.0.1:${server.port}` },
    { job: EXAMPLE_JOB, address: new URL(svc.url).host },
  ]);
  await prom.waitUp(JOB);
  await prom.waitUp(EXAMPLE_JOB);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await svc?.stop();
  await obs?.shutdown();
});

describe('in-process SLA numbers vs a real Prometheus', () => {
  let latency: SloReport;
  let availability: SloReport;
  let calls = 0;
  let before = 0;

  beforeAll(async () => {
    const search = obs.tool('search');
    // Both series exist (and are scraped) before the measured burst.
    search.record(0.01);
    search.record(0.01, new Error('warm-up'));
    // Let the warm-up calls leave the 10 s in-process short window.
    await sleep(11_000);

    before = Date.now() / 1000;
    // The burst: 1000 calls, durations spread over 5 ms … 3 s (uneven, many buckets), 3 % failing.
    for (let i = 0; i < 1000; i++) {
      const d = 0.005 + 3 * ((i * 7919) % 1000) ** 2 / 1e6;
      search.record(d, i % 33 === 0 ? new Error('boom') : undefined);
      calls++;
    }
    const report = obs.sla.check();
    latency = report.slos[0]!;
    availability = report.slos[1]!;
    // Two scrapes after the burst.
    await sleep(2500);
  }, 90_000);

  const range = '20s';
  const sel = `{job="${JOB}", gen_ai_tool_name="search"}`;
  const errorSel = `{job="${JOB}", gen_ai_tool_name="search", error_type!=""}`;
  const fastSel = `{job="${JOB}", gen_ai_tool_name="search", le="0.64"}`;
  /** The burst's own counts: the counter now minus the counter just before the burst. */
  const delta = (series: string): string => `(${series} - ${series} @ ${before.toFixed(3)})`;
  const increase = (series: string): string => `increase(${series}[${range}])`;
  const QUANTILES = [[0.5, 'p50'], [0.95, 'p95'], [0.99, 'p99']] as const;

  it('the short window holds exactly the burst', () => {
    expect(latency.short.requests).toBe(calls);
    expect(availability.short.errors).toBe(Math.ceil(calls / 33));
  });

  it('p50/p95/p99 equal histogram_quantile on the same counts', async () => {
    for (const [q, key] of QUANTILES) {
      const p = await query(`histogram_quantile(${q}, sum by (le) ${delta(`${METRIC}_bucket${sel}`)})`);
      expect(latency.short.latency[key], key).toBeCloseTo(p, 9);
    }
  });

  it('the error ratio and the latency SLI equal the ratio queries on the same counts', async () => {
    const total = `sum ${delta(`${METRIC}_count${sel}`)}`;
    const errors = await query(`sum ${delta(`${METRIC}_count${errorSel}`)} / ${total}`);
    expect(availability.short.errorRatio).toBeCloseTo(errors, 12);
    expect(availability.short.badRatio).toBeCloseTo(errors, 12);
    const slow = await query(`(${total} - sum ${delta(`${METRIC}_bucket${fastSel}`)}) / ${total}`);
    expect(latency.short.badRatio).toBeCloseTo(slow, 12);
  });

  it('rate-based queries (what dashboards and rules run) land within one bucket width and a few percent', async () => {
    const bounds = [0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12];
    for (const [q, key] of QUANTILES) {
      const p = await query(`histogram_quantile(${q}, sum by (le) (${increase(`${METRIC}_bucket${sel}`)}))`);
      const ours = latency.short.latency[key];
      const upper = bounds.find((b) => b >= ours) ?? Infinity;
      const width = upper - (bounds[bounds.indexOf(upper) - 1] ?? 0);
      expect(Math.abs(p - ours), `${key}: prometheus ${p}, in-process ${ours}`).toBeLessThanOrEqual(width);
      console.info(`${key}: in-process ${ours.toFixed(4)} s, increase()-based ${p.toFixed(4)} s, bucket width ${width} s`);
    }
    const errors = await query(`sum(${increase(`${METRIC}_count${errorSel}`)}) / sum(${increase(`${METRIC}_count${sel}`)})`);
    console.info(`error ratio: in-process ${availability.short.errorRatio}, increase()-based ${errors.toFixed(5)}`);
    expect(Math.abs(errors - availability.short.errorRatio) / availability.short.errorRatio).toBeLessThan(0.05);
  });
});

describe('the example service: its SLO reports vs a real Prometheus over the same workload', () => {
  const TASKS = 400;
  const CONCURRENCY = 20;
  const AGENT = 'gen_ai_invoke_agent_duration_seconds';
  const TOOL = 'gen_ai_execute_tool_duration_seconds';
  const agentSel = `{job="${EXAMPLE_JOB}", gen_ai_agent_name="support-agent"}`;
  const agentErrSel = `{job="${EXAMPLE_JOB}", gen_ai_agent_name="support-agent", error_type!=""}`;
  const searchSel = `{job="${EXAMPLE_JOB}", gen_ai_tool_name="web_search", gen_ai_agent_name="support-agent"}`;
  const AGENT_BOUNDS = Array.from({ length: 13 }, (_, i) => 0.1 * 2 ** i);
  const TOOL_BOUNDS = Array.from({ length: 14 }, (_, i) => 0.01 * 2 ** i);
  let reports: Map<string, SloReport>;
  let before = 0;
  let failed = 0;

  beforeAll(async () => {
    // Every call of the fixed workload lands in the (fresh) service's 2 m long window and after `before`.
    before = Date.now() / 1000;
    await sleep(50);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < TASKS) {
          const i = next++;
          const r = await fetch(`${svc.url}/tasks`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ id: `w-${i}`, question: QUESTIONS[i % QUESTIONS.length] }),
          });
          if (r.status === 502) failed++;
          await r.arrayBuffer();
        }
      }),
    );
    reports = new Map(svc.obs.sla.check().slos.map((r) => [r.name, r]));
    // Two scrapes after the workload.
    await sleep(2500);
  }, 90_000);

  /** Bucket counts of the workload; error series appear with the first error, so subtract per `le`, not per series. */
  const bucketDelta = (series: string): string => `(sum by (le) (${series}) - sum by (le) (${series} @ ${before.toFixed(3)}))`;
  /** A sum that is 0 (not empty) where no series existed yet at `before` (error series appear with the first error). */
  const sumDelta = (series: string): string => `(sum(${series}) - (sum(${series} @ ${before.toFixed(3)}) or vector(0)))`;
  const QUANTILES = [[0.5, 'p50'], [0.95, 'p95'], [0.99, 'p99']] as const;

  it('the long windows hold exactly the workload', () => {
    const availability = reports.get(SLO_NAMES.availability)!;
    expect(availability.long.requests).toBe(TASKS);
    expect(availability.long.errors).toBe(failed);
    expect(failed).toBeGreaterThan(0);
    expect(reports.get(SLO_NAMES.latency)!.long.requests).toBe(TASKS);
    expect(svc.stats().tools.web_search?.calls).toBe(reports.get(SLO_NAMES.webSearchLatency)!.long.requests);
  });

  it('task p50/p95/p99 and web_search p50/p95/p99 equal histogram_quantile on the same counts', async () => {
    for (const [metric, sel, slo] of [[AGENT, agentSel, SLO_NAMES.latency], [TOOL, searchSel, SLO_NAMES.webSearchLatency]] as const) {
      for (const [q, key] of QUANTILES) {
        const p = await query(`histogram_quantile(${q}, ${bucketDelta(`${metric}_bucket${sel}`)})`);
        const ours = reports.get(slo)!.long.latency[key];
        expect(ours, `${slo} ${key}`).toBeCloseTo(p, 9);
        console.info(`${slo} ${key}: in-process ${ours.toFixed(4)} s, Prometheus ${p.toFixed(4)} s`);
      }
    }
  });

  it('the error ratio and the latency SLIs equal the ratio queries on the same counts', async () => {
    const total = sumDelta(`${AGENT}_count${agentSel}`);
    const errors = await query(`${sumDelta(`${AGENT}_count${agentErrSel}`)} / ${total}`);
    expect(reports.get(SLO_NAMES.availability)!.long.errorRatio).toBeCloseTo(errors, 12);
    expect(errors).toBeCloseTo(failed / TASKS, 12);
    const slowTasks = await query(`(${total} - ${sumDelta(`${AGENT}_bucket{job="${EXAMPLE_JOB}", gen_ai_agent_name="support-agent", le="3.2"}`)}) / ${total}`);
    expect(reports.get(SLO_NAMES.latency)!.long.badRatio).toBeCloseTo(slowTasks, 12);
    const searches = sumDelta(`${TOOL}_count${searchSel}`);
    const slowSearches = await query(
      `(${searches} - ${sumDelta(`${TOOL}_bucket{job="${EXAMPLE_JOB}", gen_ai_tool_name="web_search", gen_ai_agent_name="support-agent", le="0.64"}`)}) / ${searches}`,
    );
    expect(reports.get(SLO_NAMES.webSearchLatency)!.long.badRatio).toBeCloseTo(slowSearches, 12);
  });

  it('rate-based queries land within one bucket width, and the known distribution within its bucket', async () => {
    for (const [metric, sel, slo, bounds] of [[AGENT, agentSel, SLO_NAMES.latency, AGENT_BOUNDS], [TOOL, searchSel, SLO_NAMES.webSearchLatency, TOOL_BOUNDS]] as const) {
      for (const [q, key] of QUANTILES) {
        const p = await query(`histogram_quantile(${q}, sum by (le) (increase(${metric}_bucket${sel}[1m])))`);
        const ours = reports.get(slo)!.long.latency[key];
        expect(Math.abs(p - ours), `${slo} ${key}: prometheus ${p}, in-process ${ours}`).toBeLessThanOrEqual(bucketOf(bounds, ours).width);
      }
    }
    // web_search takes 10-110 ms (uniform); failures end sooner, or at the 150 ms timeout (1.6 % of calls):
    // p95 is ~107 ms, in the (0.08, 0.16] bucket; the estimate interpolates inside it.
    const p95 = reports.get(SLO_NAMES.webSearchLatency)!.long.latency.p95;
    expect(p95).toBeGreaterThan(0.08);
    expect(p95).toBeLessThanOrEqual(0.16);
  });
});
