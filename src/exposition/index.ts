/**
 * The exposition capability: everything that turns the registry into a response body
 * (`obs.metrics()`, the node:http/Express handler, the Fastify plugin, the standalone
 * server). The root handle creates it once and spreads its API.
 */
import type { Registry } from 'prom-client';
import { ConfigError } from '../errors.js';
import { CONTENT_TYPES, serializeRegistry } from './format.js';
import {
  createFastifyPlugin, listenMetrics, type FastifyInstanceLike, type FastifyMetricsOptions,
  type ListenOptions, type MetricsHandler, type MetricsServer, type ScrapeResult,
} from './http.js';
import { negotiateFormat } from './negotiate.js';
import type { CounterFamily, CounterSeries } from '../metrics/store.js';
import { SCRAPE_OUTCOMES, ScrapeServer, type ScrapeOptions, type ScrapeOutcome } from './scrape.js';

/** The exposition part of the root handle. */
export interface ExpositionApi {
  /** Serializes every metric in the registry; `accept` is an HTTP Accept header. */
  metrics(accept?: string): Promise<ScrapeResult>;
  /**
   * A node:http / Express handler for `/metrics`: content-negotiated, gzip when accepted,
   * streamed with backpressure; concurrent scrapes share work (see {@link ScrapeOptions}).
   * Throws {@link ConfigError} on bad options.
   */
  metricsHandler(options?: ScrapeOptions): MetricsHandler;
  /** A Fastify plugin serving `/metrics`: `app.register(obs.fastifyPlugin)`. */
  readonly fastifyPlugin: (instance: FastifyInstanceLike, options?: FastifyMetricsOptions) => Promise<void>;
  /** Starts a standalone metrics server (closed by {@link Observability.shutdown}; after it, rejects with {@link ConfigError}). */
  listen(options?: ListenOptions): Promise<MetricsServer>;
}

export interface Exposition {
  readonly api: ExpositionApi;
  /** Closes the servers `listen()` started. */
  close(): Promise<void>;
}

/**
 * `scrapes` is the `agentobs_scrapes_total` family. Its four series are bound up front so
 * that `rate()` sees them from the first scrape on, before any 503 has happened.
 */
export function createExposition(registry: Registry, onError: (e: unknown) => void, scrapes?: CounterFamily): Exposition {
  const outcomes = new Map<ScrapeOutcome, CounterSeries>();
  if (scrapes !== undefined) for (const outcome of SCRAPE_OUTCOMES) outcomes.set(outcome, scrapes.child([outcome]));
  const count = (outcome: ScrapeOutcome): void => outcomes.get(outcome)?.inc();
  const scrapeServers = new Set<ScrapeServer>();
  const handler = (options: ScrapeOptions | undefined, path: string): MetricsHandler => {
    const server = new ScrapeServer(registry, onError, count, options, path);
    scrapeServers.add(server);
    return server.handle;
  };
  const servers = new Set<MetricsServer>();
  let closed = false;
  const api: ExpositionApi = {
    metrics: async (accept) => {
      const format = negotiateFormat(accept);
      return { contentType: CONTENT_TYPES[format], body: await serializeRegistry(registry, format, onError) };
    },
    metricsHandler: (o) => handler(o, 'metricsHandler options'),
    fastifyPlugin: createFastifyPlugin(handler),
    listen: async (o) => {
      // The one refusal after shutdown: a port opened now would be one nobody closes.
      if (closed) throw new ConfigError('listen', 'a handle that is not shut down', 'shutdown() already called');
      const server = await listenMetrics(handler(o, 'listen'), o);
      if (closed) {
        // shutdown() ran while the port was being opened.
        await server.close();
        throw new ConfigError('listen', 'a handle that is not shut down', 'shutdown() already called');
      }
      servers.add(server);
      return {
        ...server,
        close: async () => {
          servers.delete(server);
          await server.close();
        },
      };
    },
  };
  return {
    api,
    close: async () => {
      closed = true;
      // In-flight scrapes end first, so that closing the servers does not wait for their deadlines.
      for (const s of scrapeServers) s.close();
      scrapeServers.clear();
      await Promise.all([...servers].map((s) => s.close()));
      servers.clear();
    },
  };
}

export type {
  FastifyInstanceLike, FastifyMetricsOptions, FastifyReplyLike, FastifyRequestLike, ListenOptions, ListenTlsOptions, MetricsHandler, MetricsServer,
  ScrapeResult,
} from './http.js';
export type { BasicCredentials, ScrapeAuthOptions } from './auth.js';
export { CONTENT_TYPES, type ExpositionFormat } from './format.js';
export type { ScrapeOptions } from './scrape.js';
