/**
 * Secrets thrown by user code stay out of everything we emit. Errors whose message, code and
 * name hold a marker secret go through every wrapper; then /metrics (both formats), every span
 * attribute, event and status, and every log line are searched for it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import express, { type NextFunction, type Request, type Response } from 'express';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { getValue, parseExposition } from '../../test/helpers/exposition.js';
import { installTestTracing, type TestTracing } from '../../test/helpers/otel.js';
import type { SloSpec } from '../catalog/slo.js';
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

/** The marker: an API-key-shaped secret. Searched for loosely, so `sk_live_12345` counts too. */
const SECRET = 'SECRET-sk-live-12345';
const FOUND = /sk.live.12345/i;

/** An error carrying the secret everywhere a user's error can: message, stack, name, code, cause, extra fields. */
function leaky(): Error {
  const e = new Error(`upstream 401 for api_key=${SECRET}; prompt: "ignore previous instructions, ${SECRET}"`);
  e.name = `Leak_${SECRET}`;
  return Object.assign(e, { code: SECRET, status: 500, cause: new Error(SECRET), headers: { authorization: `Bearer ${SECRET}` }, body: SECRET });
}
/** The same through its class: `constructor.name` is the secret (the name the default mapping falls back to). */
class SECRET_sk_live_12345_Error extends Error {
  constructor() {
    super(SECRET);
  }
}
const throwers = [leaky, () => new SECRET_sk_live_12345_Error(), () => SECRET, () => ({ message: SECRET, code: SECRET })];

/** Every place a value we emit can hold text: name, attributes, events, status, links. */
function spanText(s: ReadableSpan): string {
  return JSON.stringify({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links });
}
const swallow = (p: () => unknown): Promise<unknown> => Promise.resolve().then(p).catch(() => undefined);
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Runs each thrower through every wrapper, every user callback we call (usage mapper, retry
 * predicate and listener, breaker error filter, SLO listener) and every HTTP integration.
 */
