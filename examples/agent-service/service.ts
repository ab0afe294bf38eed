/**
 * Wires the agent service together: observability, simulated dependencies, the agent,
 * the HTTP API and the load generator. `startAgentService()` is what `main.ts` runs and
 * what tests start in-process (port 0, a fixed seed, load off).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createObservability, type Observability, type ObservabilityOptions } from 'agent-observability';
import pino, { type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { AGENT_NAME, createSupportAgent, type TaskInput, type TaskResult } from './agent.js';
import { errorCode } from './errors.js';
import { applyFaultsPatch, DEFAULT_FAULTS, type Faults, type FaultsPatch } from './faults.js';
import { startLoad, type LoadGenerator, type LoadStats, type SubmitOutcome } from './load.js';
import { randomSeed, rngFor } from './random.js';
import { API_ROUTES, createApiHandler } from './server.js';
import { createSimulatedLlm } from './simulated-llm.js';
import { StatsLedger, type ServiceStats } from './stats.js';
import { createToolbox, remoteKbLookup, type Toolbox } from './tools.js';

/** The service's own metric, registered next to the library's. */
export const HTTP_REQUESTS = 'agent_service_http_requests_total';

export interface LoadSettings {
  /** Tasks per second; 0 disables the generator. */
  readonly rps: number;
  /** `http` posts to the service's own `/tasks` (exercises the whole stack); `in-process` calls the agent. @default 'http' */
  readonly mode?: 'http' | 'in-process';
  /** Tasks in flight before submissions are dropped. @default 64 */
  readonly maxInFlight?: number;
}

export interface AgentServiceOptions {
  /** API port; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Interface to bind. @default '127.0.0.1' */
  readonly host?: string;
  /** Serve `/metrics` on its own port (via `obs.listen`) instead of the API port. */
  readonly metricsPort?: number;
  /** Seed of all simulated randomness; the same seed and task ids replay the same run. @default random */
  readonly seed?: string | number;
  /** Fault settings on top of {@link DEFAULT_FAULTS}. */
  readonly faults?: FaultsPatch;
  /** Retries of the drafting LLM call on rate limits and overload. @default 2 */
  readonly llmMaxRetries?: number;
  /** First retry backoff in ms (doubles, capped at 10x). @default 250 */
  readonly llmRetryBackoffMs?: number;
  /** Built-in load generator. @default off */
  readonly load?: LoadSettings;
  /** Protects `/admin/*` with `Authorization: Bearer <token>`. */
  readonly adminToken?: string;
  /** Passed to `createObservability` (e.g. `{ logger: false }`). */
  readonly observability?: ObservabilityOptions;
  /**
   * Where the service's pino logs go (JSON lines, each with `correlation_id`, `trace_id` and
   * `span_id` from `obs.pinoMixin`). @default nowhere (logging off)
   */
  readonly logDestination?: DestinationStream;
  /** @default 'info' */
  readonly logLevel?: LevelWithSilent;
  /** `service` field of every log line. @default 'support-agent' */
  readonly serviceName?: string;
  /**
   * Base URL of a downstream service (another instance of this one) that runs `kb_lookup`:
   * the tool then calls its `POST /tools/kb_lookup` over HTTP with `obs.instrumentFetch()`,
   * so the downstream spans join this service's trace. @default local kb_lookup
   */
  readonly kbServiceUrl?: string;
  /** How long `stop()` waits for requests in flight before cutting connections. @default 10000 */
  readonly shutdownGraceMs?: number;
}

export interface AgentService {
  /** Base URL of the API, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Where metrics are served, e.g. `http://127.0.0.1:8080/metrics`. */
  readonly metricsUrl: string;
  readonly port: number;
  readonly host: string;
  /** The seed in use (generated when none was given). */
  readonly seed: string;
  readonly obs: Observability;
  /** Runs a task in-process (same agent, same ledger as `POST /tasks`). */
  runTask(input: TaskInput): Promise<TaskResult>;
  faults(): Faults;
  /** Changes fault settings at run time; throws `FaultsValidationError` on bad values. */
  setFaults(patch: FaultsPatch): Faults;
  /** The ledger: what the service did, counted apart from the metrics. */
  stats(): ServiceStats;
  /** The service's logger. */
  readonly log: Logger;
  /** Load generator counters, or `undefined` when load is off. */
  loadStats(): LoadStats | undefined;
  /** Stops load, drains and closes the server, shuts observability down. Idempotent. */
  stop(): Promise<void>;
}

function nonNegativeInt(v: number | undefined, path: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`Expected \`${path}\` to be an integer >= 0, got ${v}`);
  return v;
}

