import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { getValue, parseExposition, withoutScrapeCounts } from '../../test/helpers/exposition.js';
import { isConfigError } from '../errors.js';
import { createObservability, type Observability } from '../observability.js';
import { VERSION } from '../version.js';
import { CONTENT_TYPES } from './format.js';
import type { ScrapeOptions } from './scrape.js';

const OM_ACCEPT = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An instance with `n` tool series (about 1.2 KB of text each). */
function make(n: number, registry = new Registry()): Observability {
  const obs = createObservability({ registry, runtimeMetrics: false, logger: false, cardinality: { maxSeriesPerMetric: n + 10, maxValuesPerLabel: n + 10 } });
  cleanups.push(() => obs.shutdown());
  for (let i = 0; i < n; i++) obs.tool(`tool_${i}`, { agent: 'a' }).record((i % 40) / 10);
  return obs;
}

/** What the server wrote to each response, counted as it goes. */
interface Served {
  readonly url: string;
  /** Bytes handed to `res.write` so far, over all responses. */
  written(): number;
  /** Responses whose `'close'` fired. */
  closed(): number;
}

async function serve(obs: Observability, options?: ScrapeOptions): Promise<Served> {
  const handler = obs.metricsHandler(options);
  let written = 0;
  let closed = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const write = res.write.bind(res) as (c: Buffer) => boolean;
    res.write = ((c: Buffer) => {
      written += c.length;
      return write(c);
    }) as never;
    res.on('close', () => closed++);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, written: () => written, closed: () => closed };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A client that reads the headers and then nothing (its socket paused): the server's writes back up. */
function stalledClient(url: string, headers: Record<string, string> = {}): Promise<{ socket: Socket; res: IncomingMessage; status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      res.pause();
      const socket = res.socket;
      socket.pause();
      res.on('error', () => {});
      socket.on('error', () => {});
      resolve({ socket, res, status: res.statusCode ?? 0 });
    });
    req.on('error', () => {});
    req.once('error', reject);
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves when `cond()` holds (checked every 10 ms); a test timeout catches it never holding. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(10);
}

describe('gzip', () => {
  it('answers gzip when accepted, in both formats, with the same body obs.metrics() has', async () => {
    const obs = make(500);
    const { url } = await serve(obs);
    for (const accept of ['text/plain', OM_ACCEPT]) {
      const expected = withoutScrapeCounts((await obs.metrics(accept)).body);
      const zipped = await get(url, { Accept: accept, 'Accept-Encoding': 'gzip, deflate, br' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers.vary).toBe('Accept, Accept-Encoding');
      expect(zipped.body.length).toBeLessThan(expected.length / 5);
      expect(withoutScrapeCounts(gunzipSync(zipped.body).toString('utf8'))).toBe(expected);
      const plain = await get(url, { Accept: accept });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.headers.vary).toBe('Accept, Accept-Encoding');
      expect(withoutScrapeCounts(plain.body.toString('utf8'))).toBe(expected);
    }
  });

  it('is not used when refused (gzip;q=0) or when compression is off', async () => {
    const obs = make(5);
    const on = await serve(obs);
    expect((await get(on.url, { 'Accept-Encoding': 'gzip;q=0, *;q=1' })).headers['content-encoding']).toBeUndefined();
    expect((await get(on.url, { 'Accept-Encoding': '*' })).headers['content-encoding']).toBe('gzip');
    const off = await serve(obs, { compression: false });
    const r = await get(off.url, { 'Accept-Encoding': 'gzip' });
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(getValue(parseExposition(r.body.toString('utf8'), 'prometheus'), 'agentobs_build_info', { version: VERSION })).toBe(1);
  });

  it('HEAD carries the headers GET would have, and no body', async () => {
    const { url } = await serve(make(5));
    const r = await get(url, { Accept: OM_ACCEPT, 'Accept-Encoding': 'gzip' }, 'HEAD');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(CONTENT_TYPES.openmetrics);
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.body.length).toBe(0);
  });
});

describe('openMetrics: false', () => {
  it('always answers text 0.0.4', async () => {
    const { url } = await serve(make(5), { openMetrics: false });
    const r = await get(url, { Accept: OM_ACCEPT });
    expect(r.headers['content-type']).toBe(CONTENT_TYPES.prometheus);
    expect(r.body.toString('utf8')).not.toContain('# EOF');
  });
});

