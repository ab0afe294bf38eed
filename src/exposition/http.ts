/**
 * /metrics over HTTP: a node:http handler (also an Express handler), a Fastify plugin,
 * and a standalone server. All negotiate text 0.0.4 vs OpenMetrics from `Accept`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { ConfigError } from '../errors.js';
import { CONTENT_TYPES, type ExpositionFormat } from './format.js';
import { negotiateFormat } from './negotiate.js';

/** What a scrape produces. */
export interface ScrapeResult {
  readonly contentType: string;
  readonly body: string;
}

/** Serializes the registry: one string, or its chunks in order (written one by one). */
export type Scrape = (format: ExpositionFormat) => Promise<string | readonly string[]>;

/** A node:http / Express request handler. */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Encoding budget before the writer lets the event loop run (as the serializer does). */
const WRITE_SLICE_MS = 10;

/**
 * Writes the chunks in order, yielding to the event loop when a slice of encoding has used
 * its budget, so a large body never holds the loop in one piece. Stops if the client left.
 */
async function writeChunks(res: ServerResponse, chunks: readonly string[]): Promise<void> {
  let start = performance.now();
  for (const chunk of chunks) {
    if (res.destroyed) return;
    res.write(chunk);
    if (performance.now() - start > WRITE_SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      start = performance.now();
    }
  }
  res.end();
}

export function createMetricsHandler(scrape: Scrape, onError: (e: unknown) => void): MetricsHandler {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const format = negotiateFormat(req.headers.accept);
    scrape(format).then(
      (body) => {
        res.writeHead(200, { 'Content-Type': CONTENT_TYPES[format], 'Cache-Control': 'no-store' });
        if (req.method === 'HEAD') res.end();
        else if (typeof body === 'string') res.end(body);
        else {
          writeChunks(res, body).catch((e: unknown) => {
            onError(e);
            res.destroy();
          });
        }
      },
      (e: unknown) => {
        onError(e);
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('metrics collection failed\n');
      },
    );
  };
}

/** The parts of a Fastify reply we use. */
export interface FastifyReplyLike {
  header(name: string, value: string): unknown;
}
/** The parts of a Fastify instance we use. */
export interface FastifyInstanceLike {
  get(path: string, handler: (request: { headers: IncomingHttpHeaders }, reply: FastifyReplyLike) => Promise<string | Readable>): unknown;
}
/** Options of the Fastify plugin. */
export interface FastifyMetricsOptions {
  /** Route path. @default '/metrics' */
  readonly path?: string;
}

export function createFastifyPlugin(scrape: Scrape) {
  return async function agentObservabilityMetrics(instance: FastifyInstanceLike, options?: FastifyMetricsOptions): Promise<void> {
    const path = options?.path ?? '/metrics';
    instance.get(path, async (request, reply) => {
      const format = negotiateFormat(request.headers.accept);
      const body = await scrape(format);
      reply.header('Content-Type', CONTENT_TYPES[format]);
      reply.header('Cache-Control', 'no-store');
      // Chunks go out as a stream, one by one (never joined into one large string).
      return typeof body === 'string' ? body : Readable.from(body, { objectMode: false });
    });
  };
}

/** Options of {@link Observability.listen}. */
export interface ListenOptions {
  /** TCP port; 0 picks a free one. @default 9464 */
  readonly port?: number;
  /** Interface to bind. @default '127.0.0.1' */
  readonly host?: string;
  /** Path that serves metrics; every other path is 404. @default '/metrics' */
  readonly path?: string;
}

/** A running standalone metrics server. */
export interface MetricsServer {
  /** e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Stops accepting connections and closes idle ones. */
  close(): Promise<void>;
}

export async function listenMetrics(handler: MetricsHandler, options: ListenOptions = {}): Promise<MetricsServer> {
  const port = options.port ?? 9464;
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/metrics';
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('listen.port', 'an integer from 0 to 65535', port);
  if (typeof host !== 'string' || host === '') throw new ConfigError('listen.host', 'a host name or address', host);
  if (typeof path !== 'string' || !path.startsWith('/')) throw new ConfigError('listen.path', 'a path starting with "/"', path);
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q === -1 ? url : url.slice(0, q)) === path) handler(req, res);
    else res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}${path}`,
    port: addr.port,
    host: addr.address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
