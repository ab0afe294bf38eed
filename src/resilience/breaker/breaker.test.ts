import { afterEach, describe, expect, it, vi } from 'vitest';
import { findSamples, getHistogram, getValue, parseExposition, type ParsedExposition } from '../../../test/helpers/exposition.js';
import { CircuitOpenError, isCircuitCapacityError, isCircuitOpenError, isConfigError, isTimeoutError } from '../../errors.js';
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

const STATE = 'agentobs_circuit_breaker_state';
const CALLS = 'agentobs_circuit_breaker_calls_total';
const TRANSITIONS = 'agentobs_circuit_breaker_transitions_total';
const DURATION = 'agentobs_circuit_breaker_call_duration_seconds';

function states(exp: ParsedExposition, breaker: string): Record<string, number> {
  return Object.fromEntries(['closed', 'open', 'half_open'].map((s) => [s, getValue(exp, STATE, { breaker, state: s })]));
}
const calls = (exp: ParsedExposition, breaker: string, outcome: string): number => getValue(exp, CALLS, { breaker, outcome });

describe('circuitBreaker: the open -> fallback -> half-open -> closed cycle, read from /metrics', () => {
  it('opens on failures, rejects and serves the fallback while open, probes after resetTimeout and closes', async () => {
    vi.useFakeTimers();
    const obs = make({ clock: () => Date.now() });
    let healthy = false;
    const seen: unknown[] = [];
    const llm = obs.circuitBreaker(
      async (prompt: string) => {
        if (!healthy) throw Object.assign(new Error('upstream down'), { status: 503 });
        return `answer to ${prompt}`;
      },
      {
        name: 'llm',
        timeout: false,
        volumeThreshold: 2,
        errorThresholdPercentage: 50,
        resetTimeout: 1_000,
        fallback: (error, prompt) => {
          seen.push(error);
          return `fallback for ${prompt}`;
        },
      },
    );

    let exp = await scrape(obs);
    expect(states(exp, 'llm')).toEqual({ closed: 1, open: 0, half_open: 0 });

    // Two hard failures: the fallback serves both, and the second trips the breaker.
    expect(await llm.fire('a')).toBe('fallback for a');
    expect(await llm.fire('b')).toBe('fallback for b');
    expect(llm.state).toBe('open');
    exp = await scrape(obs);
    expect(states(exp, 'llm')).toEqual({ closed: 0, open: 1, half_open: 0 });
    expect(calls(exp, 'llm', 'failure')).toBe(2);
    expect(getValue(exp, TRANSITIONS, { breaker: 'llm', from: 'closed', to: 'open' })).toBe(1);

    // Open: rejected without running, counted, fallback served with our typed error.
    healthy = true;
    expect(await llm.fire('c')).toBe('fallback for c');
    expect(seen.at(-1)).toBeInstanceOf(CircuitOpenError);
    exp = await scrape(obs);
    expect(calls(exp, 'llm', 'rejected_open')).toBe(1);
    expect(calls(exp, 'llm', 'fallback')).toBe(3);
    expect(calls(exp, 'llm', 'success')).toBe(0);

    // After resetTimeout: half-open; one probe succeeds and closes the circuit.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(llm.state).toBe('half_open');
    exp = await scrape(obs);
    expect(states(exp, 'llm')).toEqual({ closed: 0, open: 0, half_open: 1 });
    expect(await llm.fire('d')).toBe('answer to d');
    expect(llm.state).toBe('closed');

    exp = await scrape(obs);
    expect(states(exp, 'llm')).toEqual({ closed: 1, open: 0, half_open: 0 });
    expect(calls(exp, 'llm', 'success')).toBe(1);
    // Every transition once, in this order: closed -> open -> half_open -> closed.
    const transitions = findSamples(exp, TRANSITIONS, { breaker: 'llm' }).map((s) => `${s.labels.from}>${s.labels.to}=${s.value}`);
    expect(transitions).toEqual(['closed>open=1', 'open>half_open=1', 'half_open>closed=1']);
    expect(getHistogram(exp, DURATION, { breaker: 'llm', outcome: 'failure' }).count).toBe(2);
    expect(getHistogram(exp, DURATION, { breaker: 'llm', outcome: 'success' }).count).toBe(1);
    expect(obs.breakers()).toEqual([expect.objectContaining({ name: 'llm', state: 'closed' })]);
  });

  it('goes back to open when the half-open probe fails', async () => {
    vi.useFakeTimers();
    const obs = make({ clock: () => Date.now() });
    const b = obs.circuitBreaker(async () => Promise.reject(new Error('down')), { name: 'flaky', timeout: false, resetTimeout: 500 });
    await expect(b.fire()).rejects.toThrow('down');
    expect(b.state).toBe('open');
    await vi.advanceTimersByTimeAsync(500);
    await expect(b.fire()).rejects.toThrow('down');
    expect(b.state).toBe('open');
    await expect(b.fire()).rejects.toSatisfy(isCircuitOpenError);
    const exp = await scrape(obs);
    expect(getValue(exp, TRANSITIONS, { breaker: 'flaky', from: 'half_open', to: 'open' })).toBe(1);
    expect(getValue(exp, TRANSITIONS, { breaker: 'flaky', from: 'closed', to: 'open' })).toBe(1);
  });
});

