/**
 * The in-process SLA numbers agree with what a real Prometheus computes from the same
 * calls. Library-level (no example service): one burst of calls with a fixed duration
 * distribution, compared over a window that holds exactly that burst.
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
import { createObservability, type Observability, type SloReport } from '../../src/index.js';
import { startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.js';

const JOB = 'sla';
const METRIC = 'gen_ai_execute_tool_duration_seconds';
const evaluation = { slice: '1s', shortWindow: '10s', longWindow: '1m', minRequests: 20 } as const;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('in-process SLA numbers vs a real Prometheus', () => {
  let obs: Observability;
  let prom: PrometheusServer;
  let latency: SloReport;
  let availability: SloReport;
  let calls = 0;
  let before = 0;

  const query = async (q: string): Promise<number> => {
    const r = await prom.api<{ result: { value: [number, string] }[] }>('query', { query: q });
    expect(r.result, q).toHaveLength(1);
    return Number(r.result[0]!.value[1]);
  };

  beforeAll(async () => {
    obs = createObservability({
      runtimeMetrics: false,
      logger: false,
      slos: [
        { name: 'search-latency', target: { kind: 'tool', name: 'search' }, latency: { threshold: 0.64, percentile: 0.95 }, evaluation },
        { name: 'search-availability', target: { kind: 'tool', name: 'search' }, objective: 0.99, availability: {}, evaluation },
      ],
    });
    const search = obs.tool('search');
    // Both series exist (and are scraped) before the measured burst.
    search.record(0.01);
    search.record(0.01, new Error('warm-up'));
    const server = await obs.listen({ port: 0 });
    prom = await startPrometheus([{ job: JOB, address: `127.0.0.1:${server.port}` }]);
    await prom.waitUp(JOB);
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

  afterAll(async () => {
    await prom?.stop();
    await obs?.shutdown();
  });

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
