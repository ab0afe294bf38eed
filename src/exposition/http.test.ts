import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { getValue, parseExposition, withoutScrapeCounts } from '../../test/helpers/exposition.js';
import { createObservability, type Observability } from '../observability.js';
import { VERSION } from '../version.js';
import { CONTENT_TYPES } from './format.js';

const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function make(): Observability {
  const obs = createObservability({ runtimeMetrics: false, logger: false });
  cleanups.push(() => obs.shutdown());
  obs.tool('web_search').run(() => 1);
  return obs;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection (no keep-alive pool left behind). */
function send(url: string, method = 'GET', headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The behaviour every /metrics endpoint must have, whatever serves it. */
async function expectMetricsEndpoint(url: string): Promise<void> {
  const text = await send(url);
  expect(text.status).toBe(200);
  expect(text.headers['content-type']).toBe(CONTENT_TYPES.prometheus);
  const t = parseExposition(text.body, 'prometheus');
  expect(getValue(t, 'agentobs_build_info', { version: VERSION })).toBe(1);
  expect(getValue(t, 'gen_ai_execute_tool_duration_seconds_count', { gen_ai_tool_name: 'web_search', gen_ai_agent_name: '', error_type: '' })).toBe(1);

  const om = await send(url, 'GET', { Accept: PROMETHEUS_ACCEPT });
  expect(om.status).toBe(200);
  expect(om.headers['content-type']).toBe(CONTENT_TYPES.openmetrics);
  expect(om.body.endsWith('# EOF\n')).toBe(true);
  expect(getValue(parseExposition(om.body, 'openmetrics'), 'agentobs_build_info', { version: VERSION })).toBe(1);

  const head = await send(url, 'HEAD', { Accept: 'application/openmetrics-text' });
  expect(head.status).toBe(200);
  expect(head.headers['content-type']).toBe(CONTENT_TYPES.openmetrics);
  expect(head.body).toBe('');
}

describe('obs.metricsHandler() on node:http', () => {
  it('serves GET with the negotiated content type, HEAD without a body', async () => {
    const obs = make();
    const url = await serve(createServer(obs.metricsHandler()));
    await expectMetricsEndpoint(`${url}/metrics`);
    const res = await send(`${url}/metrics`);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it.each(['POST', 'PUT', 'DELETE'])('answers %s with 405 and an Allow header', async (method) => {
    const url = await serve(createServer(make().metricsHandler()));
    const res = await send(`${url}/metrics`, method);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('answers 500 when serialization fails, and counts it', async () => {
    const obs = make();
    const url = await serve(createServer(obs.metricsHandler()));
    const original = obs.registry.getMetricsAsArray.bind(obs.registry);
    obs.registry.getMetricsAsArray = () => {
      throw new Error('registry broke');
    };
    const res = await send(`${url}/metrics`);
    obs.registry.getMetricsAsArray = original;
    expect(res.status).toBe(500);
    expect(res.body).not.toContain('registry broke');
    const exp = parseExposition((await obs.metrics()).body, 'prometheus');
    expect(getValue(exp, 'agentobs_internal_errors_total', { component: 'exposition' })).toBe(1);
  });
});

describe('Express 5', () => {
  it('mounts the handler with app.get("/metrics", obs.metricsHandler())', async () => {
    const obs = make();
    const app = express();
    app.get('/metrics', obs.metricsHandler());
    app.get('/health', (_req, res) => {
      res.send('ok');
    });
    const url = await serve(createServer(app));
    await expectMetricsEndpoint(`${url}/metrics`);
    expect((await send(`${url}/health`)).body).toBe('ok');
  });
});

describe('Fastify 5', () => {
  it('serves /metrics via app.register(obs.fastifyPlugin)', async () => {
    const obs = make();
    const app = Fastify();
    cleanups.push(() => app.close());
    await app.register(obs.fastifyPlugin);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    await expectMetricsEndpoint(`${url}/metrics`);
    expect((await send(`${url}/metrics`)).headers['cache-control']).toBe('no-store');
  });

  it('honours the path option', async () => {
    const obs = make();
    const app = Fastify();
    cleanups.push(() => app.close());
    await app.register(obs.fastifyPlugin, { path: '/m' });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    await expectMetricsEndpoint(`${url}/m`);
    expect((await send(`${url}/metrics`)).status).toBe(404);
  });

  it('works through app.inject() too', async () => {
    const obs = make();
    const app = Fastify();
    cleanups.push(() => app.close());
    await app.register(obs.fastifyPlugin);
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { accept: PROMETHEUS_ACCEPT } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(CONTENT_TYPES.openmetrics);
    parseExposition(res.body, 'openmetrics');
  });
});

describe('obs.listen()', () => {
  it('starts a standalone server on a free port and reports its url', async () => {
    const obs = make();
    const server = await obs.listen({ port: 0 });
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
    await expectMetricsEndpoint(server.url);
    expect((await send(`${server.url}?debug=1`)).status).toBe(200);
    const other = await send(`http://127.0.0.1:${server.port}/other`);
    expect(other.status).toBe(404);
    expect(other.body).not.toContain('agentobs');
    expect((await send(`http://127.0.0.1:${server.port}/metrics/extra`)).status).toBe(404);
  });

  it('serves a custom path', async () => {
    const obs = make();
    const server = await obs.listen({ port: 0, path: '/internal/metrics' });
    expect(server.url.endsWith('/internal/metrics')).toBe(true);
    await expectMetricsEndpoint(server.url);
    expect((await send(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(404);
  });

  it('is closed by obs.shutdown(), and close() on its own works too', async () => {
    const obs = make();
    const a = await obs.listen({ port: 0 });
    const b = await obs.listen({ port: 0 });
    await b.close();
    await expect(send(b.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await send(a.url)).status).toBe(200);
    await obs.shutdown();
    await expect(send(a.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('close() ends a connection still sending its request headers, and lets a scrape in flight finish', async () => {
    const obs = make();
    const server = await obs.listen({ port: 0 });
    const slow = connect(server.port, '127.0.0.1');
    await once(slow, 'connect');
    slow.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const ended = once(slow, 'close');
    // A scrape whose response is under way when close() is called.
    const res = await new Promise<IncomingMessage>((resolve, reject) => request(server.url, { agent: false }, resolve).on('error', reject).end());
    await server.close();
    await ended;
    let body = '';
    for await (const chunk of res) body += String(chunk);
    expect([res.statusCode, body.includes('agentobs_scrapes_total')]).toEqual([200, true]);
  });

  it('rejects (does not throw synchronously) when the port is taken', async () => {
    const obs = make();
    const a = await obs.listen({ port: 0 });
    await expect(obs.listen({ port: a.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('a large exposition, written chunk by chunk', () => {
  it('comes out over node:http and Fastify byte for byte as obs.metrics() has it', async () => {
    const obs = createObservability({ runtimeMetrics: false, logger: false, cardinality: { maxSeriesPerMetric: 5_000, maxValuesPerLabel: 5_000 } });
    cleanups.push(() => obs.shutdown());
    // ~3,000 histogram series: several hundred KB, many chunks.
    for (let i = 0; i < 3_000; i++) obs.tool(`tool_${i}`, { agent: 'é"agent' }).record((i % 40) / 10);
    const expected = {
      text: withoutScrapeCounts((await obs.metrics('text/plain')).body),
      om: withoutScrapeCounts((await obs.metrics(PROMETHEUS_ACCEPT)).body),
    };
    expect(expected.text.length).toBeGreaterThan(500_000);

    const node = await serve(createServer(obs.metricsHandler()));
    expect(withoutScrapeCounts((await send(`${node}/metrics`)).body)).toBe(expected.text);
    expect(withoutScrapeCounts((await send(`${node}/metrics`, 'GET', { Accept: PROMETHEUS_ACCEPT })).body)).toBe(expected.om);

    const app = Fastify();
    cleanups.push(() => app.close());
    await app.register(obs.fastifyPlugin);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const fast = await send(`${url}/metrics`);
    expect(fast.headers['content-type']).toBe(CONTENT_TYPES.prometheus);
    expect(withoutScrapeCounts(fast.body)).toBe(expected.text);
    expect(withoutScrapeCounts((await app.inject({ method: 'GET', url: '/metrics', headers: { accept: PROMETHEUS_ACCEPT } })).body)).toBe(expected.om);
  });
});
