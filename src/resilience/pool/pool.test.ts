import { afterEach, describe, expect, it, vi } from 'vitest';
import { getHistogram, getValue, parseExposition, type ParsedExposition } from '../../../test/helpers/exposition.js';
import { isConfigError, isPoolRejectedError } from '../../errors.js';
import { createObservability, type Observability, type ObservabilityOptions } from '../../observability.js';

const created: Observability[] = [];
function make(options: ObservabilityOptions = {}): Observability {
  const obs = createObservability({ runtimeMetrics: false, logger: false, ...options });
  created.push(obs);
  return obs;
}
afterEach(async () => {
  await Promise.all(created.splice(0).map((o) => o.shutdown()));
  vi.useRealTimers();
});
async function scrape(obs: Observability): Promise<ParsedExposition> {
  return parseExposition((await obs.metrics()).body, 'prometheus');
}

/** A call that runs until released. */
function gated(): { run: () => Promise<number>; release: () => void; started: number } {
  const waiters: (() => void)[] = [];
  const g = {
    started: 0,
    run: () => {
      g.started += 1;
      return new Promise<number>((r) => waiters.push(() => r(g.started)));
    },
    release: () => {
      for (const w of waiters.splice(0)) w();
    },
  };
  return g;
}

describe('pool: saturation', () => {
  it('200 concurrent calls into concurrency 5 / queue 20: utilization 1, 20 queued, exactly 175 rejected, waits recorded', async () => {
    let t = 0;
    const obs = make({ clock: () => t });
    const pool = obs.pool('llm', { concurrency: 5, queue: 20 });
    const g = gated();
    const results = Array.from({ length: 200 }, () => pool.run(g.run).then((v) => ({ ok: v }), (e: unknown) => ({ err: e })));
    await Promise.resolve();

    let exp = await scrape(obs);
    expect(getValue(exp, 'agentobs_pool_utilization_ratio', { pool: 'llm' })).toBe(1);
    expect(getValue(exp, 'agentobs_pool_usage', { pool: 'llm', state: 'active' })).toBe(5);
    expect(getValue(exp, 'agentobs_pool_usage', { pool: 'llm', state: 'queued' })).toBe(20);
    expect(getValue(exp, 'agentobs_pool_limit', { pool: 'llm', state: 'active' })).toBe(5);
    expect(getValue(exp, 'agentobs_pool_limit', { pool: 'llm', state: 'queued' })).toBe(20);
    expect(getValue(exp, 'agentobs_pool_rejections_total', { pool: 'llm', reason: 'queue_full' })).toBe(175);
    expect(g.started).toBe(5);

    // Let everything drain, 250 ms of simulated queueing per wave.
    while (pool.active > 0) {
      t += 250;
      g.release();
      await new Promise((r) => setImmediate(r));
    }
    const settled = await Promise.all(results);
    expect(settled.filter((r) => 'ok' in r)).toHaveLength(25);
    const rejected = settled.filter((r): r is { err: unknown } => 'err' in r);
    expect(rejected).toHaveLength(175);
    expect(rejected.every((r) => isPoolRejectedError(r.err) && r.err.reason === 'queue_full' && r.err.pool === 'llm')).toBe(true);

    exp = await scrape(obs);
    const wait = getHistogram(exp, 'agentobs_pool_wait_time_seconds', { pool: 'llm' });
    expect(wait.count).toBe(25);
    expect(wait.sum).toBeGreaterThan(0);
    expect(wait.buckets.find((b) => b.le === 0.001)?.count).toBe(5); // the five that started at once
    expect(getValue(exp, 'agentobs_pool_usage', { pool: 'llm', state: 'active' })).toBe(0);
    expect(getValue(exp, 'agentobs_pool_usage', { pool: 'llm', state: 'queued' })).toBe(0);
    expect(getValue(exp, 'agentobs_pool_utilization_ratio', { pool: 'llm' })).toBe(0);
    expect(getValue(exp, 'agentobs_pool_rejections_total', { pool: 'llm', reason: 'queue_full' })).toBe(175);
  });
});