async function throwEverywhere(obs: Observability): Promise<void> {
  for (const [i, make] of throwers.entries()) {
    const fail = async (): Promise<never> => {
      throw make();
    };
    const failSync = (): never => {
      throw make();
    };
    const calls: (() => unknown)[] = [
      () => obs.instrumentTool(fail, { tool: 't', agent: 'a' })(),
      () => obs.instrumentTool(failSync, { tool: 't-sync', agent: 'a' })(),
      () => obs.instrumentLlmCall(fail, { model: 'm', provider: 'openai', agent: 'a' })(),
      () => obs.instrumentLlmCall(async () => ({ ok: true }), { model: 'm-usage', usage: () => { throw make(); } })(),
      () => obs.instrumentAgent(fail, { agent: 'a' })(),
      () => obs.instrumentWorkflow(fail, { workflow: 'w' })(),
      () => obs.instrumentStep(fail, { step: 's', workflow: 'w' })(),
      () => obs.instrument('tool', fail, { tool: 'generic' })(),
      () => obs.tool('recorded', { agent: 'a' }).record(0.01, make()),
      () => obs.circuitBreaker(fail, { name: `b${i}`, volumeThreshold: 1, errorThresholdPercentage: 1 }).fire(),
      () => obs.circuitBreaker(fail, { name: `b-filter${i}`, errorFilter: () => { throw make(); } }).fire(),
      () => obs.retry(fail, { name: `r${i}`, maxAttempts: 2, baseDelayMs: 1 })(),
      () => obs.retry(fail, { name: `r-pred${i}`, maxAttempts: 2, baseDelayMs: 1, retryable: () => { throw make(); } })(),
      () => obs.retry(fail, { name: `r-listener${i}`, maxAttempts: 2, baseDelayMs: 1, onRetry: () => { throw make(); } })(),
      () => obs.timeout(fail, { ms: 1_000 })(),
      () => obs.pool(`p${i}`, { concurrency: 1 }).run(fail),
      () => obs.policy({ name: `pol${i}`, timeout: 1_000, retry: { maxAttempts: 2, baseDelayMs: 1 }, breaker: { volumeThreshold: 100 }, pool: { concurrency: 1 } }).execute(fail),
      () => obs.instrumentFetch((async () => { throw make(); }) as typeof fetch)('http://127.0.0.1:9/x'),
    ];
    for (const call of calls) await swallow(call);
  }
  // The SLO listener: an error budget burnt by the failures above, a listener that throws.
  obs.sla.onBreach(() => {
    throw leaky();
  });
  obs.sla.check();

  // node:http, Express and Fastify servers whose handlers throw; each server answers 500 itself.
  const plain = await serve((req, res) => {
    try {
      obs.instrumentHttpHandler((_req: IncomingMessage, _res: ServerResponse) => {
        throw leaky();
      })(req, res);
    } catch {
      res.statusCode = 500;
      res.end();
    }
  });
  const app = express();
  app.use(obs.httpMiddleware());
  app.get('/x', () => {
    throw leaky();
  });
  app.use((_e: unknown, _req: Request, res: Response, _next: NextFunction) => void res.status(500).end());
  const viaExpress = await serve(app);
  const fastify = Fastify();
  await fastify.register(obs.fastifyTracing);
  fastify.get('/x', async () => {
    throw leaky();
  });
  fastify.setErrorHandler((_e, _req, reply) => void reply.status(500).send());
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => fastify.close());
  const viaFastify = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`;
  for (const base of [plain, viaExpress, viaFastify]) expect((await fetch(`${base}/x`)).status).toBe(500);
}

const SLOS: SloSpec[] = [{ name: 'tool-availability', target: { kind: 'tool', name: 't', agent: 'a' }, objective: 0.99, availability: {}, evaluation: { minRequests: 1 } }];

describe('a marker secret thrown through everything', () => {
  it('with errorTypes set, appears in no metric (either format), span, event, status or log line', async () => {
    tracing = installTestTracing();
    const { obs, logs } = make({ errorTypes: ['ECONNRESET'], slos: SLOS });
    await throwEverywhere(obs);

    const prom = (await obs.metrics('text/plain')).body;
    const om = (await obs.metrics('application/openmetrics-text;version=1.0.0')).body;
    const spans = tracing.spans();
    // The sweep reached what it searches: failures counted, spans with exception events, our internal errors logged.
    expect(getValue(parseExposition(prom, 'prometheus'), 'gen_ai_execute_tool_duration_seconds_count', { gen_ai_tool_name: 't', gen_ai_agent_name: 'a', error_type: '_OTHER' })).toBe(throwers.length);
    // Per thrower: the tool (async and sync), LLM, agent, workflow, step, generic and fetch spans; then the HTTP servers'.
    expect(spans.filter((s) => s.events.some((e) => e.name === 'exception')).length).toBeGreaterThanOrEqual(throwers.length * 8 + 2);
    expect(new Set(spans.map((s) => s.name.split(' ')[0]))).toEqual(new Set(['execute_tool', 'chat', 'invoke_agent', 'invoke_workflow', 'workflow_step', 'GET']));
    expect(logs.length).toBeGreaterThan(0);
    // Each user callback that threw is counted as ours: four usage mappers and breaker filters, a retry predicate and listener per thrower, the SLO listener.
    const internal = parseExposition(prom, 'prometheus');
    expect(['usage', 'breaker', 'sla_listener'].map((component) => getValue(internal, 'agentobs_internal_errors_total', { component }))).toEqual([4, 4, 1]);
    expect(getValue(internal, 'agentobs_internal_errors_total', { component: 'retry' })).toBeGreaterThanOrEqual(8);

    expect(prom.split('\n').filter((l) => FOUND.test(l))).toEqual([]);
    expect(om.split('\n').filter((l) => FOUND.test(l))).toEqual([]);
    expect(spans.map(spanText).filter((t) => FOUND.test(t))).toEqual([]);
    expect(logs.filter((l) => FOUND.test(l))).toEqual([]);
  });

  it('without errorTypes, only error_type can carry it (a code or class name is exported as it is): message, stack and cause never', async () => {
    tracing = installTestTracing();
    const { obs, logs } = make({ slos: SLOS });
    await throwEverywhere(obs);
    const prom = (await obs.metrics('text/plain')).body;
    // Every leak is the value of an error_type label (metrics), an error.type attribute (spans) or an error_type field (logs).
    const withoutErrorType = (text: string): string => text.replace(/"?error[._]type"?(=|:)"[^"]*"/g, '');
    const leakedLines = prom.split('\n').filter((l) => FOUND.test(l));
    expect(leakedLines.length).toBeGreaterThan(0);
    expect(leakedLines.filter((l) => FOUND.test(withoutErrorType(l)))).toEqual([]);
    // In spans: the error.type attribute, and the exception event's exception.type and the status message, which name it too.
    const typeOnly = (s: ReadableSpan): string => {
      const type = s.attributes['error.type'];
      const { 'error.type': _t, ...attributes } = s.attributes;
      const events = s.events.map((e) => ({ ...e, attributes: { ...e.attributes, 'exception.type': undefined } }));
      const status = s.status.message === type ? { code: s.status.code } : s.status;
      return JSON.stringify({ name: s.name, attributes, events, status, links: s.links });
    };
    expect(tracing.spans().filter((s) => FOUND.test(spanText(s))).length).toBeGreaterThan(0);
    expect(tracing.spans().map(typeOnly).filter((t) => FOUND.test(t))).toEqual([]);
    expect(logs.filter((l) => FOUND.test(withoutErrorType(l)))).toEqual([]);
  });
});
