/**
 * THE metric catalog: every metric this package can emit, declared once as typed data.
 * Runtime instruments, PromQL in rules and dashboards, and docs are all derived from these
 * entries, so a rename is one edit here and breaks the compile everywhere else.
 *
 * GenAI semantic-convention names are used verbatim (Prometheus form) where they exist;
 * everything else is `agentobs_`. Entries are validated when this module loads.
 */
import { ConfigError } from '../errors.js';
import { exponentialBuckets, namingProblems, type MetricType, type Unit } from './naming.js';

/** One catalog entry. `L` is the union of its label names, so label sets are type-checked. */
export interface MetricDef<N extends string = string, L extends string = string, T extends MetricType = MetricType> {
  readonly name: N;
  readonly type: T;
  readonly unit: Unit;
  readonly help: string;
  readonly labels: readonly L[];
  /** Histogram bucket upper bounds (`+Inf` implicit); absent for counters and gauges. */
  readonly buckets?: readonly number[];
  /** The OpenTelemetry semantic-convention name this entry mirrors, if any. */
  readonly semconv?: string;
}
export type CounterDef<N extends string = string, L extends string = string> = MetricDef<N, L, 'counter'>;
export type GaugeDef<N extends string = string, L extends string = string> = MetricDef<N, L, 'gauge'>;
export type HistogramDef<N extends string = string, L extends string = string> = MetricDef<N, L, 'histogram'> & {
  readonly buckets: readonly number[];
};
/** Label names of a catalog entry. */
export type LabelOf<M> = M extends MetricDef<string, infer L> ? L : never;

interface EntrySpec<N extends string, L extends string> {
  readonly name: N;
  readonly unit: Unit;
  readonly help: string;
  readonly labels: readonly L[];
  readonly semconv?: string;
}

function check<M extends MetricDef>(m: M): M {
  const problems = namingProblems(m);
  if (problems.length > 0) throw new ConfigError(`catalog.${m.name}`, 'a metric following Prometheus naming', problems.join('; '));
  Object.freeze(m.labels);
  if (m.buckets !== undefined) Object.freeze(m.buckets);
  return Object.freeze(m);
}

function counter<const N extends string, const L extends string>(s: EntrySpec<N, L>): CounterDef<N, L> {
  return check({ ...s, type: 'counter' });
}
function gauge<const N extends string, const L extends string>(s: EntrySpec<N, L>): GaugeDef<N, L> {
  return check({ ...s, type: 'gauge' });
}
function histogram<const N extends string, const L extends string>(
  s: EntrySpec<N, L> & { readonly buckets: readonly number[] },
): HistogramDef<N, L> {
  return check({ ...s, type: 'histogram' });
}

/** 0.01 s … 81.92 s, doubling: LLM calls, tools and steps. */
export const CALL_DURATION_BUCKETS = Object.freeze(exponentialBuckets(0.01, 2, 14));
/** 0.1 s … 409.6 s, doubling: whole agent invocations. */
export const AGENT_DURATION_BUCKETS = Object.freeze(exponentialBuckets(0.1, 2, 13));
/** 1 s … 2 h: long-running workflows. */
export const WORKFLOW_DURATION_BUCKETS = Object.freeze([1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200]);
/** 1 … 67,108,864 tokens, ×4 (the GenAI semantic-convention advice). */
export const TOKEN_BUCKETS = Object.freeze(exponentialBuckets(1, 4, 14));
/** 1 ms … 60 s: queue waits and guarded calls. */
export const SHORT_DURATION_BUCKETS = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);
/** Attempts per retried call. */
export const ATTEMPT_BUCKETS = Object.freeze([1, 2, 3, 4, 5, 6, 8, 10]);

const LLM_LABELS = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_agent_name'] as const;

// ── RED: agents, workflows, steps, tools, LLM calls ─────────────────────────────────────

