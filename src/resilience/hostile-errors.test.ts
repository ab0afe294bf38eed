/**
 * A user's function may throw anything: values whose property reads, prototype lookups or
 * conversions throw. Every wrapper must reject with that very value (identity, not a copy
 * and not our own failure), and classify it as best it can without throwing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { getValue, parseExposition } from '../../test/helpers/exposition.js';
import { defaultErrorType } from '../instrument/error-type.js';
import { createObservability, type Observability } from '../observability.js';
import { isAgentObservabilityError, isCircuitOpenError, isTimeoutError } from '../errors.js';
import { defaultRetryable } from './retry/retry.js';

const boom = (): never => {
  throw new Error('trap');
};

function hostileValues(): [string, unknown][] {
  const revocable = Proxy.revocable(new Error('revoked'), {});
  revocable.revoke();
  const everything: ProxyHandler<Error> = {
    get: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom, getPrototypeOf: boom, defineProperty: boom,
  };
  return [
    ['name getter throws', Object.defineProperty(new Error('m'), 'name', { get: boom })],
    ['message getter throws', Object.defineProperty(new Error('m'), 'message', { get: boom })],
    ['code getter throws', Object.defineProperty(new Error('m'), 'code', { get: boom })],
    ['status getter throws', Object.defineProperty(new Error('m'), 'status', { get: boom })],
    ['response getter throws', Object.defineProperty(new Error('m'), 'response', { get: boom })],
    ['headers are a throwing Proxy', Object.assign(new Error('m'), { status: 429, headers: new Proxy({}, everything as ProxyHandler<object>) })],
    ['constructor getter throws', Object.defineProperty(new Error('m'), 'constructor', { get: boom })],
    ['Proxy: get and getPrototypeOf traps throw', new Proxy(new Error('x'), { get: boom, getPrototypeOf: boom })],
    ['Proxy: every trap throws', new Proxy(new Error('x'), everything)],
    ['revoked Proxy', revocable.proxy],
    ['toString and toPrimitive throw', { toString: boom, [Symbol.toPrimitive]: boom }],
    ['null-prototype object', Object.create(null) as unknown],
    ['a string', 'plain string'],
    ['undefined', undefined],
    ['a symbol', Symbol('s')],
  ];
}

let obs: Observability;
afterEach(async () => {
  await obs?.shutdown();
});

function make(): Observability {
  return createObservability({ runtimeMetrics: false, logger: false });
}

/** The rejection, boxed: resolving a promise with a Proxy would run its `then` trap. */
async function rejection(p: () => unknown): Promise<{ error: unknown }> {
  try {
    await p();
  } catch (error) {
    return { error };
  }
  throw new Error('expected a rejection');
}

describe('hostile thrown values', () => {
  const values = hostileValues();

  it.each(values)('the predicates and the error_type mapping never throw: %s', (_, v) => {
    expect(isAgentObservabilityError(v)).toBe(false);
    expect(isTimeoutError(v)).toBe(false);
    expect(isCircuitOpenError(v)).toBe(false);
    expect(typeof defaultRetryable(v)).toBe('boolean');
    expect(typeof defaultErrorType(v)).toBe('string');
  });

  it.each(values)('every wrapper rejects with the very value thrown: %s', async (_, v) => {
    obs = make();
    const thrower = async (): Promise<never> => {
      throw v;
    };
    const wrappers: [string, () => unknown][] = [
      ['instrumentTool', () => obs.instrumentTool(thrower, { tool: 't' })()],
      ['instrumentLlmCall', () => obs.instrumentLlmCall(thrower, { model: 'm' })()],
      ['circuitBreaker', () => obs.circuitBreaker(thrower, { name: 'b' }).fire()],
      ['retry', () => obs.retry(thrower, { name: 'r', maxAttempts: 2, baseDelayMs: 1 })()],
      ['timeout', () => obs.timeout(thrower, { ms: 1_000 })()],
      ['pool', () => obs.pool('p', { concurrency: 1 }).run(thrower)],
      ['policy', () => obs.policy({ name: 'pol', timeout: 1_000, retry: { maxAttempts: 2, baseDelayMs: 1 }, breaker: { volumeThreshold: 100 }, pool: { concurrency: 1 } }).execute(thrower)],
    ];
    for (const [name, call] of wrappers) {
      const { error } = await rejection(call);
      expect([name, Object.is(error, v)]).toEqual([name, true]);
    }
  });

  it('the reproductions of the report: retry with a throwing name getter, a breaker with a trapping Proxy', async () => {
    obs = make();
    const e = Object.defineProperty(new Error('m'), 'name', { get: boom });
    expect((await rejection(obs.retry(async () => { throw e; }, { name: 'r', maxAttempts: 2, baseDelayMs: 1 }))).error).toBe(e);
    const p = new Proxy(new Error('x'), { get: boom, getPrototypeOf: boom });
    expect((await rejection(() => obs.circuitBreaker(async () => { throw p; }, { name: 'b' }).fire())).error).toBe(p);
    // The breaker still counts the call as a failure.
    const exp = parseExposition((await obs.metrics()).body, 'prometheus');
    expect(getValue(exp, 'agentobs_circuit_breaker_calls_total', { breaker: 'b', outcome: 'failure' })).toBe(1);
  });
});

describe('a user callback inside a wrapper that throws', () => {
  it('a throwing errorFilter: the call is a failure, the caller gets its own error, ours is counted (opossum alone would hang)', async () => {
    obs = make();
    const e = new Error('from the action');
    const b = obs.circuitBreaker(async () => { throw e; }, { name: 'filtered', errorFilter: () => { throw new Error('filter bug'); } });
    expect((await rejection(() => b.fire())).error).toBe(e);
    const exp = parseExposition((await obs.metrics()).body, 'prometheus');
    expect(getValue(exp, 'agentobs_circuit_breaker_calls_total', { breaker: 'filtered', outcome: 'failure' })).toBe(1);
    expect(getValue(exp, 'agentobs_internal_errors_total', { component: 'breaker' })).toBe(1);
  });
});
