/**
 * Runs the example agent service until SIGINT / SIGTERM:
 *
 *   npm start                                  # API + /metrics on 127.0.0.1:8080, 5 tasks/s of load
 *   PORT=0 LOAD_RPS=20 LLM_ERROR_RATE=0.2 npm start
 *   LLM_MODE=hard_fail LLM_BREAKER_RESET_MS=5000 npm start    # LLM outage: the breaker opens, fallbacks are served
 *   npm start -- --help
 */
import pino from 'pino';
import { startTracing, type TracingSdk } from 'agent-observability/tracing-sdk';
import { parseConfig, usage, UsageError, type ServiceConfig } from './config.js';
import { startAgentService, type AgentService } from './service.js';

let config: ServiceConfig | 'help';
try {
  config = parseConfig(process.argv.slice(2), process.env);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`${e.message}\n\n${usage()}\n`);
  process.exit(2);
}
if (config === 'help') {
  process.stdout.write(`${usage()}\n`);
  process.exit(0);
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

// Spans only when asked for: with no SDK the instrumentation skips them at no cost.
let tracing: TracingSdk | undefined;
let service: AgentService;
try {
  if (config.traceExporter !== 'off') tracing = startTracing({ serviceName: config.service.serviceName ?? 'support-agent', exporter: config.traceExporter });
  service = await startAgentService({
    ...config.service,
    // JSON lines on stdout, each with correlation_id / trace_id / span_id; sync, so none is lost at exit.
    logDestination: pino.destination({ dest: 1, sync: true }),
    logLevel: config.logLevel,
  });
} catch (e) {
  process.stderr.write(`agent-service: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}

const { load } = config.service;
log(`api: ${service.url} (POST /tasks, GET /healthz, GET /healthz/slo, GET|POST /admin/faults, GET /admin/stats)`);
log(`metrics: ${service.metricsUrl}`);
if (tracing !== undefined) log(`tracing: ${config.traceExporter} exporter, service ${tracing.serviceName}`);
log(
  load !== undefined && load.rps > 0
    ? `load: ${load.rps} tasks/s (${load.mode ?? 'http'}), seed ${service.seed}`
    : `load: off, seed ${service.seed}`,
);

const summary = (): string => {
  const s = service.stats();
  const sumErrors = (ops: Readonly<Record<string, { readonly errors: Record<string, number> }>>): number =>
    Object.values(ops).reduce((n, o) => n + Object.values(o.errors).reduce((a, b) => a + b, 0), 0);
  const l = service.loadStats();
  return (
    `tasks: ${s.tasks.succeeded} succeeded, ${s.tasks.failed} failed; ` +
    `tool errors: ${sumErrors(s.tools)}; llm errors: ${sumErrors(s.llm)}; ` +
    `llm fallbacks: ${s.llmPolicy.fallbacks}, breaker ${service.llmPolicy.breaker?.state ?? 'none'}` +
    (l === undefined ? '' : `; load in flight ${l.inFlight}, dropped ${l.dropped}`)
  );
};

let reporter: NodeJS.Timeout | undefined;
if (config.reportIntervalS > 0) {
  reporter = setInterval(() => log(summary()), config.reportIntervalS * 1000);
  reporter.unref();
}

let stopping = false;
const onSignal = (signal: NodeJS.Signals): void => {
  if (stopping) {
    // A second signal means: stop waiting.
    process.stderr.write(`${signal} again, exiting now\n`);
    process.exit(130);
  }
  stopping = true;
  clearInterval(reporter);
  log(`${signal}: stopping load, draining requests`);
  // A drain that hangs must not keep the process forever.
  const watchdog = setTimeout(() => {
    process.stderr.write('shutdown timed out after 15 s\n');
    process.exit(1);
  }, 15_000);
  watchdog.unref();
  service.stop().then(
    async () => {
      await tracing?.shutdown().catch((e: unknown) => process.stderr.write(`tracing shutdown failed: ${String(e)}\n`));
      log(`stopped; ${summary()}`);
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`shutdown failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