function formatUrl(addr: AddressInfo): string {
  return `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
}

export async function startAgentService(options: AgentServiceOptions = {}): Promise<AgentService> {
  const seed = options.seed === undefined ? randomSeed() : String(options.seed);
  const port = nonNegativeInt(options.port, 'port', 0);
  const host = options.host ?? '127.0.0.1';
  const graceMs = nonNegativeInt(options.shutdownGraceMs, 'shutdownGraceMs', 10_000);
  let faults = applyFaultsPatch(DEFAULT_FAULTS, options.faults ?? {});

  // One registry for the library's metrics and the service's own, so one scrape sees both.
  const registry = options.observability?.registry ?? new Registry();
  const obs = createObservability({ ...options.observability, registry });
  const serviceName = options.serviceName ?? 'support-agent';
  // Every line carries the request's correlation, trace and span IDs through the mixin.
  const log =
    options.logDestination === undefined
      ? pino({ level: 'silent' })
      : pino({ level: options.logLevel ?? 'info', base: { service: serviceName }, mixin: obs.pinoMixin }, options.logDestination);
  const httpRequests = new Counter({
    name: HTTP_REQUESTS,
    help: 'HTTP requests served by the agent service API, by route and status (scrapes excluded).',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });

  const ledger = new StatsLedger();
  const local = createToolbox(() => faults);
  let kbServiceUrl: string | undefined;
  if (options.kbServiceUrl !== undefined) {
    const u = new URL(options.kbServiceUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RangeError(`Expected \`kbServiceUrl\` to be an http(s) URL, got ${options.kbServiceUrl}`);
    kbServiceUrl = u.href;
  }
  // With a downstream kb service, kb_lookup is an HTTP call carrying traceparent and x-correlation-id.
  const tools: Toolbox = kbServiceUrl === undefined ? local : { ...local, kb_lookup: remoteKbLookup(kbServiceUrl, obs.instrumentFetch()) };
  // What this service runs when another one delegates kb_lookup to it (same handle and series as its own calls).
  const servedKbLookup = obs.instrumentTool(local.kb_lookup, { tool: 'kb_lookup', agent: AGENT_NAME });
  const runKbLookup = async (request: { readonly query: string; readonly task: string }) => {
    try {
      const r = await servedKbLookup({ query: request.query }, { rng: rngFor(seed, `${request.task}/kb_lookup`), taskId: request.task });
      ledger.record('tools', 'kb_lookup');
      return r;
    } catch (e) {
      ledger.record('tools', 'kb_lookup', errorCode(e));
      throw e;
    }
  };
  const agent = createSupportAgent({
    obs,
    llm: createSimulatedLlm(() => faults),
    tools,
    log,
    ledger,
    seed,
    llmMaxRetries: nonNegativeInt(options.llmMaxRetries, 'llmMaxRetries', 2),
    llmRetryBackoffMs: nonNegativeInt(options.llmRetryBackoffMs, 'llmRetryBackoffMs', 250),
  });

  // Every task, from HTTP or in-process, is tracked so stop() can wait for it.
  const running = new Set<Promise<TaskResult>>();
  const runTask = (input: TaskInput): Promise<TaskResult> => {
    const p = agent.runTask(input);
    running.add(p);
    void p.finally(() => running.delete(p));
    return p;
  };

  let draining = false;
  let load: LoadGenerator | undefined;
  const setFaults = (patch: unknown): Faults => (faults = applyFaultsPatch(faults, patch));
  const stats = (): ServiceStats => ledger.snapshot();

  const api = createApiHandler({
    runTask,
    runKbLookup,
    ...(options.metricsPort === undefined ? { metrics: obs.metricsHandler() } : {}),
    getFaults: () => faults,
    setFaults,
    stats: () => ({ ...stats(), load: load?.stats() ?? null }),
    adminToken: options.adminToken,
    draining: () => draining,
    onResponse: (method, route, status) => httpRequests.inc({ method, route, status: String(status) }),
    log,
  });
  // Correlation ID in and out, a SERVER span per request, http_server_request_duration_seconds by route.
  const server: Server = createServer(
    obs.instrumentHttpHandler(api, { routes: API_ROUTES, ignore: (req) => (req.url ?? '').split('?')[0] === '/metrics' }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log.error({ err: e }, 'server error'));
  const addr = server.address() as AddressInfo;
  const url = formatUrl(addr);

  let metricsUrl = `${url}/metrics`;
  if (options.metricsPort !== undefined) {
    try {
      metricsUrl = (await obs.listen({ port: options.metricsPort, host })).url;
    } catch (e) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await obs.shutdown();
      throw e;
    }
  }

  if (options.load !== undefined && options.load.rps > 0) {
    const mode = options.load.mode ?? 'http';
    const submit =
      mode === 'in-process'
        ? async (task: TaskInput): Promise<SubmitOutcome> => (await runTask(task)).status
        : async (task: TaskInput): Promise<SubmitOutcome> => {
            const res = await fetch(`${url}/tasks`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(task),
            });
            await res.arrayBuffer();
            if (res.status === 200) return 'succeeded';
            if (res.status === 502) return 'failed';
            throw new Error(`POST /tasks answered ${res.status}`);
          };
    load = startLoad({
      rps: options.load.rps,
      submit,
      rng: rngFor(seed, 'load'),
      ...(options.load.maxInFlight === undefined ? {} : { maxInFlight: options.load.maxInFlight }),
      onError: (e) => log.warn({ err: e }, 'load generator error'),
    });
  }

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      draining = true;
      await load?.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), graceMs);
      await Promise.allSettled([...running]);
      await closed;
      clearTimeout(cut);
      registry.removeSingleMetric(HTTP_REQUESTS);
      await obs.shutdown();
    })());

  return {
    url,
    metricsUrl,
    port: addr.port,
    host: addr.address,
    seed,
    obs,
    log,
    runTask,
    faults: () => faults,
    setFaults,
    stats,
    loadStats: () => load?.stats(),
    stop,
  };
}