// These build 20,000 series and move 20+ MB bodies over HTTP: seconds alone, more beside the
// other test files on a 2-core CI machine, so they get room past the 5 s default.
describe('concurrent scrapes', { timeout: 30_000 }, () => {
  it('scrapes that wait for a slot share the next serialization, and all get the whole body', async () => {
    // Registered before our families, so a serialization counts as soon as it starts.
    const registry = new Registry();
    let collections = 0;
    new Gauge({ name: 'collections_seen', help: 'Counts serializations.', registers: [registry], collect: () => void collections++ });
    const obs = make(20_000, registry);
    const served = await serve(obs, { maxConcurrentScrapes: 1 });
    const expected = withoutScrapeCounts((await obs.metrics()).body);
    collections = 0;
    // The one slot is held by a reader that does not read.
    const stalled = await stalledClient(served.url);
    const replies = Promise.all(Array.from({ length: 5 }, () => get(served.url)));
    await sleep(200);
    expect(collections).toBe(1);
    stalled.socket.destroy();
    for (const r of await replies) {
      expect(r.status).toBe(200);
      expect(withoutScrapeCounts(r.body.toString('utf8'))).toBe(expected);
    }
    // Five scrapes, one serialization (plus the stalled one's).
    expect(collections).toBe(2);
    // Different variants cannot share: a gzip and a plain request are two passes.
    collections = 0;
    await Promise.all([get(served.url), get(served.url, { 'Accept-Encoding': 'gzip' })]);
    expect(collections).toBe(2);
  });

  it('answers 503 with Retry-After past maxPendingScrapes, and serves again once the slot is free', async () => {
    const obs = make(20_000);
    const served = await serve(obs, { maxPendingScrapes: 1 });
    const stalled = await stalledClient(served.url);
    const rejected = await get(served.url);
    expect(rejected.status).toBe(503);
    expect(rejected.headers['retry-after']).toBe('1');
    stalled.socket.destroy();
    await until(() => served.closed() === 2);
    expect((await get(served.url)).status).toBe(200);
    // Every outcome is counted: the stalled client abandoned, one rejected, one served. The
    // server counts "served" when its response finishes, which may come after the client's end.
    const counts = async (): Promise<number[]> => {
      const exp = parseExposition((await obs.metrics()).body, 'prometheus');
      return ['served', 'rejected', 'abandoned', 'failed'].map((outcome) => getValue(exp, 'agentobs_scrapes_total', { outcome }));
    };
    let last = await counts();
    for (let i = 0; i < 100 && last.join() !== '1,1,1,0'; i++) {
      await sleep(10);
      last = await counts();
    }
    expect(last).toEqual([1, 1, 1, 0]);
  });
});

describe('backpressure and clients that go away', { timeout: 30_000 }, () => {
  it('a reader that stops reading stops the serialization: what was written stays a small part of the body', async () => {
    const obs = make(20_000);
    const bodyBytes = Buffer.byteLength((await obs.metrics()).body);
    expect(bodyBytes).toBeGreaterThan(20_000_000);
    const served = await serve(obs);
    const stalled = await stalledClient(served.url);
    await sleep(400);
    const first = served.written();
    await sleep(400);
    // Paused: nothing more was produced while the socket stayed full.
    expect(served.written()).toBe(first);
    expect(first).toBeLessThan(bodyBytes / 4);
    // Resumed: the rest comes, whole.
    let received = 0;
    stalled.res.on('data', (c: Buffer) => (received += c.length));
    stalled.res.resume();
    stalled.socket.resume();
    await until(() => served.closed() === 1);
    expect(served.written()).toBe(bodyBytes);
    await until(() => received === bodyBytes);
  });

  it('a client that disconnects mid-body stops the scrape; the next one is served whole', async () => {
    const obs = make(20_000);
    const expected = withoutScrapeCounts((await obs.metrics()).body);
    const served = await serve(obs);
    const stalled = await stalledClient(served.url);
    await sleep(200);
    stalled.socket.destroy();
    await until(() => served.closed() === 1);
    const atClose = served.written();
    expect(atClose).toBeLessThan(Buffer.byteLength(expected) / 4);
    await sleep(300);
    expect(served.written()).toBe(atClose);
    expect(served.closed()).toBe(1);
    const next = await get(served.url);
    expect(withoutScrapeCounts(next.body.toString('utf8'))).toBe(expected);
  });

  it('cuts a scrape at the deadline Prometheus sends (X-Prometheus-Scrape-Timeout-Seconds)', async () => {
    const served = await serve(make(20_000), { timeoutSeconds: 60 });
    const t0 = Date.now();
    await stalledClient(served.url, { 'X-Prometheus-Scrape-Timeout-Seconds': '0.3' });
    await until(() => served.closed() === 1);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(10_000);
  });

  it('cuts a reader that takes nothing for stallTimeoutSeconds, and ignores a hostile timeout header', async () => {
    const served = await serve(make(20_000), { stallTimeoutSeconds: 0.3 });
    const t0 = Date.now();
    await stalledClient(served.url, { 'X-Prometheus-Scrape-Timeout-Seconds': 'NaN; rm -rf /' });
    await until(() => served.closed() === 1);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('shutdown() ends scrapes in flight', async () => {
    const obs = make(20_000);
    const served = await serve(obs);
    await stalledClient(served.url);
    await obs.shutdown();
    await until(() => served.closed() === 1);
  });
});

describe('options', () => {
  it.each<[ScrapeOptions, string]>([
    [{ timeoutSeconds: 0 }, 'metricsHandler options.timeoutSeconds'],
    [{ timeoutSeconds: 601 }, 'metricsHandler options.timeoutSeconds'],
    [{ maxConcurrentScrapes: 1.5 }, 'metricsHandler options.maxConcurrentScrapes'],
    [{ maxPendingScrapes: -1 }, 'metricsHandler options.maxPendingScrapes'],
    [{ stallTimeoutSeconds: Number.NaN }, 'metricsHandler options.stallTimeoutSeconds'],
    [{ compression: 'yes' as never }, 'metricsHandler options.compression'],
  ])('rejects %o with a ConfigError naming %s', (options, path) => {
    const obs = make(0);
    let caught: unknown;
    try {
      obs.metricsHandler(options);
    } catch (e) {
      caught = e;
    }
    expect(isConfigError(caught)).toBe(true);
    expect((caught as Error).message).toContain(path);
  });
});