export const llmCallDuration = histogram({
  name: 'gen_ai_client_operation_duration_seconds',
  unit: 'seconds',
  help: 'Duration of GenAI client operations (LLM calls); error_type is empty on success.',
  labels: [...LLM_LABELS, 'error_type'],
  buckets: CALL_DURATION_BUCKETS,
  semconv: 'gen_ai.client.operation.duration',
});

export const llmTokenUsage = histogram({
  name: 'gen_ai_client_token_usage',
  unit: '',
  help: 'Tokens used per GenAI client operation, by token type (input/output).',
  labels: [...LLM_LABELS, 'gen_ai_token_type'],
  buckets: TOKEN_BUCKETS,
  semconv: 'gen_ai.client.token.usage',
});

/**
 * Gaps between streamed chunks are milliseconds to a second: 1 ms … 2.5 s, with the GenAI
 * semantic-convention advice for time per output token (10 ms … 2.5 s) inside it.
 */
export const CHUNK_INTERVAL_BUCKETS = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5]);

// Both chunk histograms are observed as each chunk arrives, before the stream's outcome is known,
// so they carry no error_type: a stream's failure is on the duration histogram (and llmStreams).
export const llmTimeToFirstChunk = histogram({
  name: 'gen_ai_client_operation_time_to_first_chunk_seconds',
  unit: 'seconds',
  help: 'Time from request to the first streamed chunk of a GenAI client operation, observed when that chunk arrives.',
  labels: [...LLM_LABELS],
  buckets: CALL_DURATION_BUCKETS,
  semconv: 'gen_ai.client.operation.time_to_first_chunk',
});

export const llmTimePerOutputChunk = histogram({
  name: 'gen_ai_client_operation_time_per_output_chunk_seconds',
  unit: 'seconds',
  help: 'Time between consecutive streamed chunks of a GenAI client operation, one observation per chunk after the first.',
  labels: [...LLM_LABELS],
  buckets: CHUNK_INTERVAL_BUCKETS,
  semconv: 'gen_ai.client.operation.time_per_output_chunk',
});

export const llmStreams = counter({
  name: 'agentobs_llm_streams_total',
  unit: '',
  help: 'Streamed GenAI client operations by how the stream ended: completed (read to the end), failed (an error mid-stream), cancelled (the consumer stopped early: return(), throw(), cancel() or dropped mid-way), unconsumed (dropped before the first read).',
  labels: [...LLM_LABELS, 'outcome'],
});

export const llmTokenDetails = counter({
  name: 'agentobs_llm_token_details_total',
  unit: '',
  help: 'Tokens of GenAI client operations by detail, where providers report them: cache_read and cache_write are part of the input tokens, reasoning is part of the output tokens (never add them to gen_ai_client_token_usage).',
  labels: [...LLM_LABELS, 'gen_ai_token_type'],
});

export const llmCost = counter({
  name: 'agentobs_llm_cost_total',
  unit: '',
  help: 'Cost of GenAI client operations, from the configured price table (per million tokens of each kind), in the currency the currency label names.',
  labels: [...LLM_LABELS, 'currency'],
});

export const agentDuration = histogram({
  name: 'gen_ai_invoke_agent_duration_seconds',
  unit: 'seconds',
  help: 'Duration of agent invocations; error_type is empty on success.',
  labels: ['gen_ai_agent_name', 'error_type'],
  buckets: AGENT_DURATION_BUCKETS,
  semconv: 'gen_ai.invoke_agent.duration',
});

export const toolDuration = histogram({
  name: 'gen_ai_execute_tool_duration_seconds',
  unit: 'seconds',
  help: 'Duration of tool executions; error_type is empty on success.',
  labels: ['gen_ai_tool_name', 'gen_ai_agent_name', 'error_type'],
  buckets: CALL_DURATION_BUCKETS,
  semconv: 'gen_ai.execute_tool.duration',
});

export const workflowDuration = histogram({
  name: 'gen_ai_invoke_workflow_duration_seconds',
  unit: 'seconds',
  help: 'Duration of workflow invocations; error_type is empty on success.',
  labels: ['gen_ai_workflow_name', 'error_type'],
  buckets: WORKFLOW_DURATION_BUCKETS,
  semconv: 'gen_ai.invoke_workflow.duration',
});

