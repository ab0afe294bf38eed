/**
 * /metrics over HTTP: a node:http handler (also an Express handler), a Fastify plugin,
 * and a standalone server, all served by a scrape scheduler (see scrape.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.js';
import type { ScrapeOptions } from './scrape.js';

/** What `obs.metrics()` produces. */
export interface ScrapeResult {
  readonly contentType: string;
  readonly body: string;
}

/** A node:http / Express request handler. */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** The parts of a Fastify request we use. */
export interface FastifyRequestLike {
  readonly raw: IncomingMessage;
}
/** The parts of a Fastify reply we use: the response is written straight to the socket, with its backpressure. */
export interface FastifyReplyLike {
  readonly raw: ServerResponse;
  hijack(): unknown;
}
/** The parts of a Fastify instance we use. */
export interface FastifyInstanceLike {
  get(path: string, handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => void): unknown;
}
/** Options of the Fastify plugin. */
export interface FastifyMetricsOptions extends ScrapeOptions {
  /** Route path. @default '/metrics' */
  readonly path?: string;
}

/** Builds a handler with its own scrape scheduler; see {@link ScrapeOptions}. */
export type HandlerFactory = (options: ScrapeOptions | undefined, path: string) => MetricsHandler;

export function createFastifyPlugin(handler: HandlerFactory) {
  return async function agentObservabilityMetrics(instance: FastifyInstanceLike, options?: FastifyMetricsOptions): Promise<void> {
    const path = options?.path ?? '/metrics';
    const handle = handler(options, 'fastifyPlugin options');
    instance.get(path, (request, reply) => {
      // Fastify would buffer or pipe a returned body without our backpressure and abort rules.
      reply.hijack();
      handle(request.raw, reply.raw);
    });
  };
}

/** Options of {@link Observability.listen}. */
export interface ListenOptions extends ScrapeOptions {
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
