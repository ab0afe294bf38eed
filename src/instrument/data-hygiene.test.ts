/**
 * Secrets thrown by user code stay out of everything we emit. Errors whose message, code and
 * name hold a marker secret go through every wrapper; then /metrics (both formats), every span
 * attribute, event and status, and every log line are searched for it.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { getValue, parseExposition } from '../../test/helpers/exposition.js';
import { installTestTracing, type TestTracing } from '../../test/helpers/otel.js';
import { isConfigError } from '../errors.js';
import { createObservability, type Observability, type ObservabilityOptions } from '../observability.js';


let tracing: TestTracing | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await tracing?.uninstall();
  tracing = undefined;
});

function make(o: ObservabilityOptions = {}): { obs: Observability; logs: string[] } {
  const logs: string[] = [];
  const obs = createObservability({
    registry: new Registry(),
    runtimeMetrics: false,
    logger: { warn: (details, message) => void logs.push(JSON.stringify([details, message])) },
    ...o,
  });
  cleanups.push(() => obs.shutdown());
  return { obs, logs };
}

describe('errorTypes', () => {
  it('keeps listed values and ours, turns the rest into _OTHER, in metrics and span error.type alike', async () => {
    tracing = installTestTracing();
    const { obs } = make({ errorTypes: ['RateLimitError', 'ECONNRESET'] });
    const fail = (e: unknown) => obs.instrumentTool(async () => Promise.reject(e), { tool: 't' })().catch(() => undefined);
    class RateLimitError extends Error {}
    await fail(new RateLimitError('x'));
    await fail(Object.assign(new Error('y'), { code: 'ECONNRESET' }));
    await fail(new TypeError('z'));
    await obs.timeout(() => new Promise((r) => setTimeout(r, 50)), { ms: 1 })().catch(() => undefined);
    const exp = parseExposition((await obs.metrics()).body, 'prometheus');
    const count = (error_type: string) => getValue(exp, 'gen_ai_execute_tool_duration_seconds_count', { gen_ai_tool_name: 't', gen_ai_agent_name: '', error_type });
    expect([count('RateLimitError'), count('ECONNRESET'), count('_OTHER')]).toEqual([1, 1, 1]);
    expect(tracing.spans().filter((s) => s.name === 'execute_tool t').map((s) => s.attributes['error.type'])).toEqual(['RateLimitError', 'ECONNRESET', '_OTHER']);
    await new Promise((r) => setTimeout(r, 60));
  });

  it.each([[['ok', 'has space'], 'errorTypes[1]'], ['RateLimitError', 'errorTypes'], [[''], 'errorTypes[0]'], [[42], 'errorTypes[0]']] as const)(
    '%j is a ConfigError at %s',
    (errorTypes, path) => {
      let err: unknown;
      try {
        make({ errorTypes: errorTypes as never });
      } catch (e) {
        err = e;
      }
      expect(isConfigError(err)).toBe(true);
      expect((err as { path: string }).path).toBe(path);
    },
  );
});
