/**
 * Configuration from environment variables and command-line flags (flags win), e.g.
 *
 *   PORT=8080 LLM_ERROR_RATE=0.1 npm start -- --load-rps 20 --seed 42
 *
 * Every setting has both forms: `--llm-error-rate 0.1` / `--llm-error-rate=0.1` and
 * `LLM_ERROR_RATE=0.1`. `--help` prints the table.
 */
import type { SloEvaluationOptions } from 'agent-observability';
import { DEFAULT_FAULTS, LLM_MODES, TOOL_NAMES, isToolName, type FaultsPatch, type ToolName } from './faults.js';
import type { AgentServiceOptions } from './service.js';

type Kind = 'string' | 'port' | 'rate' | 'ms' | 'pms' | 'count' | 'pcount' | 'pct' | 'rps' | 'mode' | 'rates' | 'duration';

const LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
/** `off`: no SDK (spans cost nothing); the others are `startTracing` exporters. */
export const TRACE_EXPORTERS = ['off', 'otlp', 'console', 'none'] as const;
export type TraceExporterSetting = (typeof TRACE_EXPORTERS)[number];

interface Spec {
  readonly flag: string;
  readonly env: string;
  readonly kind: Kind;
  readonly help: string;
  readonly default?: string;
}

const SPECS = [
  { flag: 'host', env: 'HOST', kind: 'string', default: '127.0.0.1', help: 'interface to bind (0.0.0.0 for all)' },
  { flag: 'port', env: 'PORT', kind: 'port', default: '8080', help: 'API port, also serving /metrics; 0 picks a free one' },
  { flag: 'metrics-port', env: 'METRICS_PORT', kind: 'port', help: 'serve /metrics on this port instead (obs.listen)' },
  { flag: 'seed', env: 'SEED', kind: 'string', help: 'seed of all simulated randomness (default: random)' },
  { flag: 'load-rps', env: 'LOAD_RPS', kind: 'rps', default: '5', help: 'built-in load in tasks per second; 0 disables it' },
  { flag: 'load-mode', env: 'LOAD_MODE', kind: 'mode', default: 'http', help: 'http (POST to our own /tasks) or in-process' },
  { flag: 'load-max-in-flight', env: 'LOAD_MAX_IN_FLIGHT', kind: 'count', default: '64', help: 'tasks in flight before load is dropped' },
  { flag: 'llm-latency-ms', env: 'LLM_LATENCY_MS', kind: 'ms', default: String(DEFAULT_FAULTS.llmLatencyMs), help: 'mean latency of the large model (small: 0.4x)' },
  { flag: 'llm-latency-jitter-ms', env: 'LLM_LATENCY_JITTER_MS', kind: 'ms', default: String(DEFAULT_FAULTS.llmLatencyJitterMs), help: 'latency is uniform in mean ± jitter' },
  { flag: 'llm-error-rate', env: 'LLM_ERROR_RATE', kind: 'rate', default: String(DEFAULT_FAULTS.llmErrorRate), help: 'share of LLM calls that fail (429 / 529 / timeout)' },
  { flag: 'llm-mode', env: 'LLM_MODE', kind: 'string', default: DEFAULT_FAULTS.llmMode, help: `forced LLM failure mode (${LLM_MODES.join(', ')})` },
  { flag: 'llm-slow-ms', env: 'LLM_SLOW_MS', kind: 'ms', default: String(DEFAULT_FAULTS.llmSlowMs), help: 'latency of every LLM call in slow mode' },
  { flag: 'llm-throttle-retry-after-ms', env: 'LLM_THROTTLE_RETRY_AFTER_MS', kind: 'ms', default: String(DEFAULT_FAULTS.llmThrottleRetryAfterMs), help: 'retry-after of the 429s in throttle mode' },
  { flag: 'llm-max-retries', env: 'LLM_MAX_RETRIES', kind: 'count', default: '2', help: 'retries of each LLM call (429, 5xx, policy timeouts)' },
  { flag: 'llm-retry-backoff-ms', env: 'LLM_RETRY_BACKOFF_MS', kind: 'ms', default: '250', help: 'retry backoff base (full jitter, doubling, capped at 10x)' },
  { flag: 'llm-max-retry-after-ms', env: 'LLM_MAX_RETRY_AFTER_MS', kind: 'ms', default: '5000', help: 'give up instead of waiting a longer retry-after' },
  { flag: 'llm-timeout-ms', env: 'LLM_TIMEOUT_MS', kind: 'pms', default: '10000', help: 'per-attempt LLM timeout (the attempt is aborted)' },
  { flag: 'llm-concurrency', env: 'LLM_CONCURRENCY', kind: 'pcount', default: '64', help: 'LLM calls at once (pool concurrency)' },
  { flag: 'llm-queue', env: 'LLM_QUEUE', kind: 'count', default: '1024', help: 'LLM calls waiting for a slot before pool_rejected' },
  { flag: 'llm-breaker-reset-ms', env: 'LLM_BREAKER_RESET_MS', kind: 'pms', default: '30000', help: 'time the LLM breaker stays open before a half-open probe' },
  { flag: 'llm-breaker-volume', env: 'LLM_BREAKER_VOLUME', kind: 'count', default: '20', help: 'calls in the rolling window before the breaker may open' },
  { flag: 'llm-breaker-error-pct', env: 'LLM_BREAKER_ERROR_PCT', kind: 'pct', default: '50', help: 'failure percentage in the rolling window that opens it' },
  { flag: 'llm-breaker-window-ms', env: 'LLM_BREAKER_WINDOW_MS', kind: 'pms', default: '10000', help: "length of the breaker's rolling window" },
  { flag: 'token-budget', env: 'TOKEN_BUDGET', kind: 'pcount', default: '2000000', help: 'tokens per budget window (agentobs_token_budget_*)' },
  { flag: 'token-budget-window-ms', env: 'TOKEN_BUDGET_WINDOW_MS', kind: 'pms', default: '3600000', help: 'token budget window' },
  { flag: 'slo-slice', env: 'SLO_SLICE', kind: 'duration', help: 'in-process SLO ring slice (library default 1m)' },
  { flag: 'slo-short-window', env: 'SLO_SHORT_WINDOW', kind: 'duration', help: 'short burn-rate window (library default 5m)' },
  { flag: 'slo-long-window', env: 'SLO_LONG_WINDOW', kind: 'duration', help: 'long burn-rate window (library default 1h)' },
  { flag: 'slo-min-requests', env: 'SLO_MIN_REQUESTS', kind: 'count', help: 'calls in the long window before a breach (library default 20)' },
  { flag: 'tool-latency-ms', env: 'TOOL_LATENCY_MS', kind: 'ms', default: String(DEFAULT_FAULTS.toolLatencyMs), help: 'mean tool latency' },
  { flag: 'tool-latency-jitter-ms', env: 'TOOL_LATENCY_JITTER_MS', kind: 'ms', default: String(DEFAULT_FAULTS.toolLatencyJitterMs), help: 'tool latency is uniform in mean ± jitter' },
  { flag: 'tool-error-rate', env: 'TOOL_ERROR_RATE', kind: 'rate', default: String(DEFAULT_FAULTS.toolErrorRate), help: 'share of tool calls that fail' },
  { flag: 'tool-error-rates', env: 'TOOL_ERROR_RATES', kind: 'rates', help: `per-tool rates, e.g. web_search=0.3,kb_lookup=0 (${TOOL_NAMES.join(', ')})` },
  { flag: 'tool-timeout-ms', env: 'TOOL_TIMEOUT_MS', kind: 'ms', default: String(DEFAULT_FAULTS.toolTimeoutMs), help: 'tool calls slower than this fail with ToolTimeoutError' },
  { flag: 'admin-token', env: 'ADMIN_TOKEN', kind: 'string', help: 'require Authorization: Bearer <token> on /admin/*' },
  { flag: 'report-interval-s', env: 'REPORT_INTERVAL_S', kind: 'count', default: '10', help: 'print a progress line every N seconds; 0 disables' },
  { flag: 'service-name', env: 'SERVICE_NAME', kind: 'string', default: 'support-agent', help: 'service name in log lines and spans' },
  { flag: 'log-level', env: 'LOG_LEVEL', kind: 'string', default: 'info', help: `pino level of the JSON log lines on stdout (${LOG_LEVELS.join(', ')})` },
  { flag: 'kb-service-url', env: 'KB_SERVICE_URL', kind: 'string', help: 'delegate kb_lookup to this service (another instance) over HTTP' },
  { flag: 'trace-exporter', env: 'TRACE_EXPORTER', kind: 'string', default: 'off', help: `start the OpenTelemetry SDK (${TRACE_EXPORTERS.join(', ')}; otlp reads OTEL_EXPORTER_OTLP_ENDPOINT)` },
] as const satisfies readonly Spec[];