export const stepDuration = histogram({
  name: 'agentobs_workflow_step_duration_seconds',
  unit: 'seconds',
  help: 'Duration of workflow steps; error_type is empty on success.',
  labels: ['gen_ai_workflow_name', 'step', 'error_type'],
  buckets: CALL_DURATION_BUCKETS,
});

export const operationActive = gauge({
  name: 'agentobs_operation_active',
  unit: '',
  help: 'Instrumented calls in flight, by kind (agent, workflow, step, tool, llm) and name.',
  labels: ['kind', 'name'],
});

/** 5 ms … 300 s: the HTTP semantic-convention advice, extended for agent requests that take minutes. */
export const HTTP_DURATION_BUCKETS = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120, 300]);

export const httpServerRequestDuration = histogram({
  name: 'http_server_request_duration_seconds',
  unit: 'seconds',
  help: 'Duration of HTTP server requests, by method, route template (never the raw URL; _OTHER when unknown) and status; error_type is the status on 5xx, empty otherwise.',
  labels: ['http_request_method', 'http_route', 'http_response_status_code', 'error_type'],
  buckets: HTTP_DURATION_BUCKETS,
  semconv: 'http.server.request.duration',
});

// ── USE: pools, rate limits, token budgets, retries, circuit breakers ──────────────────

export const poolUsage = gauge({
  name: 'agentobs_pool_usage',
  unit: '',
  help: 'Calls in a concurrency pool, by state (active, queued).',
  labels: ['pool', 'state'],
});
export const poolLimit = gauge({
  name: 'agentobs_pool_limit',
  unit: '',
  help: 'Configured limit of a concurrency pool, by state (active = concurrency, queued = queue size).',
  labels: ['pool', 'state'],
});
export const poolUtilization = gauge({
  name: 'agentobs_pool_utilization_ratio',
  unit: 'ratio',
  help: 'Active calls divided by the concurrency limit of a pool.',
  labels: ['pool'],
});
export const poolWaitTime = histogram({
  name: 'agentobs_pool_wait_time_seconds',
  unit: 'seconds',
  help: 'Time calls waited in a pool queue before running.',
  labels: ['pool'],
  buckets: SHORT_DURATION_BUCKETS,
});
export const poolRejections = counter({
  name: 'agentobs_pool_rejections_total',
  unit: '',
  help: 'Calls a pool rejected, by reason (queue_full, timeout, aborted).',
  labels: ['pool', 'reason'],
});

const RATE_LIMIT_LABELS = ['gen_ai_provider_name', 'gen_ai_request_model', 'kind'] as const;
export const rateLimitLimit = gauge({
  name: 'agentobs_llm_rate_limit_limit',
  unit: '',
  help: 'Provider rate limit from response headers, by kind (requests, tokens, input_tokens, output_tokens).',
  labels: RATE_LIMIT_LABELS,
});
export const rateLimitRemaining = gauge({
  name: 'agentobs_llm_rate_limit_remaining',
  unit: '',
  help: 'Provider rate limit remaining from response headers, by kind (requests, tokens, input_tokens, output_tokens).',
  labels: RATE_LIMIT_LABELS,
});
export const rateLimitUtilization = gauge({
  name: 'agentobs_llm_rate_limit_utilization_ratio',
  unit: 'ratio',
  help: 'Share of the provider rate limit in use: 1 - remaining / limit.',
  labels: RATE_LIMIT_LABELS,
});
export const rateLimitHeadersInvalid = counter({
  name: 'agentobs_llm_rate_limit_headers_invalid_total',
  unit: '',
  help: 'Rate-limit response headers ignored because their value was not a plain non-negative number, by header name.',
  labels: ['gen_ai_provider_name', 'header'],
});
export const llmThrottled = counter({
  name: 'agentobs_llm_throttled_total',
  unit: '',
  help: 'LLM calls throttled by the provider (HTTP 429).',
  labels: ['gen_ai_provider_name', 'gen_ai_request_model'],
});

