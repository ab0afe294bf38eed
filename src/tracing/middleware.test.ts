import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { context, propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { findSamples, getValue, parseExposition, type ParsedExposition } from '../../test/helpers/exposition.js';
import { installTestTracing, parentId, type TestTracing } from '../../test/helpers/otel.js';
import { createObservability, type Observability, type ObservabilityOptions } from '../index.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const DURATION = 'http_server_request_duration_seconds';

let tracing: TestTracing | undefined;
const cleanup: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
  await tracing?.uninstall();
  tracing = undefined;
});

interface Warned {
  readonly details: Record<string, unknown>;
  readonly message: string;
}

function make(o: ObservabilityOptions = {}): { obs: Observability; warned: Warned[] } {
  const warned: Warned[] = [];
  const obs = createObservability({ runtimeMetrics: false, logger: { warn: (details, message) => void warned.push({ details, message }) }, ...o });
  cleanup.push(() => obs.shutdown());
  return { obs, warned };
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, options: { insecureHTTPParser?: boolean } = {}): Promise<string> {
  const server: Server = createServer(options, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Sends raw bytes (what fetch refuses to send) and returns the raw response. */
function raw(url: string, request: Buffer | string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), '127.0.0.1', () => sock.write(request));
    let out = '';
    sock.setEncoding('latin1').on('data', (d: string) => (out += d));
    sock.on('end', () => resolve(out)).on('error', reject);
  });
}

function header(rawResponse: string, name: string): string | undefined {
  return new RegExp(`^${name}: (.*)\\r$`, 'im').exec(rawResponse)?.[1];
}

async function metrics(obs: Observability): Promise<{ text: string; exp: ParsedExposition }> {
  const text = (await obs.metrics('application/openmetrics-text')).body;
  return { text, exp: parseExposition(text, 'openmetrics') };
}

/** A node:http app: `/hello` answers with the log fields seen inside the handler, after an await. */
function helloHandler(obs: Observability) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      await new Promise((r) => setTimeout(r, 1));
      const url = req.url ?? '';
      if (url.startsWith('/hello')) {
        const out: Record<string, string> = {};
        propagation.inject(context.active(), out);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ fields: obs.logFields(), injected: obs.injectHeaders({}), out }));
      } else if (url.startsWith('/fail')) res.writeHead(503).end('down');
      else if (url.startsWith('/slow')) setTimeout(() => res.end('late'), 200);
      else res.writeHead(404).end('no');
    })();
  };
}

