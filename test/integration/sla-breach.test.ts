/**
 * Breach callbacks on the running example service (issue 5, "Done when"): steady open-loop
 * traffic over HTTP, a latency regression injected through `POST /admin/faults`, and the
 * service's own `obs.sla` must call `onBreach` exactly once, then, once the regression is
 * lifted, `onRecover` exactly once; `GET /healthz/slo` (`obs.sla.healthHandler()`) answers
 * 200, then 503, then 200 again. The service logs both transitions with pino.
 *
 * The SLOs are the service's own (`serviceSlos`), with second-long evaluation windows
 * (1 s slices, 5 s short and 20 s long windows, 10 calls minimum) and the task latency
 * threshold at 0.2 s, a boundary of the agent histogram: healthy tasks take ~20 ms, the
 * regression makes every draft take 250 ms. Waits are bounded polls; nothing asserts timing.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUESTIONS } from '../../examples/agent-service/load.js';
import { startAgentService, type AgentService } from '../../examples/agent-service/service.js';
import { SLO_NAMES, serviceSlos } from '../../examples/agent-service/slos.js';
import type { SlaReport, SloReport } from '../../src/index.js';

const EVALUATION = { slice: '1s', shortWindow: '5s', longWindow: '20s', minRequests: 10 } as const;
const FAST = { llmLatencyMs: 5, llmLatencyJitterMs: 2 } as const;
const REGRESSION = { llmLatencyMs: 250, llmLatencyJitterMs: 0 } as const;
/** Tasks per second of the open-loop load (sent whatever the latency, as real traffic is). */
const RPS = 25;

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

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a latency regression in the example service: one onBreach, one onRecover, health 200 -> 503 -> 200', () => {
  const log = memoryLog();
  let svc: AgentService;
  const breaches: { report: SloReport; at: number }[] = [];
  const recoveries: { report: SloReport; at: number }[] = [];
  /** Every /healthz/slo answer, in order. */
  const health: { phase: string; status: number; body: SlaReport }[] = [];
  let injectedAt = 0;
  let liftedAt = 0;
  let load: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<unknown>>();
  let sent = 0;
  let failedRequests = 0;

  const faults = async (patch: object): Promise<void> => {
    const r = await fetch(`${svc.url}/admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch) });
    expect(r.status).toBe(200);
    await r.arrayBuffer();
  };
  const checkHealth = async (phase: string): Promise<{ status: number; body: SlaReport }> => {
    const r = await fetch(svc.sloHealthUrl);
    const h = { phase, status: r.status, body: (await r.json()) as SlaReport };
    health.push(h);
    return h;
  };
  const latencySlo = (r: SlaReport): SloReport => r.slos.find((s) => s.name === SLO_NAMES.latency) as SloReport;

  beforeAll(async () => {
    svc = await startAgentService({
      port: 0,
      seed: 'sla-breach',
      faults: { ...FAST, llmErrorRate: 0, toolErrorRate: 0, toolLatencyMs: 2, toolLatencyJitterMs: 1 },
      slos: serviceSlos({ evaluation: EVALUATION, agentLatencyThreshold: 0.2 }),
      logDestination: log.stream,
    });
    svc.obs.sla.onBreach((report) => breaches.push({ report, at: performance.now() }));
    svc.obs.sla.onRecover((report) => recoveries.push({ report, at: performance.now() }));
    load = setInterval(() => {
      const i = sent++;
      const p = fetch(`${svc.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: `t-${i}`, question: QUESTIONS[i % QUESTIONS.length] }),
      }).then((r) => {
        if (r.status !== 200) failedRequests++;
        return r.arrayBuffer();
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }, 1000 / RPS);

    // Healthy, with enough calls in the long window to be judged.
    await until('a healthy verdict on enough calls', async () => {
      const h = await checkHealth('healthy');
      return h.status === 200 && latencySlo(h.body).enoughRequests ? h : undefined;
    });

    injectedAt = performance.now();
    await faults(REGRESSION);
    await until('onBreach', () => (breaches.length > 0 ? true : undefined));
    await until('/healthz/slo to answer 503', async () => ((await checkHealth('regressed')).status === 503 ? true : undefined));

    liftedAt = performance.now();
    await faults(FAST);
    await until('onRecover', () => (recoveries.length > 0 ? true : undefined));
    await until('/healthz/slo to answer 200 again', async () => ((await checkHealth('recovered')).status === 200 ? true : undefined));

    // Stop the load, let the last tasks finish and the evaluation timer tick twice more.
    clearInterval(load);
    load = undefined;
    await Promise.allSettled([...inFlight]);
    await new Promise((r) => setTimeout(r, 2100));
    await checkHealth('after');
    console.info(
      `SLO ${SLO_NAMES.latency}: breach ${Math.round((breaches[0]?.at ?? NaN) - injectedAt)} ms after the regression, ` +
        `recovery ${Math.round((recoveries[0]?.at ?? NaN) - liftedAt)} ms after lifting it; ${sent} tasks sent`,
    );
  }, 120_000);

  afterAll(async () => {
    if (load !== undefined) clearInterval(load);
    await svc?.stop();
  });

  it('calls onBreach exactly once and onRecover exactly once, for the latency SLO only', () => {
    expect(breaches.map((b) => [b.report.name, b.report.status])).toEqual([[SLO_NAMES.latency, 'breach']]);
    expect(recoveries.map((r) => [r.report.name, r.report.status])).toEqual([[SLO_NAMES.latency, expect.stringMatching(/^(ok|warning)$/)]]);
    expect(breaches[0]!.at).toBeGreaterThan(injectedAt);
    expect(recoveries[0]!.at).toBeGreaterThan(liftedAt);
    expect(failedRequests).toBe(0);
  });

  it('breached on the burn rates of both windows, with enough calls, the p95 over the threshold', () => {
    const r = breaches[0]!.report;
    expect(r.enoughRequests).toBe(true);
    expect(r.short.burnRate).toBeGreaterThanOrEqual(14.4);
    expect(r.long.burnRate).toBeGreaterThanOrEqual(14.4);
    expect(r.latencyObjective?.threshold).toBe(0.2);
    expect(r.latencyObjective?.observed).toBeGreaterThan(0.2);
    // Recovered once a window burned below the hysteresis threshold (7.2).
    const back = recoveries[0]!.report;
    expect(Math.min(back.short.burnRate, back.long.burnRate)).toBeLessThan(7.2);
  });

  it('answers /healthz/slo with 200, then 503 while in breach, then 200 again', () => {
    const phases = health.map((h) => [h.phase, h.status]);
    // Polls repeat a phase; the sequence of distinct answers is what matters.
    const distinct = phases.filter((p, i) => i === 0 || p[0] !== phases[i - 1]?.[0] || p[1] !== phases[i - 1]?.[1]);
    expect(distinct.filter(([, s]) => s === 503).length).toBe(1);
    expect(health.find((h) => h.status === 503)).toMatchObject({ phase: 'regressed', body: { status: 'breach' } });
    expect(latencySlo(health.find((h) => h.status === 503)!.body).status).toBe('breach');
    expect(health[0]).toMatchObject({ phase: 'healthy', status: 200 });
    expect(health.at(-2)).toMatchObject({ phase: 'recovered', status: 200 });
    expect(health.at(-1)).toMatchObject({ phase: 'after', status: 200 });
    expect(health.filter((h) => h.phase !== 'regressed').every((h) => h.status === 200)).toBe(true);
  });

  it('logs the breach and the recovery once each', () => {
    const slo = log.lines().filter((l) => l.component === 'slo');
    expect(slo.map((l) => [l.slo, l.status, l.msg])).toEqual([
      [SLO_NAMES.latency, 'breach', `SLO ${SLO_NAMES.latency} breached`],
      [SLO_NAMES.latency, recoveries[0]!.report.status, `SLO ${SLO_NAMES.latency} recovered`],
    ]);
  });

  it('exports the SLO gauges from the same windows', async () => {
    const body = await (await fetch(svc.metricsUrl, { headers: { accept: 'text/plain' } })).text();
    expect(body).toMatch(new RegExp(`^agentobs_slo_objective_ratio\\{slo="${SLO_NAMES.latency}"\\} 0\\.95$`, 'm'));
    expect(body).toMatch(new RegExp(`^agentobs_slo_burn_rate\\{slo="${SLO_NAMES.latency}",window="5s"\\} `, 'm'));
  });
});