const BUDGET_LABELS = ['budget', 'gen_ai_token_type'] as const;
export const tokenBudgetUsage = gauge({
  name: 'agentobs_token_budget_usage',
  unit: '',
  help: 'Tokens used in the current token-budget window.',
  labels: BUDGET_LABELS,
});
export const tokenBudgetLimit = gauge({
  name: 'agentobs_token_budget_limit',
  unit: '',
  help: 'Token budget per window.',
  labels: BUDGET_LABELS,
});
export const tokenBudgetUtilization = gauge({
  name: 'agentobs_token_budget_utilization_ratio',
  unit: 'ratio',
  help: 'Tokens used divided by the token budget of the current window.',
  labels: BUDGET_LABELS,
});

export const retryAttempts = histogram({
  name: 'agentobs_retry_attempts',
  unit: '',
  help: 'Attempts made per retried call (1 = succeeded first time).',
  labels: ['kind', 'name'],
  buckets: ATTEMPT_BUCKETS,
});
export const retryExhausted = counter({
  name: 'agentobs_retry_exhausted_total',
  unit: '',
  help: 'Retried calls that failed after their last attempt or deadline.',
  labels: ['kind', 'name'],
});

export const breakerState = gauge({
  name: 'agentobs_circuit_breaker_state',
  unit: '',
  help: 'Circuit breaker state: 1 for the current state (closed, open, half_open), 0 for the others.',
  labels: ['breaker', 'state'],
});
export const breakerTransitions = counter({
  name: 'agentobs_circuit_breaker_transitions_total',
  unit: '',
  help: 'Circuit breaker state transitions.',
  labels: ['breaker', 'from', 'to'],
});
export const breakerCalls = counter({
  name: 'agentobs_circuit_breaker_calls_total',
  unit: '',
  help: 'Calls through a circuit breaker, by outcome (success, failure, timeout, rejected_open, rejected_capacity, cache_hit; fallback counted besides).',
  labels: ['breaker', 'outcome'],
});
export const breakerCallDuration = histogram({
  name: 'agentobs_circuit_breaker_call_duration_seconds',
  unit: 'seconds',
  help: 'Duration of calls through a circuit breaker, by outcome.',
  labels: ['breaker', 'outcome'],
  buckets: SHORT_DURATION_BUCKETS,
});
export const breakerFailureRatio = gauge({
  name: 'agentobs_circuit_breaker_failure_ratio',
  unit: 'ratio',
  help: "Failures divided by calls over the breaker's rolling window.",
  labels: ['breaker'],
});

// ── SLOs (in-process view) ──────────────────────────────────────────────────────────────

export const sloObjective = gauge({
  name: 'agentobs_slo_objective_ratio',
  unit: 'ratio',
  help: 'SLO objective (target fraction of good events).',
  labels: ['slo'],
});
export const sloErrorBudgetRemaining = gauge({
  name: 'agentobs_slo_error_budget_remaining_ratio',
  unit: 'ratio',
  help: 'Fraction of the error budget left over the SLO window (in-process).',
  labels: ['slo'],
});
export const sloBurnRate = gauge({
  name: 'agentobs_slo_burn_rate',
  unit: '',
  help: 'Error-budget burn rate over a window (1 = burning exactly the budget).',
  labels: ['slo', 'window'],
});
export const sloLatency = gauge({
  name: 'agentobs_slo_latency_seconds',
  unit: 'seconds',
  help: 'Rolling latency quantile estimated in-process from histogram buckets.',
  labels: ['slo', 'quantile'],
});

// ── Runtime and self-metrics ─────────────────────────────────────────────────────────────
// Runtime metrics keep prom-client's default names (so existing Node.js dashboards work) but
// are produced by our own collector (src/runtime/), which releases its event-loop
// monitor and GC observer on shutdown; prom-client's collectDefaultMetrics is not installed.

/** prom-client's default GC buckets, kept so existing dashboards read the same series. */
export const GC_DURATION_BUCKETS = Object.freeze([0.001, 0.01, 0.1, 1, 2, 5]);

