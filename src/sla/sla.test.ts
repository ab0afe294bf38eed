import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createObservability, type Observability, type ObservabilityOptions } from '../observability.js';
import { isConfigError } from '../errors.js';
import type { SloSpec } from '../catalog/slo.js';
import type { SloReport } from './report.js';

const MIN = 60_000;

const availability: SloSpec = {
  name: 'search-availability',
  target: { kind: 'tool', name: 'search', agent: 'support' },
  objective: 0.99,
  availability: {},
  evaluation: { slice: '1m', shortWindow: '5m', longWindow: '1h', minRequests: 20 },
};

let t = 0;
let obs: Observability;
function make(slos: readonly SloSpec[], extra: ObservabilityOptions = {}): Observability {
  obs = createObservability({ runtimeMetrics: false, logger: false, clock: () => t, slos, ...extra });
  return obs;
}
/** `n` calls of which `errors` fail, each `seconds` long, recorded at the current clock. */
function calls(n: number, errors: number, seconds = 0.05, handle = obs.tool('search', { agent: 'support' })): void {
  for (let i = 0; i < n; i++) handle.record(seconds, i < errors ? new Error('boom') : undefined);
}
/** Advances the clock by `ms` and lets the engine see it. */
function advance(ms: number): void {
  t += ms;
  obs.sla.check();
}

beforeEach(() => {
  t = 0;
});
afterEach(async () => {
  vi.useRealTimers();
  await obs?.shutdown();
});

describe('obs.sla: breach and recovery', () => {
  it('fires onBreach exactly once, holds through the hysteresis band, then onRecover exactly once', () => {
    make([availability]);
    const breaches: SloReport[] = [];
    const recoveries: SloReport[] = [];
    obs.sla.onBreach((r) => breaches.push(r));
    obs.sla.onRecover((r) => recoveries.push(r));

    calls(100, 20); // 20 % errors: 20x a 1 % budget on both windows
    expect(obs.sla.check().status).toBe('breach');
    expect(breaches).toHaveLength(1);
    expect(breaches[0]?.name).toBe('search-availability');
    expect(breaches[0]?.short.burnRate).toBeCloseTo(20, 9);
    calls(100, 20);
    obs.sla.check();
    expect(breaches).toHaveLength(1);

    // 10x for six minutes: below the 14.4x breach line, above the 7.2x recovery line.
    for (let m = 0; m < 6; m++) {
      advance(MIN);
      calls(100, 10);
    }
    const held = obs.sla.check().slos[0]!;
    expect(held.short.burnRate).toBeCloseTo(10, 9);
    expect(held.status).toBe('breach');
    expect(recoveries).toHaveLength(0);

    // Clean for five minutes: the short window drops to 0x.
    for (let m = 0; m < 5; m++) {
      advance(MIN);
      calls(100, 0);
    }
    expect(obs.sla.check().slos[0]?.status).toBe('warning'); // the long window still burns > 1x
    expect(recoveries).toHaveLength(1);
    expect(recoveries[0]?.status).toBe('warning');

    // 10x again is not a new breach: it has to reach 14.4x on both windows.
    for (let m = 0; m < 6; m++) {
      advance(MIN);
      calls(100, 10);
    }
    expect(breaches).toHaveLength(1);
    expect(recoveries).toHaveLength(1);
  });

  it('does not declare a breach on fewer than minRequests calls', () => {
    make([availability]);
    const breaches: SloReport[] = [];
    obs.sla.onBreach((r) => breaches.push(r));
    calls(19, 19);
    const r = obs.sla.check().slos[0]!;
    expect(r.enoughRequests).toBe(false);
    expect(r.status).toBe('ok');
    calls(1, 1);
    expect(obs.sla.check().slos[0]?.status).toBe('breach');
    expect(breaches).toHaveLength(1);
  });

  it('recovers when traffic stops, so a health check that drains traffic cannot lock itself out', () => {
    make([availability]);
    const recoveries: SloReport[] = [];
    obs.sla.onRecover((r) => recoveries.push(r));
    calls(50, 50);
    expect(obs.sla.check().status).toBe('breach');
    advance(5 * MIN);
    expect(recoveries).toHaveLength(1);
    expect(recoveries[0]?.short.requests).toBe(0);
    expect(recoveries[0]?.short.burnRate).toBeNaN();
  });

  it('latches on its own timer at slice boundaries, without check()', () => {
    vi.useFakeTimers();
    make([availability]);
    const onBreach = vi.fn();
    obs.sla.onBreach(onBreach);
    calls(100, 50);
    expect(onBreach).not.toHaveBeenCalled();
    t = MIN;
    vi.advanceTimersByTime(MIN + 1);
    expect(onBreach).toHaveBeenCalledTimes(1);
  });

  it('listener errors are counted in agentobs_internal_errors_total, never thrown; unsubscribe works', async () => {
    make([availability]);
    const off = obs.sla.onBreach(() => {
      throw new Error('listener bug');
    });
    const later = vi.fn();
    obs.sla.onBreach(later);
    calls(100, 100);
    expect(() => obs.sla.check()).not.toThrow();
    expect(later).toHaveBeenCalledTimes(1);
    expect((await obs.metrics()).body).toContain('agentobs_internal_errors_total{component="sla_listener"} 1');
    off();
    expect(() => obs.sla.onBreach(42 as never)).toThrow(/sla.onBreach: expected a function/);
  });
});