describe('circuitBreaker: outcomes', () => {
  it('counts an opossum timeout once, as timeout (not also as failure), rejecting with TimeoutError', async () => {
    vi.useFakeTimers();
    const obs = make();
    const b = obs.circuitBreaker(() => new Promise<string>(() => {}), { name: 'slow', timeout: 100, volumeThreshold: 10 });
    const p = b.fire();
    const check = expect(p).rejects.toSatisfy((e: unknown) => isTimeoutError(e) && e.timeoutMs === 100);
    await vi.advanceTimersByTimeAsync(100);
    await check;
    const exp = await scrape(obs);
    expect(calls(exp, 'slow', 'timeout')).toBe(1);
    expect(calls(exp, 'slow', 'failure')).toBe(0);
    expect(getHistogram(exp, DURATION, { breaker: 'slow', outcome: 'timeout' }).count).toBe(1);
  });

  it('counts capacity rejections as rejected_capacity with a CircuitCapacityError', async () => {
    const obs = make();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = obs.circuitBreaker(async () => gate, { name: 'cap', timeout: false, capacity: 1, volumeThreshold: 10 });
    const first = b.fire();
    await expect(b.fire()).rejects.toSatisfy(isCircuitCapacityError);
    release();
    await first;
    const exp = await scrape(obs);
    expect(calls(exp, 'cap', 'rejected_capacity')).toBe(1);
    expect(calls(exp, 'cap', 'failure')).toBe(0);
    expect(calls(exp, 'cap', 'success')).toBe(1);
  });

  it('counts cache hits as cache_hit', async () => {
    const obs = make();
    const b = obs.circuitBreaker(async (x: number) => x * 2, { name: 'cached', cache: true, timeout: false });
    expect(await b.fire(2)).toBe(4);
    expect(await b.fire(2)).toBe(4);
    const exp = await scrape(obs);
    expect(calls(exp, 'cached', 'success')).toBe(1);
    expect(calls(exp, 'cached', 'cache_hit')).toBe(1);
  });

  it('records error_type="circuit_open" in an enclosing instrumented call', async () => {
    const obs = make();
    const b = obs.circuitBreaker(async () => 'ok', { name: 'manual', timeout: false });
    b.open();
    const tool = obs.instrumentTool(b.fn, { tool: 'search' });
    await expect(tool()).rejects.toBeInstanceOf(CircuitOpenError);
    const exp = await scrape(obs);
    expect(getHistogram(exp, 'gen_ai_execute_tool_duration_seconds', { gen_ai_tool_name: 'search', gen_ai_agent_name: '', error_type: 'circuit_open' }).count).toBe(1);
    expect(getValue(exp, TRANSITIONS, { breaker: 'manual', from: 'closed', to: 'open' })).toBe(1);
  });

  it('exports the rolling failure ratio at scrape time', async () => {
    const obs = make();
    let n = 0;
    const b = obs.circuitBreaker(async () => (n++ % 2 === 0 ? 'ok' : Promise.reject(new Error('x'))), { name: 'half', timeout: false, volumeThreshold: 100 });
    for (let i = 0; i < 4; i++) await b.fire().catch(() => undefined);
    expect(getValue(await scrape(obs), 'agentobs_circuit_breaker_failure_ratio', { breaker: 'half' })).toBe(0.5);
  });
});