export const processCpuUser = counter({
  name: 'process_cpu_user_seconds_total',
  unit: 'seconds',
  help: 'User CPU time spent by the process.',
  labels: [],
});
export const processCpuSystem = counter({
  name: 'process_cpu_system_seconds_total',
  unit: 'seconds',
  help: 'System CPU time spent by the process.',
  labels: [],
});
export const processCpu = counter({
  name: 'process_cpu_seconds_total',
  unit: 'seconds',
  help: 'User and system CPU time spent by the process.',
  labels: [],
});
export const processStartTime = gauge({
  name: 'process_start_time_seconds',
  unit: 'seconds',
  help: 'Start time of the process since the Unix epoch.',
  labels: [],
});
export const processResidentMemory = gauge({
  name: 'process_resident_memory_bytes',
  unit: 'bytes',
  help: 'Resident memory size of the process.',
  labels: [],
});
export const processOpenFds = gauge({
  name: 'process_open_fds',
  unit: '',
  help: 'Open file descriptors (Linux only).',
  labels: [],
});
export const processMaxFds = gauge({
  name: 'process_max_fds',
  unit: '',
  help: 'Maximum number of open file descriptors (Linux only).',
  labels: [],
});
export const heapTotal = gauge({
  name: 'nodejs_heap_size_total_bytes',
  unit: 'bytes',
  help: 'V8 heap size (committed).',
  labels: [],
});
export const heapUsed = gauge({
  name: 'nodejs_heap_size_used_bytes',
  unit: 'bytes',
  help: 'V8 heap used.',
  labels: [],
});
export const heapLimit = gauge({
  name: 'nodejs_heap_size_limit_bytes',
  unit: 'bytes',
  help: 'V8 heap size limit (the heap used at which the process runs out of memory).',
  labels: [],
});
export const externalMemory = gauge({
  name: 'nodejs_external_memory_bytes',
  unit: 'bytes',
  help: 'Memory of C++ objects bound to JavaScript objects (buffers and the like).',
  labels: [],
});
export const heapSpaceTotal = gauge({
  name: 'nodejs_heap_space_size_total_bytes',
  unit: 'bytes',
  help: 'V8 heap space size, by space.',
  labels: ['space'],
});
export const heapSpaceUsed = gauge({
  name: 'nodejs_heap_space_size_used_bytes',
  unit: 'bytes',
  help: 'V8 heap space used, by space.',
  labels: ['space'],
});
export const heapSpaceAvailable = gauge({
  name: 'nodejs_heap_space_size_available_bytes',
  unit: 'bytes',
  help: 'V8 heap space available, by space.',
  labels: ['space'],
});
const lagGauge = <const N extends string>(name: N, what: string): GaugeDef<N, never> =>
  gauge({ name, unit: 'seconds', help: `${what} of the event-loop delay since the previous scrape.`, labels: [] });
export const eventLoopLagMin = lagGauge('nodejs_eventloop_lag_min_seconds', 'Minimum');
export const eventLoopLagMax = lagGauge('nodejs_eventloop_lag_max_seconds', 'Maximum');
export const eventLoopLagMean = lagGauge('nodejs_eventloop_lag_mean_seconds', 'Mean');
export const eventLoopLagStddev = lagGauge('nodejs_eventloop_lag_stddev_seconds', 'Standard deviation');
export const eventLoopLagP50 = lagGauge('nodejs_eventloop_lag_p50_seconds', 'Median (p50)');
export const eventLoopLagP90 = lagGauge('nodejs_eventloop_lag_p90_seconds', '90th percentile');
export const eventLoopLagP99 = lagGauge('nodejs_eventloop_lag_p99_seconds', '99th percentile');
export const activeResources = gauge({
  name: 'nodejs_active_resources',
  unit: '',
  help: 'Resources (handles and requests) keeping the event loop alive, by type.',
  labels: ['type'],
});
export const gcDuration = histogram({
  name: 'nodejs_gc_duration_seconds',
  unit: 'seconds',
  help: 'Garbage collection pauses, by kind (major, minor, incremental, weakcb).',
  labels: ['kind'],
  buckets: GC_DURATION_BUCKETS,
});
export const nodeVersionInfo = gauge({
  name: 'nodejs_version_info',
  unit: '',
  help: 'Always 1; the labels tell the Node.js version.',
  labels: ['version', 'major', 'minor', 'patch'],
});