type Flag = (typeof SPECS)[number]['flag'];

/** Everything `main.ts` needs. */
export interface ServiceConfig {
  readonly service: AgentServiceOptions & { readonly port: number; readonly host: string };
  /** Seconds between progress lines; 0 = none. */
  readonly reportIntervalS: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly traceExporter: TraceExporterSetting;
}

/** A bad flag or variable; `main.ts` prints it with the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function usage(): string {
  const flagWidth = Math.max(...SPECS.map((s) => s.flag.length)) + 10;
  const envWidth = Math.max(...SPECS.map((s) => s.env.length)) + 2;
  const rows = SPECS.map((s) => {
    const left = `  --${s.flag} <v>`.padEnd(flagWidth);
    const env = s.env.padEnd(envWidth);
    const def = 'default' in s ? ` (default ${s.default})` : '';
    return `${left}${env}${s.help}${def}`;
  });
  return ['Usage: node --import tsx examples/agent-service/main.ts [flags]', '', `  ${'flag'.padEnd(flagWidth - 2)}${'env'.padEnd(envWidth)}`, ...rows, '  --help, -h'].join('\n');
}

function parseNumber(raw: string, source: string, kind: Kind): number {
  const v = raw.trim() === '' ? NaN : Number(raw);
  const bad = (expected: string): never => {
    throw new UsageError(`Expected ${source} to be ${expected}, got ${JSON.stringify(raw)}`);
  };
  switch (kind) {
    case 'port':
      return Number.isInteger(v) && v >= 0 && v <= 65535 ? v : bad('a port from 0 to 65535');
    case 'rate':
      return v >= 0 && v <= 1 ? v : bad('a number from 0 to 1');
    case 'ms':
      return Number.isFinite(v) && v >= 0 && v <= 3_600_000 ? v : bad('a number of milliseconds from 0 to 3600000');
    case 'pms':
      return Number.isFinite(v) && v > 0 && v <= 86_400_000 ? v : bad('a number of milliseconds from 1 to 86400000');
    case 'count':
      return Number.isInteger(v) && v >= 0 ? v : bad('an integer >= 0');
    case 'pcount':
      return Number.isInteger(v) && v > 0 ? v : bad('an integer >= 1');
    case 'pct':
      return v >= 0 && v <= 100 ? v : bad('a percentage from 0 to 100');
    case 'rps':
      return Number.isFinite(v) && v >= 0 && v <= 10_000 ? v : bad('a rate from 0 to 10000 tasks per second');
    default:
      return bad('a number');
  }
}

function parseRates(raw: string, source: string): Partial<Record<ToolName, number>> {
  const out: Partial<Record<ToolName, number>> = {};
  for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const [tool = '', value = ''] = part.split('=').map((p) => p.trim());
    if (!isToolName(tool)) throw new UsageError(`Expected tools in ${source} to be one of ${TOOL_NAMES.join(', ')}, got ${JSON.stringify(tool)}`);
    out[tool] = parseNumber(value, `${source} ${tool}`, 'rate');
  }
  return out;
}

/** Reads flags (`--name v`, `--name=v`) over env over defaults. Returns `'help'` for `--help`. */
export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ServiceConfig | 'help' {
  const byFlag = new Map<string, Spec>(SPECS.map((s) => [s.flag, s]));
  const fromFlags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return 'help';
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const spec = m === null ? undefined : byFlag.get(m[1] as string);
    if (m === null || spec === undefined) throw new UsageError(`Unknown argument ${JSON.stringify(arg)} (see --help)`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${spec.flag} needs a value`);
    fromFlags.set(spec.flag, value);
  }

  const raw = (flag: Flag): { value: string; source: string } | undefined => {
    const spec = byFlag.get(flag) as Spec;
    const f = fromFlags.get(flag);
    if (f !== undefined) return { value: f, source: `--${flag}` };
    const e = env[spec.env];
    if (e !== undefined && e !== '') return { value: e, source: spec.env };
    return spec.default === undefined ? undefined : { value: spec.default, source: `default of --${flag}` };
  };
  const num = (flag: Flag): number | undefined => {
    const r = raw(flag);
    return r === undefined ? undefined : parseNumber(r.value, r.source, (byFlag.get(flag) as Spec).kind);
  };
  const req = (flag: Flag): number => num(flag) as number;

  const mode = raw('load-mode')?.value;
  if (mode !== 'http' && mode !== 'in-process') throw new UsageError(`Expected ${raw('load-mode')?.source} to be http or in-process, got ${JSON.stringify(mode)}`);
  const rates = raw('tool-error-rates');

  const oneOf = <T extends string>(flag: Flag, allowed: readonly T[]): T => {
    const r = raw(flag) as { value: string; source: string };
    if (!(allowed as readonly string[]).includes(r.value)) throw new UsageError(`Expected ${r.source} to be one of ${allowed.join(', ')}, got ${JSON.stringify(r.value)}`);
    return r.value as T;
  };
  const faults: FaultsPatch = {
    llmMode: oneOf('llm-mode', LLM_MODES),
    llmSlowMs: req('llm-slow-ms'),
    llmThrottleRetryAfterMs: req('llm-throttle-retry-after-ms'),
    llmLatencyMs: req('llm-latency-ms'),
    llmLatencyJitterMs: req('llm-latency-jitter-ms'),
    llmErrorRate: req('llm-error-rate'),
    toolLatencyMs: req('tool-latency-ms'),
    toolLatencyJitterMs: req('tool-latency-jitter-ms'),
    toolErrorRate: req('tool-error-rate'),
    toolTimeoutMs: req('tool-timeout-ms'),
    ...(rates === undefined ? {} : { toolErrorRates: parseRates(rates.value, rates.source) }),
  };
  const logLevel = oneOf('log-level', LOG_LEVELS);
  const traceExporter = oneOf('trace-exporter', TRACE_EXPORTERS);
  const kb = raw('kb-service-url');
  if (kb !== undefined && !/^https?:\/\/[^\s]+$/.test(kb.value)) throw new UsageError(`Expected ${kb.source} to be an http(s) URL, got ${JSON.stringify(kb.value)}`);
  const seed = raw('seed')?.value;
  const adminToken = raw('admin-token')?.value;
  const metricsPort = num('metrics-port');
  const duration = (flag: Flag): string | undefined => {
    const r = raw(flag);
    if (r === undefined) return undefined;
    if (!/^(?:\d+(?:ms|[ywdhms]))+$/.test(r.value)) throw new UsageError(`Expected ${r.source} to be a duration like 1s, 5m or 1h, got ${JSON.stringify(r.value)}`);
    return r.value;
  };
  const sloEvaluation: { -readonly [K in keyof SloEvaluationOptions]: SloEvaluationOptions[K] } = {};
  const slice = duration('slo-slice');
  const shortWindow = duration('slo-short-window');
  const longWindow = duration('slo-long-window');
  const minRequests = num('slo-min-requests');
  if (slice !== undefined) sloEvaluation.slice = slice;
  if (shortWindow !== undefined) sloEvaluation.shortWindow = shortWindow;
  if (longWindow !== undefined) sloEvaluation.longWindow = longWindow;
  if (minRequests !== undefined) sloEvaluation.minRequests = minRequests;
  return {
    service: {
      host: raw('host')?.value as string,
      port: req('port'),
      ...(metricsPort === undefined ? {} : { metricsPort }),
      ...(seed === undefined ? {} : { seed }),
      ...(adminToken === undefined ? {} : { adminToken }),
      ...(kb === undefined ? {} : { kbServiceUrl: kb.value }),
      serviceName: raw('service-name')?.value as string,
      faults,
      llmMaxRetries: req('llm-max-retries'),
      llmRetryBackoffMs: req('llm-retry-backoff-ms'),
      llmPolicy: {
        timeoutMs: req('llm-timeout-ms'),
        concurrency: req('llm-concurrency'),
        queue: req('llm-queue'),
        maxRetryAfterMs: req('llm-max-retry-after-ms'),
        breaker: {
          resetTimeout: req('llm-breaker-reset-ms'),
          volumeThreshold: req('llm-breaker-volume'),
          errorThresholdPercentage: req('llm-breaker-error-pct'),
          rollingCountTimeout: req('llm-breaker-window-ms'),
        },
      },
      tokenBudget: { limit: req('token-budget'), windowMs: req('token-budget-window-ms') },
      ...(Object.keys(sloEvaluation).length === 0 ? {} : { sloEvaluation }),
      load: { rps: req('load-rps'), mode, maxInFlight: Math.max(1, req('load-max-in-flight')) },
    },
    reportIntervalS: req('report-interval-s'),
    logLevel,
    traceExporter,
  };
}
