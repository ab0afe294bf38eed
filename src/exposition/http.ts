/**
 * /metrics over HTTP: a node:http handler (also an Express handler), a Fastify plugin,
 * and a standalone server, all served by a scrape scheduler (see scrape.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
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
  /** Serve HTTPS with this key and certificate (the URL then starts with `https://`). @default plain HTTP */
  readonly tls?: ListenTlsOptions;
}

/** The server side of TLS on {@link Observability.listen}; PEM text or buffers, as node:tls takes them. */
export interface ListenTlsOptions {
  /** Private key (PEM). */
  readonly key: string | Buffer;
  /** Certificate chain (PEM), leaf first. */
  readonly cert: string | Buffer;
  /** Passphrase of an encrypted key. */
  readonly passphrase?: string;
  /** CA certificates (PEM) that client certificates must chain to; setting it requires one (mutual TLS). */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
}

const pem = (v: unknown): boolean => (typeof v === 'string' || Buffer.isBuffer(v)) && v.length > 0;

/** node:https options from ours; throws {@link ConfigError} when node:tls cannot load them. */
function tlsServerOptions(t: ListenTlsOptions) {
  if (typeof t !== 'object' || t === null) throw new ConfigError('listen.tls', 'an object with key and cert', t);
  if (!pem(t.key)) throw new ConfigError('listen.tls.key', 'a PEM private key (string or Buffer)', '<redacted>');
  if (!pem(t.cert)) throw new ConfigError('listen.tls.cert', 'a PEM certificate (string or Buffer)', t.cert);
  if (t.passphrase !== undefined && typeof t.passphrase !== 'string') throw new ConfigError('listen.tls.passphrase', 'a string', '<redacted>');
  const ca = t.ca === undefined ? undefined : ((Array.isArray(t.ca) ? t.ca : [t.ca]) as readonly unknown[]);
  if (ca !== undefined && (ca.length === 0 || !ca.every(pem))) throw new ConfigError('listen.tls.ca', 'PEM CA certificates (string, Buffer or a list of them)', '<redacted>');
  const options = {
    key: t.key,
    cert: t.cert,
    ...(t.passphrase === undefined ? {} : { passphrase: t.passphrase }),
    ...(ca === undefined ? {} : { ca: ca as (string | Buffer)[], requestCert: true, rejectUnauthorized: true }),
  };
  try {
    // Loads and checks them now: a key that does not match its certificate fails here, at start-up, not at the first handshake.
    createSecureContext(options);
  } catch (e) {
    throw new ConfigError('listen.tls', 'a key, certificate (and CA) that node:tls can load and that match', (e as { code?: unknown }).code ?? 'an unreadable key or certificate');
  }
  return options;
}

/** A running standalone metrics server. */
export interface MetricsServer {
  /** e.g. `http://127.0.0.1:9464/metrics` (`https://` with `tls`). */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /**
   * Stops accepting connections, closes idle ones, lets requests in flight finish, then ends
   * every connection left (a client still sending its headers, a TLS handshake not done).
   */
  close(): Promise<void>;
}

export async function listenMetrics(handler: MetricsHandler, options: ListenOptions = {}): Promise<MetricsServer> {
  const port = options.port ?? 9464;
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/metrics';
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('listen.port', 'an integer from 0 to 65535', port);
  if (typeof host !== 'string' || host === '') throw new ConfigError('listen.host', 'a host name or address', host);
  if (typeof path !== 'string' || !path.startsWith('/')) throw new ConfigError('listen.path', 'a path starting with "/"', path);
  const tls = options.tls === undefined ? undefined : tlsServerOptions(options.tls);
  const route = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q === -1 ? url : url.slice(0, q)) === path) handler(req, res);
    else res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
  };
  // close() ends what is left once no request is in flight: a client still sending its headers,
  // or a TLS handshake not done, would otherwise hold server.close() for as long as it likes
  // (server.close() also stops Node's headersTimeout checks).
  let inFlight = 0;
  let closing = false;
  const sockets = new Set<Socket>();
  const dropLeftovers = (): void => {
    for (const s of sockets) s.destroy();
  };
  const counted = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++;
    res.once('close', () => {
      if (--inFlight === 0 && closing) dropLeftovers();
    });
    route(req, res);
  };
  const server: Server = tls === undefined ? createServer(counted) : createTlsServer(tls, counted);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
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
    url: `${tls === undefined ? 'http' : 'https'}://${shownHost}:${addr.port}${path}`,
    port: addr.port,
    host: addr.address,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
        server.closeIdleConnections();
        if (inFlight === 0) dropLeftovers();
      }),
  };
}