export const eventLoopUtilization = gauge({
  name: 'nodejs_eventloop_utilization_ratio',
  unit: 'ratio',
  help: 'Event-loop utilization since the previous scrape (0 = idle, 1 = always busy).',
  labels: [],
});
export const internalErrors = counter({
  name: 'agentobs_internal_errors_total',
  unit: '',
  help: 'Failures inside agent-observability itself, by component (never thrown into user code).',
  labels: ['component'],
});
export const labelOverflow = counter({
  name: 'agentobs_label_overflow_total',
  unit: '',
  help: 'Label values folded into _OTHER by the cardinality guard, by metric and label.',
  labels: ['metric', 'label'],
});
export const labelSanitized = counter({
  name: 'agentobs_label_values_sanitized_total',
  unit: '',
  help: 'Label values rewritten because they held control characters, invalid UTF-16 or were too long.',
  labels: ['metric', 'label'],
});
export const correlationIdsReplaced = counter({
  name: 'agentobs_correlation_ids_replaced_total',
  unit: '',
  help: 'Received correlation IDs replaced by generated ones, by reason (too_long: over 128 characters; invalid: characters outside [A-Za-z0-9._:-]).',
  labels: ['reason'],
});
export const scrapes = counter({
  name: 'agentobs_scrapes_total',
  unit: '',
  help: 'Requests to our /metrics handlers, by outcome (served; rejected: 503 past maxPendingScrapes; abandoned: the client left, stalled or passed its deadline; failed: 500 or cut by a failure; unauthorized: 401, a missing or wrong credential).',
  labels: ['outcome'],
});
export const buildInfo = gauge({
  name: 'agentobs_build_info',
  unit: '',
  help: 'Always 1; the version label tells which agent-observability build is running.',
  labels: ['version'],
});

/** Every catalog entry, in documentation order. */
export const METRICS = Object.freeze([
  llmCallDuration, llmTokenUsage, llmTimeToFirstChunk, llmTimePerOutputChunk, llmStreams, llmTokenDetails, llmCost, agentDuration,
  toolDuration, workflowDuration, stepDuration, operationActive, httpServerRequestDuration,
  poolUsage, poolLimit, poolUtilization, poolWaitTime, poolRejections,
  rateLimitLimit, rateLimitRemaining, rateLimitUtilization, rateLimitHeadersInvalid, llmThrottled,
  tokenBudgetUsage, tokenBudgetLimit, tokenBudgetUtilization,
  retryAttempts, retryExhausted,
  breakerState, breakerTransitions, breakerCalls, breakerCallDuration, breakerFailureRatio,
  sloObjective, sloErrorBudgetRemaining, sloBurnRate, sloLatency,
  eventLoopUtilization, eventLoopLagMin, eventLoopLagMax, eventLoopLagMean, eventLoopLagStddev, eventLoopLagP50,
  eventLoopLagP90, eventLoopLagP99, gcDuration, heapUsed, heapTotal, heapLimit, externalMemory, heapSpaceTotal,
  heapSpaceUsed, heapSpaceAvailable, activeResources, processCpuUser, processCpuSystem, processCpu,
  processResidentMemory, processStartTime, processOpenFds, processMaxFds, nodeVersionInfo,
  internalErrors, labelOverflow, labelSanitized, correlationIdsReplaced, scrapes, buildInfo,
] as const);

/** Names of every catalog metric. */
export type CatalogMetricName = (typeof METRICS)[number]['name'];
/** Names of the catalog's histograms (whose buckets may be overridden). */
export type CatalogHistogramName = Extract<(typeof METRICS)[number], { type: 'histogram' }>['name'];
