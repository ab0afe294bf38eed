import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getValue, parseExposition } from '../../test/helpers/exposition.js';
import { makeTestCertificates, type TestCertificates } from '../../test/helpers/tls.js';
import { isConfigError } from '../errors.js';
import { createObservability, type Observability } from '../observability.js';
import type { ScrapeOptions } from './scrape.js';

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

interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  /** For https URLs. */
  tls?: { ca?: string; key?: string; cert?: string };
}

function send(url: string, o: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const https = url.startsWith('https:');
    const options = { method: o.method ?? 'GET', headers: o.headers ?? {}, agent: false as const, ...(https ? o.tls : {}) };
    const req = (https ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(obs: Observability, options: ScrapeOptions): Promise<string> {
  const server: Server = createServer(obs.metricsHandler(options));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

async function outcomes(obs: Observability): Promise<Record<string, number>> {
  const exp = parseExposition((await obs.metrics()).body, 'prometheus');
  const r: Record<string, number> = {};
  for (const outcome of ['served', 'unauthorized', 'rejected']) r[outcome] = getValue(exp, 'agentobs_scrapes_total', { outcome });
  return r;
}

describe('bearer token', () => {
  it('serves the right token, refuses none or a wrong one with 401 and a Bearer challenge, and counts both', async () => {
    const obs = make();
    const url = await serve(obs, { auth: { bearerToken: 'tok-3f9a.Z_~+/=' } });
    const none = await send(url);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(none.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(none.body).toBe('unauthorized\n');
    for (const wrong of ['Bearer tok-3f9a.Z_~+/', 'Bearer tok-3f9a.Z_~+/==', 'Bearer ', 'Bearer', 'Token tok-3f9a.Z_~+/=', basic('tok-3f9a.Z_~+/=', '')]) {
      const r = await send(url, { headers: { authorization: wrong } });
      expect({ wrong, status: r.status, body: r.body }).toEqual({ wrong, status: 401, body: 'unauthorized\n' });
    }
    const ok = await send(url, { headers: { authorization: 'Bearer tok-3f9a.Z_~+/=' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('gen_ai_execute_tool_duration_seconds_count');
    // The scheme is case-insensitive (RFC 7235).
    expect((await send(url, { headers: { authorization: 'bearer tok-3f9a.Z_~+/=' } })).status).toBe(200);
    expect(await outcomes(obs)).toEqual({ served: 2, unauthorized: 7, rejected: 0 });
  });

  it('accepts any of several tokens (rotation) and guards HEAD as well', async () => {
    const obs = make();
    const url = await serve(obs, { auth: { bearerToken: ['old-token', 'new-token'], realm: 'agents' } });
    expect((await send(url, { headers: { authorization: 'Bearer old-token' } })).status).toBe(200);
    expect((await send(url, { headers: { authorization: 'Bearer new-token' } })).status).toBe(200);
    const head = await send(url, { method: 'HEAD' });
    expect(head.status).toBe(401);
    expect(head.headers['www-authenticate']).toBe('Bearer realm="agents"');
    // Refused before the method check: an unauthenticated client learns nothing else.
    expect((await send(url, { method: 'POST' })).status).toBe(401);
  });
});

describe('basic auth', () => {
  it('serves a configured user, refuses wrong users and passwords, and challenges with both schemes when both are set', async () => {
    const obs = make();
    const url = await serve(obs, {
      auth: { basic: [{ username: 'prometheus', password: 'pa:ss wörd' }, { username: 'ユーザー', password: 'x' }], bearerToken: 't' },
    });
    expect((await send(url, { headers: { authorization: basic('prometheus', 'pa:ss wörd') } })).status).toBe(200);
    expect((await send(url, { headers: { authorization: basic('ユーザー', 'x') } })).status).toBe(200);
    expect((await send(url, { headers: { authorization: 'Bearer t' } })).status).toBe(200);
    for (const wrong of [basic('prometheus', 'pa:ss'), basic('prometheus', 'pa:ss wörd '), basic('Prometheus', 'pa:ss wörd'), basic('ユーザー', 'y'), 'Basic !!!', 'Basic']) {
      expect((await send(url, { headers: { authorization: wrong } })).status).toBe(401);
    }
    const r = await send(url);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="metrics", Basic realm="metrics", charset="UTF-8"');
  });

  it('never throws or echoes on hostile Authorization headers', async () => {
    const obs = make();
    const url = await serve(obs, { auth: { basic: { username: 'u', password: 'p' } } });
    const hostile = ['Basic ' + 'A'.repeat(8000), 'Basic ' + Buffer.from('u:p\u0000', 'utf8').toString('base64'), 'Basic =====', `Basic ${'\u00ff'.repeat(50)}`, ' ', 'Basic  dTpw '];
    for (const h of hostile) {
      const r = await send(url, { headers: { authorization: h } });
      expect(r.status).toBe(h === 'Basic  dTpw ' ? 200 : 401);
      expect(r.body).not.toContain('AAAA');
    }
  });
});

describe('auth on every way of serving', () => {
  it('the Fastify plugin and listen() take the same auth option', async () => {
    const obs = make();
    const app = Fastify();
    cleanups.push(() => app.close());
    await app.register(obs.fastifyPlugin, { auth: { bearerToken: 'f' } });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    expect((await send(`${base}/metrics`)).status).toBe(401);
    expect((await send(`${base}/metrics`, { headers: { authorization: 'Bearer f' } })).status).toBe(200);

    const server = await obs.listen({ port: 0, auth: { basic: { username: 'u', password: 'p' } } });
    expect((await send(server.url)).status).toBe(401);
    expect((await send(server.url, { headers: { authorization: basic('u', 'p') } })).status).toBe(200);
  });
});

describe('auth configuration', () => {
  const bad: [unknown, string][] = [
    [{}, 'listen.auth'],
    [{ bearerToken: [] }, 'listen.auth'],
    [{ bearerToken: '' }, 'listen.auth.bearerToken'],
    [{ bearerToken: 'has space-SECRET' }, 'listen.auth.bearerToken'],
    [{ bearerToken: ['ok', 'line\nbreak-SECRET'] }, 'listen.auth.bearerToken[1]'],
    [{ basic: { username: 'a:b', password: 'SECRET' } }, 'listen.auth.basic.username'],
    [{ basic: { username: 'a', password: '' } }, 'listen.auth.basic.password'],
    [{ basic: [{ username: 'a', password: 'bell\u0007SECRET' }] }, 'listen.auth.basic[0].password'],
    [{ basic: 'u:p' }, 'listen.auth.basic'],
    [{ bearerToken: 't', realm: 'a"b' }, 'listen.auth.realm'],
    ['token', 'listen.auth'],
  ];
  it.each(bad)('%j is a ConfigError at %s that never shows the secret', async (auth, path) => {
    const obs = make();
    let err: unknown;
    await obs.listen({ port: 0, auth: auth as never }).catch((e: unknown) => (err = e));
    expect(isConfigError(err)).toBe(true);
    expect((err as { path: string }).path).toBe(path);
    expect(String((err as Error).message)).not.toContain('SECRET');
  });
});

describe('TLS on listen()', () => {
  let certs: TestCertificates;
  beforeAll(() => {
    certs = makeTestCertificates();
  });
  afterAll(() => certs.remove());

  it('serves https with the given key and certificate, with auth on top', async () => {
    const obs = make();
    const server = await obs.listen({ port: 0, tls: { key: certs.serverKey, cert: certs.serverCert }, auth: { bearerToken: 'tls-token' } });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect((await send(server.url, { tls: { ca: certs.ca } })).status).toBe(401);
    const ok = await send(server.url, { tls: { ca: certs.ca }, headers: { authorization: 'Bearer tls-token' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('gen_ai_execute_tool_duration_seconds_count');
    // A client that does not trust the CA fails the handshake; plain HTTP gets nothing served.
    await expect(send(server.url, { tls: { ca: certs.otherCa } })).rejects.toThrow();
    await expect(send(server.url.replace('https:', 'http:'))).rejects.toThrow();
  });

  it('with ca set, requires a client certificate that chains to it (mutual TLS)', async () => {
    const obs = make();
    const server = await obs.listen({ port: 0, tls: { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca } });
    await expect(send(server.url, { tls: { ca: certs.ca } })).rejects.toThrow();
    const ok = await send(server.url, { tls: { ca: certs.ca, key: certs.clientKey, cert: certs.clientCert } });
    expect(ok.status).toBe(200);
  });

  it('a key that does not match the certificate, or no key, is a ConfigError at start-up', async () => {
    const obs = make();
    for (const [tls, path] of [
      [{ key: certs.clientKey, cert: certs.serverCert }, 'listen.tls'],
      [{ key: 'not a key', cert: certs.serverCert }, 'listen.tls'],
      [{ cert: certs.serverCert }, 'listen.tls.key'],
      [{ key: certs.serverKey, cert: '' }, 'listen.tls.cert'],
      [{ key: certs.serverKey, cert: certs.serverCert, ca: [] }, 'listen.tls.ca'],
    ] as const) {
      let err: unknown;
      await obs.listen({ port: 0, tls: tls as never }).catch((e: unknown) => (err = e));
      expect({ path, ok: isConfigError(err), at: (err as { path?: string }).path }).toEqual({ path, ok: true, at: path });
      expect(String((err as Error).message)).not.toContain('PRIVATE KEY');
    }
  });
});