describe('circuitBreaker: transparency', () => {
  it('passes this, arguments and the result through, and rejects with the same error object', async () => {
    const obs = make();
    const boom = new Error('boom');
    const target = {
      base: 10,
      add(this: { base: number }, a: number, b: number): Promise<number> {
        return a < 0 ? Promise.reject(boom) : Promise.resolve(this.base + a + b);
      },
    };
    const b = obs.circuitBreaker(target.add, { name: 'add', timeout: false, volumeThreshold: 100 });
    const guarded = { base: 10, add: b.fn };
    expect(await guarded.add(1, 2)).toBe(13);
    await expect(guarded.add(-1, 0)).rejects.toBe(boom);
    expect(b.fn.name).toBe('add');
  });

  it('accepts sync functions, including ones that return undefined or throw', async () => {
    const obs = make();
    const err = new TypeError('sync');
    const b = obs.circuitBreaker((x: number) => (x > 0 ? undefined : (() => { throw err; })()), { name: 'sync', timeout: false, volumeThreshold: 100 });
    await expect(b.fire(1)).resolves.toBeUndefined();
    await expect(b.fire(-1)).rejects.toBe(err);
  });

  it('logs each transition with from/to', async () => {
    const warn = vi.fn();
    const obs = make({ logger: { warn } });
    const b = obs.circuitBreaker(async () => 1, { name: 'logged', timeout: false });
    b.open();
    b.close();
    expect(warn.mock.calls.map(([d]) => [d.breaker, d.from, d.to])).toEqual([
      ['logged', 'closed', 'open'],
      ['logged', 'open', 'closed'],
    ]);
  });
});

describe('circuitBreaker: names, options, dispose and shutdown', () => {
  it('rejects duplicate names among live breakers, and frees the name on dispose', () => {
    const obs = make();
    const a = obs.circuitBreaker(async () => 1, { name: 'dup' });
    const e = (() => {
      try {
        obs.circuitBreaker(async () => 2, { name: 'dup' });
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    expect(isConfigError(e)).toBe(true);
    expect((e as Error).message).toMatch(/expected a breaker name not used by another live breaker, got "dup"/);
    a.dispose();
    obs.circuitBreaker(async () => 3, { name: 'dup' }).dispose();
  });

  it.each<[string, unknown]>([
    ['an anonymous function without a name', {}],
    ['a negative resetTimeout', { name: 'x', resetTimeout: -1 }],
    ['an errorThresholdPercentage above 100', { name: 'x', errorThresholdPercentage: 150 }],
    ['a fractional capacity', { name: 'x', capacity: 1.5 }],
    ['a non-function fallback', { name: 'x', fallback: 'nope' }],
    ['a non-boolean logTransitions', { name: 'x', logTransitions: 'yes' }],
  ])('throws a ConfigError for %s', (_what, options) => {
    const obs = make();
    expect(() => obs.circuitBreaker((() => async () => 1)(), options as never)).toThrow(expect.objectContaining({ code: 'ERR_AGENTOBS_CONFIG' }));
  });

  it('dispose() removes every series, leaves no listener or timer, and lets calls through unprotected', async () => {
    vi.useFakeTimers();
    const obs = make();
    const baseline = vi.getTimerCount();
    const b = obs.circuitBreaker(async (x: number) => x, { name: 'gone', resetTimeout: 1_000 });
    await b.fire(1);
    b.open(); // arms the reset timer as well
    expect(vi.getTimerCount()).toBeGreaterThan(baseline);
    b.dispose();
    b.dispose();
    expect(vi.getTimerCount()).toBe(baseline);
    expect(b.opossum.eventNames()).toEqual([]);
    const body = (await obs.metrics()).body;
    expect(body).not.toContain('breaker="gone"');
    expect(await b.fire(7)).toBe(7);
    expect(obs.breakers()).toEqual([]);
  });

  it('obs.shutdown() disposes every breaker: no timer left behind', async () => {
    vi.useFakeTimers();
    const baseline = vi.getTimerCount();
    const obs = createObservability({ runtimeMetrics: false, logger: false });
    const b = obs.circuitBreaker(async () => 1, { name: 'a', resetTimeout: 1_000 });
    b.open();
    obs.circuitBreaker(async () => 1, { name: 'b' });
    expect(vi.getTimerCount()).toBeGreaterThan(baseline);
    await obs.shutdown();
    expect(vi.getTimerCount()).toBe(baseline);
    expect(b.opossum.isShutdown).toBe(true);
  });
});
