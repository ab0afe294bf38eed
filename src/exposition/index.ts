/**
 * The exposition capability: everything that turns the registry into a response body
 * (`obs.metrics()`, the node:http/Express handler, the Fastify plugin, the standalone
 * server). The root handle creates it once and spreads its API.
 */
import type { Registry } from 'prom-client';
import { CONTENT_TYPES, serializeChunks, serializeRegistry, type ExpositionFormat } from './format.js';
import {
  createFastifyPlugin, createMetricsHandler, listenMetrics, type FastifyInstanceLike, type FastifyMetricsOptions,
  type ListenOptions, type MetricsHandler, type MetricsServer, type ScrapeResult,
} from './http.js';
import { negotiateFormat } from './negotiate.js';

/** The exposition part of the root handle. */
export interface ExpositionApi {
  /** Serializes every metric in the registry; `accept` is an HTTP Accept header. */
  metrics(accept?: string): Promise<ScrapeResult>;
  /** A node:http / Express handler for `/metrics` (content-negotiated). */
  metricsHandler(): MetricsHandler;
  /** A Fastify plugin serving `/metrics`: `app.register(obs.fastifyPlugin)`. */
  readonly fastifyPlugin: (instance: FastifyInstanceLike, options?: FastifyMetricsOptions) => Promise<void>;
  /** Starts a standalone metrics server (closed by {@link Observability.shutdown}). */
  listen(options?: ListenOptions): Promise<MetricsServer>;
}

export interface Exposition {
  readonly api: ExpositionApi;
  /** Closes the servers `listen()` started. */
  close(): Promise<void>;
}

export function createExposition(registry: Registry, onError: (e: unknown) => void): Exposition {
  const scrape = (format: ExpositionFormat): Promise<string> => serializeRegistry(registry, format, onError);
  const scrapeChunks = (format: ExpositionFormat): Promise<string[]> => serializeChunks(registry, format, onError);
  const servers = new Set<MetricsServer>();
  const api: ExpositionApi = {
    metrics: async (accept) => {
      const format = negotiateFormat(accept);
      return { contentType: CONTENT_TYPES[format], body: await scrape(format) };
    },
    metricsHandler: () => createMetricsHandler(scrapeChunks, onError),
    fastifyPlugin: createFastifyPlugin(scrapeChunks),
    listen: async (o) => {
      const server = await listenMetrics(createMetricsHandler(scrapeChunks, onError), o);
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
      await Promise.all([...servers].map((s) => s.close()));
      servers.clear();
    },
  };
}

export type {
  FastifyInstanceLike, FastifyMetricsOptions, FastifyReplyLike, ListenOptions, MetricsHandler, MetricsServer, ScrapeResult,
} from './http.js';
export { CONTENT_TYPES, type ExpositionFormat } from './format.js';
