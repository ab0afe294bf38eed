import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { installTestTracing, parentId, type TestTracing } from '../../test/helpers/otel.js';
import { createObservability, type Observability } from '../index.js';

let tracing: TestTracing | undefined;
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
  await tracing?.uninstall();
  tracing = undefined;
});

function make(): Observability {
  const obs = createObservability({ runtimeMetrics: false, logger: false });
  cleanup.push(() => obs.shutdown());
  return obs;
}

/** A server that answers with the headers it received; `/status/N` answers N. */
async function echo(): Promise<string> {
  const server = createServer((req, res) => {
    const m = /^\/status\/(\d+)/.exec(req.url ?? '');
    res.writeHead(m ? Number(m[1]) : 200, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('obs.instrumentFetch()', () => {
  it('runs each request in a CLIENT span and propagates it, with the correlation ID', async () => {
    tracing = installTestTracing();
    const obs = make();
    const f = obs.instrumentFetch();
    const url = await echo();
    const parent = trace.getTracer('t').startSpan('parent');
    const got = await obs.withCorrelation('c-9', () =>
      trace.getTracer('t').startActiveSpan('outer', async (outer) => {
        const res = await f(`${url}/a/b?token=secret`, { method: 'post', headers: { 'x-keep': '1' }, body: 'x' });
        outer.end();
        return (await res.json()) as IncomingHttpHeaders;
      }),
    );
    parent.end();
    const client = tracing.spans().find((s) => s.kind === SpanKind.CLIENT)!;
    const outer = tracing.spans().find((s) => s.name === 'outer')!;
    expect(client.name).toBe('POST');
    expect(parentId(client)).toBe(outer.spanContext().spanId);
    expect(got.traceparent).toBe(`00-${client.spanContext().traceId}-${client.spanContext().spanId}-01`);
    expect(got['x-correlation-id']).toBe('c-9');
    expect(got['x-keep']).toBe('1');
    const port = Number(new URL(url).port);
    expect(client.attributes).toEqual({
      'http.request.method': 'POST', 'url.full': `${url}/a/b`, 'server.address': '127.0.0.1', 'server.port': port,
      'agentobs.correlation_id': 'c-9', 'http.response.status_code': 200,
    });
    expect(JSON.stringify(client.attributes)).not.toContain('secret');
  });

  it('marks 4xx/5xx and network errors as errors, and returns or rethrows exactly what fetch did', async () => {
    tracing = installTestTracing();
    const obs = make();
    const f = obs.instrumentFetch();
    const url = await echo();
    expect((await f(`${url}/status/503`)).status).toBe(503);
    // A port nobody listens on any more.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await f(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    const [s503, refused] = tracing.spans();
    expect(s503?.status).toEqual({ code: SpanStatusCode.ERROR, message: '503' });
    expect(s503?.attributes['error.type']).toBe('503');
    expect(refused?.status.code).toBe(SpanStatusCode.ERROR);
    expect(refused?.attributes['error.type']).toBe('ECONNREFUSED');
    expect(refused?.events[0]?.attributes?.['exception.type']).toBe('TypeError');
  });

  it('accepts a Request, and a custom fetch implementation', async () => {
    tracing = installTestTracing();
    const obs = make();
    const seen: Headers[] = [];
    const custom = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      seen.push(new Headers(init?.headers));
      return new Response(input instanceof Request ? input.url : String(input));
    };
    const f = obs.instrumentFetch(custom);
    await obs.withCorrelation('r', () => f(new Request('http://example.test/x', { headers: { a: 'b' } })));
    expect(seen[0]?.get('a')).toBe('b');
    expect(seen[0]?.get('x-correlation-id')).toBe('r');
    expect(seen[0]?.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(tracing.spans()[0]?.attributes['server.port']).toBe(80);
  });

  it('with no tracer provider only adds the correlation header (and a passed-through traceparent)', async () => {
    const obs = make();
    const f = obs.instrumentFetch();
    const url = await echo();
    const outside = (await (await f(url)).json()) as IncomingHttpHeaders;
    expect(outside['x-correlation-id']).toBeUndefined();
    expect(outside.traceparent).toBeUndefined();
    const inside = (await obs.withCorrelation('n-1', async () => (await f(url)).json())) as IncomingHttpHeaders;
    expect(inside['x-correlation-id']).toBe('n-1');
    expect(inside.traceparent).toBeUndefined();
  });

  it('obs.injectHeaders writes into Headers and plain objects, replacing differently-cased copies', () => {
    tracing = installTestTracing();
    const obs = make();
    obs.withCorrelation('i-1', () =>
      trace.getTracer('t').startActiveSpan('s', (span) => {
        const h = obs.injectHeaders(new Headers());
        expect(h.get('traceparent')).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
        expect(h.get('x-correlation-id')).toBe('i-1');
        const o = obs.injectHeaders({ 'X-Correlation-ID': 'stale', other: 'kept' });
        expect(o).toEqual({ 'x-correlation-id': 'i-1', other: 'kept', traceparent: h.get('traceparent') });
        span.end();
      }),
    );
    expect(() => obs.injectHeaders(null as never)).toThrow('injectHeaders');
  });
});
