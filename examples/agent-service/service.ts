/**
 * Wires the agent service together: observability (with the service's SLOs), simulated
 * dependencies, the LLM policy and token budget, the agent, the HTTP API and the load
 * generator. `startAgentService()` is what `main.ts` runs and what tests start in-process
 * (port 0, a fixed seed, load off).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createObservability, defaultRetryable, type DiagLogger, type Observability, type ObservabilityOptions, type PolicyHandle,
  type SloEvaluationOptions, type SloReport, type SloSpec, type TokenBudgetHandle, type TokenBudgetOptions,
} from 'agent-observability';
import pino, { type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { AGENT_NAME, createSupportAgent, type TaskInput, type TaskResult } from './agent.js';
import { ContextLengthError, ServiceError, errorCode } from './errors.js';
import { applyFaultsPatch, DEFAULT_FAULTS, type Faults, type FaultsPatch } from './faults.js';
import { startLoad, type LoadGenerator, type LoadStats, type SubmitOutcome } from './load.js';
import { randomSeed, rngFor } from './random.js';
import { API_ROUTES, createApiHandler } from './server.js';
import { createSimulatedLlm, MODEL_PRICES } from './simulated-llm.js';
import { serviceSlos } from './slos.js';
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

/** The LLM policy: `obs.policy({ name: 'llm', timeout, retry, breaker, pool })` around every model call. */
export interface LlmPolicySettings {
  /** Per-attempt timeout; a slower attempt is aborted and counts as `timeout`. @default 10000 */
  readonly timeoutMs?: number;
  /** Calls to the provider at once (the pool's concurrency). @default 64 */
  readonly concurrency?: number;
  /** Calls waiting for a slot before `pool_rejected` (queue_full). @default 1024 */
  readonly queue?: number;
  /** Longest wait for a slot before `pool_rejected` (timeout). @default no limit */
  readonly queueTimeoutMs?: number;
  /** A `retry-after` longer than this is not waited for: the call gives up (and the fallback is served). @default 5000 */
  readonly maxRetryAfterMs?: number;
  /** Circuit breaker settings (opossum's). */
  readonly breaker?: {
    /** Time open before a half-open probe is let through. @default 30000 */
    readonly resetTimeout?: number;
    /** Calls in the rolling window before the breaker may open. @default 20 */
    readonly volumeThreshold?: number;
    /** Failure percentage (of calls in the rolling window) that opens it. @default 50 */
    readonly errorThresholdPercentage?: number;
    /** Length of the rolling window. @default 10000 */
    readonly rollingCountTimeout?: number;
  };
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
  /** Retries of each LLM call (draft or review) on rate limits, overload, outages and timeouts. @default 2 */
  readonly llmMaxRetries?: number;
  /** Backoff base in ms: full jitter up to base × 2^(retry-1), capped at 10x; `retry-after` is honoured. @default 250 */
  readonly llmRetryBackoffMs?: number;
  /** Timeout, breaker and pool of the LLM policy. */
  readonly llmPolicy?: LlmPolicySettings;
  /** The agent's token budget (`agentobs_token_budget_*{budget="support-agent"}`). @default 2,000,000 tokens per hour */
  readonly tokenBudget?: TokenBudgetOptions;
  /**
   * SLOs evaluated in-process (`obs.sla`, `GET /healthz/slo`; breaches and recoveries are
   * logged); `[]` turns them off. @default serviceSlos({ evaluation: sloEvaluation }), or `observability.slos` when given
   */
  readonly slos?: readonly SloSpec[];
  /** Evaluation windows of the default SLOs (tests use seconds, e.g. `{ slice: '1s', shortWindow: '5s', longWindow: '20s' }`). */
  readonly sloEvaluation?: SloEvaluationOptions;
  /** Built-in load generator. @default off */
  readonly load?: LoadSettings;
  /** Protects `/admin/*` with `Authorization: Bearer <token>`. */
  readonly adminToken?: string;
  /**
   * Passed to `createObservability` (e.g. `{ logger: false }`). Without a `logger`, the
   * library's own warnings (breaker transitions…) go to the service's pino log when
   * `logDestination` is set, else to stderr.
   */
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
  /** The policy around every model call (`llmPolicy.breaker.state`, `llmPolicy.pool.queued`…). */
  readonly llmPolicy: PolicyHandle;
  /** The agent's token budget, fed with every successful model call's usage. */
  readonly tokenBudget: TokenBudgetHandle;
  /** Where `obs.sla.healthHandler()` answers: 200, or 503 while an SLO is in breach. */
  readonly sloHealthUrl: string;
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
  const slos = options.slos ?? options.observability?.slos ?? serviceSlos(options.sloEvaluation === undefined ? {} : { evaluation: options.sloEvaluation });
  // The library's warnings (breaker transitions with their correlation ID…) join the service's log; pino is created below.
  const logHolder: { log?: Logger } = {};
  const libraryLogger: DiagLogger | undefined =
    options.logDestination === undefined ? undefined : { warn: (details, message) => logHolder.log?.warn(details, message) };
  const obs = createObservability({
    ...(libraryLogger === undefined ? {} : { logger: libraryLogger }),
    pricing: MODEL_PRICES,
    ...options.observability,
    registry,
    slos,
  });
  const serviceName = options.serviceName ?? 'support-agent';
  // Every line carries the request's correlation, trace and span IDs through the mixin.
  const log =
    options.logDestination === undefined
      ? pino({ level: 'silent' })
      : pino({ level: options.logLevel ?? 'info', base: { service: serviceName }, mixin: obs.pinoMixin }, options.logDestination);
  logHolder.log = log;
  // Rollback and paging hooks would go here; the example logs each transition once.
  const sloFields = (r: SloReport) => ({
    component: 'slo', slo: r.name, sli: r.sli, status: r.status, objective: r.objective,
    short_burn_rate: r.short.burnRate, long_burn_rate: r.long.burnRate, requests: r.long.requests,
    ...(r.latencyObjective === undefined ? {} : { threshold_s: r.latencyObjective.threshold, observed_s: r.latencyObjective.observed }),
  });
  obs.sla.onBreach((r) => log.error(sloFields(r), `SLO ${r.name} breached`));
  obs.sla.onRecover((r) => log.info(sloFields(r), `SLO ${r.name} recovered`));
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
  // One policy protects every model call: retry → pool → circuit breaker → timeout (outermost first).
  const backoffMs = nonNegativeInt(options.llmRetryBackoffMs, 'llmRetryBackoffMs', 250);
  const lp = options.llmPolicy ?? {};
  const llmPolicy = obs.policy({
    name: 'llm',
    timeout: lp.timeoutMs ?? 10_000,
    retry: {
      kind: 'llm',
      maxAttempts: nonNegativeInt(options.llmMaxRetries, 'llmMaxRetries', 2) + 1,
      baseDelayMs: backoffMs,
      maxDelayMs: backoffMs * 10,
      maxRetryAfterMs: lp.maxRetryAfterMs ?? 5000,
      // The provider's errors say whether a retry can help (our LlmTimeoutError does not);
      // the policy's own timeouts are retried, its rejections never.
      retryable: (e) => (e instanceof ServiceError ? e.retryable : defaultRetryable(e)),
    },
    breaker: {
      resetTimeout: 30_000,
      volumeThreshold: 20,
      errorThresholdPercentage: 50,
      rollingCountTimeout: 10_000,
      ...lp.breaker,
      // A prompt too long for the model is our bug, not the provider's health.
      errorFilter: (e: unknown) => e instanceof ContextLengthError,
    },
    pool: { concurrency: lp.concurrency ?? 64, queue: lp.queue ?? 1024, ...(lp.queueTimeoutMs === undefined ? {} : { queueTimeoutMs: lp.queueTimeoutMs }) },
  });
  const tokenBudget = obs.tokenBudget(AGENT_NAME, options.tokenBudget ?? { limit: 2_000_000, windowMs: 3_600_000 });
  const agent = createSupportAgent({
    obs,
    llm: createSimulatedLlm(() => faults),
    tools,
    log,
    ledger,
    seed,
    llmPolicy,
    tokenBudget,
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
    sloHealth: obs.sla.healthHandler(),
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
    llmPolicy,
    tokenBudget,
    sloHealthUrl: `${url}/healthz/slo`,
    loadStats: () => load?.stats(),
    stop,
  };
}