describe('node:http: obs.instrumentHttpHandler', () => {
  it('keeps a valid correlation ID: response header, handler context, span, metric', async () => {
    tracing = installTestTracing();
    const { obs } = make();
    const url = await listen(obs.instrumentHttpHandler(helloHandler(obs), { routes: ['/hello'] }));
    const res = await fetch(`${url}/hello?user=42`, { headers: { 'x-correlation-id': 'req-1', traceparent: `00-${TRACE}-${PARENT}-01` } });
    expect(res.headers.get('x-correlation-id')).toBe('req-1');
    const body = (await res.json()) as { fields: Record<string, string>; injected: Record<string, string> };

    const [server] = tracing.spans();
    expect(server?.name).toBe('GET /hello');
    expect(server?.kind).toBe(SpanKind.SERVER);
    expect(server?.spanContext().traceId).toBe(TRACE);
    expect(parentId(server!)).toBe(PARENT);
    expect(server?.attributes).toEqual({
      'http.request.method': 'GET', 'url.path': '/hello', 'url.scheme': 'http', 'agentobs.correlation_id': 'req-1',
      'http.route': '/hello', 'http.response.status_code': 200,
    });
    expect(body.fields).toEqual({ correlation_id: 'req-1', trace_id: TRACE, span_id: server?.spanContext().spanId });
    expect(body.injected).toEqual({ traceparent: `00-${TRACE}-${server?.spanContext().spanId}-01`, 'x-correlation-id': 'req-1' });

    const { exp } = await metrics(obs);
    const count = findSamples(exp, `${DURATION}_count`);
    expect(count.map((s) => [s.labels, s.value])).toEqual([
      [{ http_request_method: 'GET', http_route: '/hello', http_response_status_code: '200', error_type: '' }, 1],
    ]);
    const ex = findSamples(exp, `${DURATION}_bucket`).filter((s) => s.exemplar !== undefined);
    expect(ex.map((s) => s.exemplar?.labels)).toEqual([{ trace_id: TRACE, span_id: server?.spanContext().spanId }]);
  });

  it('generates a UUIDv7 when the header is absent, one per request', async () => {
    const { obs } = make();
    const url = await listen(obs.instrumentHttpHandler(helloHandler(obs), { routes: ['/hello'] }));
    const ids = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await fetch(`${url}/hello`);
        const id = res.headers.get('x-correlation-id');
        expect(((await res.json()) as { fields: { correlation_id: string } }).fields.correlation_id).toBe(id);
        return id;
      }),
    );
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect(new Set(ids).size).toBe(20);
  });

  it('uses the configured header name, in and out', async () => {
    const { obs } = make({ tracing: { correlationHeader: 'X-Request-ID' } });
    const url = await listen(obs.instrumentHttpHandler(helloHandler(obs)));
    const res = await fetch(`${url}/hello`, { headers: { 'x-request-id': 'abc' } });
    expect(res.headers.get('x-request-id')).toBe('abc');
    expect(res.headers.get('x-correlation-id')).toBeNull();
    expect(((await res.json()) as { injected: Record<string, string> }).injected).toEqual({ 'x-request-id': 'abc' });
  });

  it('labels by route template, never the raw URL: unknown routes and methods are _OTHER; 5xx sets error_type', async () => {
    tracing = installTestTracing();
    const { obs } = make();
    const url = await listen(obs.instrumentHttpHandler(helloHandler(obs), { routes: ['/hello', '/fail'] }));
    await (await fetch(`${url}/users/12345/secret-token`)).text();
    await (await fetch(`${url}/fail`)).text();
    await (await fetch(`${url}/hello`, { method: 'PURGE' })).text();
    const { exp, text } = await metrics(obs);
    expect(text).not.toContain('12345');
    expect(findSamples(exp, `${DURATION}_count`).map((s) => s.labels)).toEqual([
      { http_request_method: 'GET', http_route: '_OTHER', http_response_status_code: '404', error_type: '' },
      { http_request_method: 'GET', http_route: '/fail', http_response_status_code: '503', error_type: '503' },
      { http_request_method: '_OTHER', http_route: '/hello', http_response_status_code: '200', error_type: '' },
    ]);
    const names = tracing.spans().map((s) => s.name);
    expect(names).toEqual(['GET', 'GET /fail', 'HTTP /hello']);
    const fail = tracing.spans()[1]!;
    expect(fail.status).toEqual({ code: SpanStatusCode.ERROR, message: '503' });
    expect(fail.attributes['error.type']).toBe('503');
  });

  it('records a request the client abandoned as error_type="aborted" without a status', async () => {
    const { obs } = make();
    const url = await listen(obs.instrumentHttpHandler(helloHandler(obs), { routes: ['/slow'] }));
    const ctrl = new AbortController();
    const p = fetch(`${url}/slow`, { signal: ctrl.signal });
    await new Promise((r) => setTimeout(r, 50));
    ctrl.abort();
    await expect(p).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 250));
    expect(findSamples((await metrics(obs)).exp, `${DURATION}_count`).map((s) => s.labels)).toEqual([
      { http_request_method: 'GET', http_route: '/slow', http_response_status_code: '', error_type: 'aborted' },
    ]);
  });

  it('leaves ignored requests alone', async () => {
    tracing = installTestTracing();
    const { obs } = make();
    const url = await listen(obs.instrumentHttpHandler(helloHandler(obs), { ignore: (req) => req.url === '/hello' }));
    const res = await fetch(`${url}/hello`, { headers: { 'x-correlation-id': 'abc' } });
    expect(res.headers.get('x-correlation-id')).toBeNull();
    expect(((await res.json()) as { fields: unknown }).fields).toEqual({});
    expect(tracing.spans()).toEqual([]);
    expect(findSamples((await metrics(obs)).exp, `${DURATION}_count`)).toEqual([]);
  });

  it('with no tracer provider, passes a valid traceparent through and logs its trace ID', async () => {
    const { obs } = make();
    const url = await listen(obs.instrumentHttpHandler(helloHandler(obs)));
    const tp = `00-${TRACE}-${PARENT}-01`;
    const res = await fetch(`${url}/hello`, { headers: { 'x-correlation-id': 'c1', traceparent: tp, tracestate: 'vendor=x' } });
    const body = (await res.json()) as { fields: Record<string, string>; injected: Record<string, string> };
    expect(body.fields).toEqual({ correlation_id: 'c1', trace_id: TRACE });
    expect(body.injected).toEqual({ 'x-correlation-id': 'c1', traceparent: tp, tracestate: 'vendor=x' });

    const bad = await fetch(`${url}/hello`, { headers: { traceparent: `00-${TRACE}-${PARENT}-01-extra`, tracestate: 'a=b' } });
    const b = (await bad.json()) as { fields: Record<string, string>; injected: Record<string, string> };
    expect(b.fields.trace_id).toBeUndefined();
    expect(Object.keys(b.injected)).toEqual(['x-correlation-id']);
  });
});