describe('obs.sla: what feeds the windows', () => {
  it('taps only the handles the target matches, through record, run and wrap, sync and async', async () => {
    make([availability]);
    calls(5, 0, 0.05, obs.tool('search', { agent: 'other' }));
    calls(5, 0, 0.05, obs.tool('fetch', { agent: 'support' }));
    obs.step('search', { workflow: 'support' }).record(0.1);
    expect(obs.sla.check().slos[0]?.long.requests).toBe(0);

    const h = obs.tool('search', { agent: 'support' });
    h.run(() => 1);
    expect(() =>
      h.run(() => {
        throw new Error('sync');
      }),
    ).toThrow('sync');
    const wrapped = h.wrap(async (fail: boolean) => {
      if (fail) throw new Error('async');
      return 1;
    });
    await wrapped(false);
    await expect(wrapped(true)).rejects.toThrow('async');
    const r = obs.sla.check().slos[0]!;
    expect(r.long.requests).toBe(4);
    expect(r.long.errors).toBe(2);
  });

  it('an SLO without a name covers every call of its kind; several SLOs can share a handle', () => {
    make([
      { name: 'all-tools', target: { kind: 'tool' }, objective: 0.9, availability: {} },
      availability,
    ]);
    calls(3, 1);
    calls(2, 0, 0.05, obs.tool('other'));
    const [all, one] = obs.sla.check().slos;
    expect(all?.long.requests).toBe(5);
    expect(one?.long.requests).toBe(3);
  });

  it('latency SLOs: bad calls are the slower ones; quantiles are histogram_quantile over the long window', () => {
    make([{ name: 'search-latency', target: { kind: 'tool', name: 'search' }, latency: { threshold: 0.32, percentile: 0.9 } }]);
    calls(80, 0, 0.15); // (0.08, 0.16]
    calls(20, 0, 0.5); // (0.32, 0.64]: slower than 0.32
    const r = obs.sla.check().slos[0]!;
    expect(r.sli).toBe('latency');
    expect(r.objective).toBe(0.9);
    expect(r.long.bad).toBe(20);
    expect(r.long.badRatio).toBeCloseTo(0.2, 12);
    expect(r.long.burnRate).toBeCloseTo(2, 9);
    // rank 50 of 100 falls in (0.08, 0.16] at 50/80; rank 95 in (0.32, 0.64] at 15/20.
    expect(r.long.latency.p50).toBeCloseTo(0.08 + 0.08 * (50 / 80), 12);
    expect(r.long.latency.p95).toBeCloseTo(0.32 + 0.32 * (15 / 20), 12);
    expect(r.latencyObjective?.observed).toBeCloseTo(0.32 + 0.32 * (10 / 20), 12);
    expect(r.status).toBe('warning');
  });

  it('without SLOs there is nothing to evaluate and every check is ok', async () => {
    make([]);
    calls(10, 10);
    expect(obs.sla.check()).toEqual({ status: 'ok', slos: [] });
    expect((await obs.metrics()).body).not.toContain('agentobs_slo_');
  });
});

describe('obs.sla: exported state', () => {
  it('exports the catalog SLO gauges, refreshed at scrape time', async () => {
    make([availability]);
    calls(100, 2);
    const body = (await obs.metrics()).body;
    expect(body).toContain('agentobs_slo_objective_ratio{slo="search-availability"} 0.99\n');
    const value = (series: string, text = body): number => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1));
    for (const w of ['5m', '1h', '30d']) expect(value(`agentobs_slo_burn_rate{slo="search-availability",window="${w}"}`)).toBeCloseTo(2, 9);
    expect(value('agentobs_slo_error_budget_remaining_ratio{slo="search-availability"}')).toBeCloseTo(-1, 9);
    // 100 calls of 0.05 s in (0.04, 0.08]: p95 interpolates to 0.04 + 0.04 * 0.95.
    expect(value('agentobs_slo_latency_seconds{slo="search-availability",quantile="0.95"}')).toBeCloseTo(0.078, 12);
    calls(100, 0);
    const after = (await obs.metrics()).body;
    expect(value('agentobs_slo_burn_rate{slo="search-availability",window="5m"}', after)).toBeCloseTo(1, 9);
  });

  it('healthHandler answers 200, then 503 in breach, with the JSON report (NaN as null)', async () => {
    make([availability]);
    const server: Server = createServer(obs.sla.healthHandler());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    try {
      let res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const idle = (await res.json()) as { status: string; slos: { short: { burnRate: unknown } }[] };
      expect(idle.status).toBe('ok');
      expect(idle.slos[0]?.short.burnRate).toBeNull();

      calls(100, 50);
      res = await fetch(url);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { status: string }).status).toBe('breach');
      expect((await fetch(url, { method: 'POST' })).status).toBe(405);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    expect(() => obs.sla.healthHandler({ failOn: 'ok' as never })).toThrow(/healthHandler.failOn/);
  });

  it('shutdown stops the timer', async () => {
    vi.useFakeTimers();
    make([availability]);
    expect(vi.getTimerCount()).toBe(1);
    await obs.shutdown();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('obs.sla: configuration errors name the path', () => {
  it('threshold checked against the bucket overrides given to createObservability', () => {
    const spec: SloSpec = { name: 'l', target: { kind: 'agent', name: 'a' }, latency: { threshold: 2.2 }, objective: 0.95 };
    expect(() => make([availability, spec])).toThrow(/^slos\[1\]\.latency\.threshold: expected one of the histogram's bucket boundaries/);
    expect(() => make([spec], { buckets: { gen_ai_invoke_agent_duration_seconds: [1, 2.2, 5] } })).not.toThrow();
  });

  it('target outside the cardinality allow-list', () => {
    let err: unknown;
    try {
      make([availability], { cardinality: { tools: ['fetch'] } });
    } catch (e) {
      err = e;
    }
    expect(isConfigError(err)).toBe(true);
    expect((err as { path: string }).path).toBe('slos[0].target.name');
  });
});
