import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import pino from 'pino';
import { describe, expectTypeOf, it } from 'vitest';
import { createObservability, type HttpMiddleware, type LogFields, type TraceIds } from 'agent-observability';
import { startTracing, type StartTracingOptions, type TracingSdk } from 'agent-observability/tracing-sdk';

const obs = createObservability({ runtimeMetrics: false, logger: false, tracing: { correlationHeader: 'x-request-id' } });

describe('tracing types', () => {
  it('withCorrelation returns what the function returns, sync or async', () => {
    expectTypeOf(obs.withCorrelation('id', () => 1)).toEqualTypeOf<number>();
    expectTypeOf(obs.withCorrelation(undefined, async () => 'x')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(obs.correlationId()).toEqualTypeOf<string | undefined>();
    expectTypeOf(obs.traceIds()).toEqualTypeOf<TraceIds | undefined>();
  });

  it('log fields fit pino’s mixin', () => {
    expectTypeOf(obs.logFields()).toEqualTypeOf<LogFields>();
    pino({ mixin: obs.pinoMixin });
  });

  it('injectHeaders and instrumentFetch give back the type they were given', () => {
    expectTypeOf(obs.injectHeaders({ a: 'b' })).toEqualTypeOf<{ a: string }>();
    expectTypeOf(obs.injectHeaders(new Headers())).toEqualTypeOf<Headers>();
    expectTypeOf(obs.instrumentFetch()).toEqualTypeOf<typeof fetch>();
    const custom = async (input: string | URL | Request, _init?: RequestInit): Promise<Response> => new Response(String(input));
    expectTypeOf(obs.instrumentFetch(custom)).toEqualTypeOf(custom);
  });

  it('the middleware fits node:http, Express and Fastify', () => {
    const handler = (_req: IncomingMessage, res: ServerResponse): void => void res.end();
    expectTypeOf(obs.instrumentHttpHandler(handler, { routes: ['/'] })).toEqualTypeOf(handler);
    expectTypeOf(obs.httpMiddleware()).toEqualTypeOf<HttpMiddleware>();
    express().use(obs.httpMiddleware({ ignore: (req) => req.url === '/metrics' }));
    void Fastify().register(obs.fastifyTracing, { routes: ['/x'] });
  });

  it('startTracing takes an exporter name or object and returns a handle', () => {
    expectTypeOf(startTracing).parameter(0).toEqualTypeOf<StartTracingOptions>();
    expectTypeOf(startTracing).returns.toEqualTypeOf<TracingSdk>();
    // @ts-expect-error: unknown exporter names do not compile
    startTracing({ serviceName: 's', exporter: 'jaeger' });
  });
});