describe('hostile correlation headers never reach a response header, a log line or a label unchanged', () => {
  const hostile = {
    oversized: 'A'.repeat(10_000),
    'control characters': 'id\u0001\u0007\u001b[31mred',
    unicode: 'идентификатор-😀-\u202egnp.exe',
    CRLF: 'id\r\nSet-Cookie: session=stolen',
  };

  async function check(
    obs: Observability, warned: Warned[], responseId: string | undefined, value: string, reason: string, source = 'x-correlation-id',
  ): Promise<void> {
    expect(responseId).toMatch(UUID_V7);
    const { text, exp } = await metrics(obs);
    expect(text).not.toContain(value.slice(0, 16));
    expect(getValue(exp, 'agentobs_correlation_ids_replaced_total', { reason })).toBe(1);
    const logged = JSON.stringify(warned);
    expect(logged).not.toContain(value.slice(0, 16));
    expect(warned).toHaveLength(1);
    expect(warned[0]?.details).toMatchObject({ component: 'tracing', source, reason, length: value.length });
  }

  it('oversized: over the wire', async () => {
    const { obs, warned } = make();
    const url = await listen(obs.instrumentHttpHandler(helloHandler(obs)));
    const res = await fetch(`${url}/hello`, { headers: { 'x-correlation-id': hostile.oversized } });
    const body = (await res.json()) as { fields: Record<string, string> };
    expect(body.fields.correlation_id).toBe(res.headers.get('x-correlation-id'));
    await check(obs, warned, res.headers.get('x-correlation-id') ?? undefined, hostile.oversized, 'too_long');
  });

  it('unicode: raw UTF-8 bytes over the wire', async () => {
    const { obs, warned } = make();
    const url = await listen(obs.instrumentHttpHandler(helloHandler(obs)));
    const out = await raw(url, Buffer.concat([
      Buffer.from('GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-correlation-id: '),
      Buffer.from(hostile.unicode, 'utf8'),
      Buffer.from('\r\n\r\n'),
    ]));
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    // node:http decodes header bytes as latin1; the mojibake must not come back either.
    expect(out).not.toContain(Buffer.from(hostile.unicode, 'utf8').toString('latin1').slice(0, 8));
    await check(obs, warned, header(out, 'x-correlation-id'), Buffer.from(hostile.unicode, 'utf8').toString('latin1'), 'invalid');
  });

  it('control characters: accepted by a lenient parser (insecureHTTPParser), still replaced', async () => {
    const { obs, warned } = make();
    const url = await listen(obs.instrumentHttpHandler(helloHandler(obs)), { insecureHTTPParser: true });
    const out = await raw(url, `GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-correlation-id: ${hostile['control characters']}\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    expect(out).not.toContain('\u001b[31m');
    await check(obs, warned, header(out, 'x-correlation-id'), hostile['control characters'], 'invalid');
  });

  it('CRLF: node:http refuses it on the wire (400 before any handler); a value that got through anyway is replaced', async () => {
    const { obs, warned } = make();
    const handler = obs.instrumentHttpHandler(helloHandler(obs));
    const url = await listen(handler);
    const out = await raw(url, `GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-correlation-id: id\rSet-Cookie: x\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 400/);

    // A proxy or a lenient parser in front could hand us one: call the middleware directly.
    const headers: Record<string, string> = {};
    const fakeRes = {
      headersSent: false,
      setHeader: (k: string, v: string) => void (headers[k] = v),
      once: () => fakeRes,
    } as unknown as ServerResponse;
    const fakeReq = { method: 'GET', url: '/hello', headers: { 'x-correlation-id': hostile.CRLF }, socket: {} } as unknown as IncomingMessage;
    let seen: unknown;
    obs.httpMiddleware()(fakeReq, fakeRes, () => (seen = obs.correlationId()));
    expect(seen).toBe(headers['x-correlation-id']);
    await check(obs, warned, headers['x-correlation-id'], hostile.CRLF, 'invalid');
  });

  it('obs.withCorrelation replaces invalid IDs the same way', async () => {
    const { obs, warned } = make();
    const got = obs.withCorrelation(hostile.CRLF, () => obs.correlationId());
    await check(obs, warned, got, hostile.CRLF, 'invalid', 'withCorrelation');
    expect(obs.withCorrelation(undefined, () => obs.correlationId())).toMatch(UUID_V7);
    // Inside a scope, undefined keeps the scope's ID; an explicit one starts a nested scope.
    expect(obs.withCorrelation('outer', () => obs.withCorrelation(undefined, () => obs.correlationId()))).toBe('outer');
    expect(obs.withCorrelation('outer', () => [obs.withCorrelation('inner', () => obs.correlationId()), obs.correlationId()])).toEqual(['inner', 'outer']);
    expect(obs.withCorrelation('ok.id:1-2_3', () => obs.correlationId())).toBe('ok.id:1-2_3');
    expect(obs.correlationId()).toBeUndefined();
  });

  it('hostile route templates are sanitized in the label', async () => {
    const { obs } = make();
    const url = await listen(obs.instrumentHttpHandler(helloHandler(obs), { route: () => `/evil\u0000"} 1\n# EOF\n${'x'.repeat(500)}` }));
    await (await fetch(`${url}/hello`)).text();
    const { exp } = await metrics(obs);
    const [s] = findSamples(exp, `${DURATION}_count`);
    expect(s?.labels.http_route).toMatch(/^\/evil_"\} 1_# EOF_x+$/);
    expect(s?.labels.http_route?.length).toBe(128);
  });
});

describe('Express 5: app.use(obs.httpMiddleware())', () => {
  it('labels by the matched route template, mounted routers included, and keeps the context across awaits', async () => {
    tracing = installTestTracing();
    const { obs } = make();
    const app = express();
    app.use(obs.httpMiddleware());
    const api = express.Router();
    api.get('/items/:id', async (_req, res) => {
      await new Promise((r) => setTimeout(r, 2));
      res.json(obs.logFields());
    });
    app.use('/api', api);
    app.get('/users/:id', (_req, res) => void res.json(obs.logFields()));
    const url = await listen(app);

    const a = await fetch(`${url}/api/items/9?x=1`, { headers: { 'x-correlation-id': 'e-1' } });
    const fields = (await a.json()) as Record<string, string>;
    expect(fields.correlation_id).toBe('e-1');
    await (await fetch(`${url}/users/7`)).text();
    await (await fetch(`${url}/nothing/here`)).text();

    const routes = findSamples((await metrics(obs)).exp, `${DURATION}_count`).map((s) => `${s.labels.http_route} ${s.labels.http_response_status_code}`);
    expect(routes).toEqual(['/api/items/:id 200', '/users/:id 200', '_OTHER 404']);
    const spans = tracing.spans();
    expect(spans.map((s) => s.name)).toEqual(['GET /api/items/:id', 'GET /users/:id', 'GET']);
    expect(fields.span_id).toBe(spans[0]?.spanContext().spanId);
  });
});

describe('Fastify 5: app.register(obs.fastifyTracing)', () => {
  it('keeps the context through body parsing into the handler, labels by route, records handler errors', async () => {
    tracing = installTestTracing();
    const { obs } = make();
    const app = Fastify();
    await app.register(obs.fastifyTracing);
    app.post('/items/:id', async (req) => ({ fields: obs.logFields(), body: req.body }));
    app.get('/boom', async () => {
      throw new RangeError('kaput');
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => app.close());
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    const res = await fetch(`${url}/items/3`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-correlation-id': 'f-1' }, body: JSON.stringify({ a: 1 }),
    });
    expect(res.headers.get('x-correlation-id')).toBe('f-1');
    const out = (await res.json()) as { fields: Record<string, string>; body: unknown };
    expect(out.body).toEqual({ a: 1 });
    expect((await fetch(`${url}/boom`)).status).toBe(500);
    await (await fetch(`${url}/missing`)).text();

    const spans = tracing.spans();
    expect(spans.map((s) => s.name)).toEqual(['POST /items/:id', 'GET /boom', 'GET']);
    expect(out.fields).toEqual({ correlation_id: 'f-1', trace_id: spans[0]?.spanContext().traceId, span_id: spans[0]?.spanContext().spanId });
    expect(spans[1]?.status.code).toBe(SpanStatusCode.ERROR);
    // No message by default (tracing.exceptionMessages): the type says what failed.
    expect(spans[1]?.events[0]?.attributes).toEqual({ 'exception.type': 'RangeError' });
    const labels = findSamples((await metrics(obs)).exp, `${DURATION}_count`).map((s) => `${s.labels.http_route} ${s.labels.http_response_status_code} ${s.labels.error_type}`);
    expect(labels).toEqual(['/items/:id 200 ', '/boom 500 500', '_OTHER 404 ']);
  });
});