describe('pool: abort and queue timeout', () => {
  it('removes an aborted queued call (rejects with the signal reason, counted as aborted)', async () => {
    const obs = make();
    const pool = obs.pool('p', { concurrency: 1, queue: 5 });
    const g = gated();
    const first = pool.run(g.run);
    const ac = new AbortController();
    const queued = pool.run(() => 'never', { signal: ac.signal });
    expect(pool.queued).toBe(1);
    const reason = new Error('caller gone');
    ac.abort(reason);
    await expect(queued).rejects.toBe(reason);
    expect(pool.queued).toBe(0);
    // Already aborted: rejected up front.
    await expect(pool.run(() => 1, { signal: ac.signal })).rejects.toBe(reason);
    g.release();
    await first;
    expect(getValue(await scrape(obs), 'agentobs_pool_rejections_total', { pool: 'p', reason: 'aborted' })).toBe(2);
  });

  it('rejects a call that waited longer than queueTimeoutMs (reason timeout) and clears its timer otherwise', async () => {
    vi.useFakeTimers();
    const obs = make();
    const baseline = vi.getTimerCount();
    const pool = obs.pool('t', { concurrency: 1, queue: 5, queueTimeoutMs: 100 });
    const g = gated();
    const first = pool.run(g.run);
    const late = pool.run(() => 'late');
    const check = expect(late).rejects.toSatisfy((e: unknown) => isPoolRejectedError(e) && e.reason === 'timeout');
    await vi.advanceTimersByTimeAsync(100);
    await check;
    const served = pool.run(() => 'served');
    g.release();
    await first;
    expect(await served).toBe('served');
    expect(vi.getTimerCount()).toBe(baseline);
    expect(getValue(await scrape(obs), 'agentobs_pool_rejections_total', { pool: 't', reason: 'timeout' })).toBe(1);
  });
});

describe('pool: transparency, validation and dispose', () => {
  it('wrap() passes this, arguments, results and the same error object through; FIFO order', async () => {
    const obs = make();
    const pool = obs.pool('w', { concurrency: 1, queue: 10 });
    const boom = new Error('boom');
    const order: number[] = [];
    const obj = {
      k: 3,
      f: pool.wrap(async function (this: { k: number }, x: number) {
        order.push(x);
        if (x < 0) throw boom;
        return this.k * x;
      }),
    };
    const rs = await Promise.allSettled([obj.f(1), obj.f(-1), obj.f(2)]);
    expect(rs).toEqual([{ status: 'fulfilled', value: 3 }, { status: 'rejected', reason: boom }, { status: 'fulfilled', value: 6 }]);
    expect(order).toEqual([1, -1, 2]);
    // A synchronous throw becomes a rejection and frees the slot.
    await expect(pool.run(() => { throw boom; })).rejects.toBe(boom);
    expect(pool.active).toBe(0);
  });

  it.each<[string, unknown]>([
    ['a missing concurrency', {}],
    ['concurrency 0', { concurrency: 0 }],
    ['a negative queue', { concurrency: 1, queue: -1 }],
    ['a zero queueTimeoutMs', { concurrency: 1, queueTimeoutMs: 0 }],
  ])('throws a ConfigError for %s', (_w, options) => {
    const obs = make();
    expect(() => obs.pool('x', options as never)).toThrow(expect.objectContaining({ code: 'ERR_AGENTOBS_CONFIG' }));
  });

  it('rejects a duplicate live pool name; dispose removes the series and frees it', async () => {
    const obs = make();
    const p = obs.pool('dup', { concurrency: 1 });
    let err: unknown;
    try {
      obs.pool('dup', { concurrency: 2 });
    } catch (e) {
      err = e;
    }
    expect(isConfigError(err)).toBe(true);
    p.dispose();
    expect((await obs.metrics()).body).not.toContain('pool="dup"');
    expect(await p.run(() => 5)).toBe(5);
    obs.pool('dup', { concurrency: 2 });
  });
});
