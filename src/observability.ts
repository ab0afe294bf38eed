/**
 * The root handle: a kernel (registry binding, label policy, self-metrics, diag, the guarded
 * clock, collect and shutdown hooks; see `internal/kernel.ts`) and the capabilities created
 * from it, in dependency order. A capability gets the kernel and, explicitly, the
 * capabilities it needs; nothing is wired after the fact. There are no module-level singletons.
 */
import { Registry } from 'prom-client';
import {
  METRICS, agentDuration, scrapes, llmCallDuration, llmCost, llmTokenDetails, llmTimePerOutputChunk, llmTimeToFirstChunk, llmStreams, llmTokenUsage, operationActive, stepDuration, toolDuration, workflowDuration,
  type CatalogHistogramName, type CatalogMetricName,
} from './catalog/metrics.js';
import { assertLabelName, validateBuckets } from './catalog/naming.js';
import { resolveSlos, type ResolvedSlo, type SloSpec } from './catalog/slo.js';
import { boolean, object, optionalFunc, optionsObject, positiveInt, stringSet } from './catalog/validate.js';
import { ConfigError } from './errors.js';
import { createExposition, type ExpositionApi } from './exposition/index.js';
import { defaultErrorType, errorTypeFilter as errorTypeFilter_ } from './instrument/error-type.js';
import { resolvePricing, type PriceTable, type PricingOptions } from './instrument/usage.js';
import {
  HandleFactory, type AnyFunction, type LlmCallHandle, type LlmCallOptions, type StreamChunk, type UsageInput, type OperationHandle, type OperationKind,
  type StepOptions, type ToolOptions, type WorkflowHandle,
} from './instrument/handles.js';
import { stderrLogger, type DiagLogger } from './internal/diag.js';
import { createKernel, type Kernel, type KernelOptions } from './internal/kernel.js';
import type { LabelPolicySettings } from './metrics/labels.js';
import { createResilience, type ResilienceApi } from './resilience/resilience.js';
import { installRuntimeMetrics } from './runtime/runtime.js';
import { createSla, type Sla, type SlaEngine } from './sla/index.js';
import { createTracing, type Tracing, type TracingApi, type TracingOptions } from './tracing/index.js';

/** Cardinality limits. Every value is checked when a series is bound, never per call. */
export interface CardinalityOptions {
  /** Distinct values per label per metric before new ones fold into `_OTHER`. @default 100 */
  readonly maxValuesPerLabel?: number;
  /** Series per metric before new label tuples fold into the all-`_OTHER` series. @default 10000 */
  readonly maxSeriesPerMetric?: number;
  /** Longer label values are cut (UTF-16 units). @default 128 */
  readonly maxValueLength?: number;
  /** Allow-list of model names (`gen_ai_request_model`); others become `_OTHER`. */
  readonly models?: readonly string[];
  /** Allow-list of tool names (`gen_ai_tool_name`). */
  readonly tools?: readonly string[];
  /** Allow-list of agent names (`gen_ai_agent_name`). */
  readonly agents?: readonly string[];
  /** Allow-lists for any other label, by label name. */
  readonly labels?: Readonly<Record<string, readonly string[]>>;
}

/** Options of {@link createObservability}. */
export interface ObservabilityOptions {
  /**
   * The prom-client Registry to register into (your own, to expose your metrics on the
   * same endpoint). @default a new Registry owned by this handle
   */
  readonly registry?: Registry;
  /**
   * Node runtime metrics: CPU, memory, heap (with its limit), heap spaces, event-loop delay and
   * utilization, GC pauses, active resources, under prom-client's default names but from our own
   * collector (stopped by `shutdown()`); names already in `registry` are left to their source. @default true
   */
  readonly runtimeMetrics?: boolean;
  /** Cardinality guard settings. */
  readonly cardinality?: CardinalityOptions;
  /** Bucket overrides for catalog histograms, by metric name. */
  readonly buckets?: Partial<Record<CatalogHistogramName, readonly number[]>>;
  /** Where internal failures are logged (pino fits). `false` silences them (still counted). @default JSON lines on stderr */
  readonly logger?: DiagLogger | false;
  /** Maps a thrown value to `error_type` (bounded by the cardinality guard). @default the error's code or class name */
  readonly errorType?: (error: unknown) => string;
  /**
   * The `error_type` values you expect (e.g. `['RateLimitError', 'ECONNRESET']`); any other
   * becomes `_OTHER` in metrics, span `error.type` and our log lines. Our own (`timeout`,
   * `circuit_open`, …) are always admitted. Use it when error codes may carry data: a `code`
   * such as `SECRET-sk-live-12345` looks like any other code to the default mapping.
   * @default every value the mapping returns (bounded by the cardinality guard)
   */
  readonly errorTypes?: readonly string[];
  /** Monotonic clock in milliseconds; inject one in tests. @default performance.now */
  readonly clock?: () => number;
  /**
   * Prices per million tokens, by model: LLM calls to a listed model add their cost to
   * `agentobs_llm_cost_total{currency}` (cached input at the cache prices, reasoning as output).
   * @example pricing: { currency: 'USD', models: { 'gpt-4o': { input: 2.5, cacheRead: 1.25, output: 10 } } }
   */
  readonly pricing?: PricingOptions;
  /**
   * SLOs evaluated in-process (`obs.sla`) from the same calls the metrics record; see
   * `defineSlo` and `loadSlos`. Latency thresholds must be bucket boundaries (overrides included).
   * @default []
   */
  readonly slos?: readonly SloSpec[];
  /**
   * Correlation IDs, spans and exemplars. Spans start only while a tracer provider is
   * registered; `false` turns spans and exemplars off (correlation still works). @default {}
   */
  readonly tracing?: TracingOptions | false;
}

/** The root handle returned by {@link createObservability}. */
export interface Observability extends ResilienceApi, TracingApi, ExpositionApi {
  /** The prom-client Registry our metrics live in. */
  readonly registry: Registry;
  /** Pre-bound agent handle (`gen_ai_invoke_agent_duration_seconds`). */
  agent(name: string): OperationHandle;
  /** Pre-bound workflow handle (`gen_ai_invoke_workflow_duration_seconds`); `.step(name)` binds its steps. */
  workflow(name: string): WorkflowHandle;
  /** Pre-bound step handle (`agentobs_workflow_step_duration_seconds`). */
  step(name: string, options?: StepOptions): OperationHandle;
  /** Pre-bound tool handle (`gen_ai_execute_tool_duration_seconds`). */
  tool(name: string, options?: ToolOptions): OperationHandle;
  /** Pre-bound LLM call handle (`gen_ai_client_operation_duration_seconds`, `gen_ai_client_token_usage`). */
  llm<T = unknown, C = never>(options: LlmCallOptions<T, C>): LlmCallHandle;
  /** Wraps an agent entry point; same type back. */
  instrumentAgent<F extends AnyFunction>(fn: F, options: { readonly agent: string }): F;
  /** Wraps a workflow; same type back. */
  instrumentWorkflow<F extends AnyFunction>(fn: F, options: { readonly workflow: string }): F;
  /** Wraps a workflow step; same type back. */
  instrumentStep<F extends AnyFunction>(fn: F, options: { readonly step: string } & StepOptions): F;
  /** Wraps a tool; same type back. */
  instrumentTool<F extends AnyFunction>(fn: F, options: { readonly tool: string } & ToolOptions): F;
  /** Wraps an LLM call; `usage` maps its awaited result to token counts. Same type back. */
  instrumentLlmCall<F extends AnyFunction>(
    fn: F,
    options: LlmCallOptions<UsageInput<Awaited<ReturnType<F>>>, StreamChunk<Awaited<ReturnType<F>>>>,
  ): F;
  /** Wraps `fn` as a unit of `kind`, chosen at run time; unknown kinds throw {@link ConfigError}. */
  instrument<F extends AnyFunction>(kind: OperationKind, fn: F, options: InstrumentOptions): F;
  /** In-process SLO checks over the `slos` option: `check()`, `onBreach`, `onRecover`, `healthHandler()`. */
  readonly sla: Sla;
  /**
   * Ends telemetry, not your program. Unregisters our metrics, ends scrapes in flight, closes the
   * servers `listen()` started and disposes breakers, pools, budgets and policies (a disposed
   * breaker passes calls straight through; a disposed pool still limits concurrency). The rule
   * afterwards: everything your code calls keeps working and records nothing, whether it was made
   * before or after — wrappers, handles, `circuitBreaker`, `pool`, `retry`, `timeout`, `policy`,
   * `tokenBudget` (what is created then comes disposed). Only `listen()` rejects with
   * {@link ConfigError}: it would open a port nobody closes. Idempotent.
   */
  shutdown(): Promise<void>;
}

/** Options of {@link Observability.instrument}: the names the kind needs. */
export interface InstrumentOptions {
  readonly agent?: string;
  readonly workflow?: string;
  readonly step?: string;
  readonly tool?: string;
  readonly model?: string;
  readonly provider?: string;
  readonly operation?: string;
  readonly usage?: (result: never) => { readonly input?: number; readonly output?: number } | undefined;
}

function resolveSettings(c: CardinalityOptions | undefined): LabelPolicySettings {
  const o = c === undefined ? {} : (optionsObject(c, 'cardinality') as CardinalityOptions);
  const allow = new Map<string, ReadonlySet<string>>();
  if (o.models !== undefined) allow.set('gen_ai_request_model', stringSet(o.models, 'cardinality.models'));
  if (o.tools !== undefined) allow.set('gen_ai_tool_name', stringSet(o.tools, 'cardinality.tools'));
  if (o.agents !== undefined) allow.set('gen_ai_agent_name', stringSet(o.agents, 'cardinality.agents'));
  if (o.labels !== undefined) {
    for (const [label, values] of Object.entries(object(o.labels, 'cardinality.labels'))) {
      assertLabelName(label, `cardinality.labels.${label}`);
      allow.set(label, stringSet(values, `cardinality.labels.${label}`));
    }
  }
  return {
    maxValuesPerLabel: positiveInt(o.maxValuesPerLabel, 'cardinality.maxValuesPerLabel', 100),
    maxSeriesPerMetric: positiveInt(o.maxSeriesPerMetric, 'cardinality.maxSeriesPerMetric', 10_000),
    maxValueLength: positiveInt(o.maxValueLength, 'cardinality.maxValueLength', 128),
    allow,
  };
}

function resolveBuckets(o: ObservabilityOptions['buckets']): Map<string, readonly number[]> {
  const out = new Map<string, readonly number[]>();
  if (o === undefined) return out;
  const histograms = new Set<string>(METRICS.filter((m) => m.type === 'histogram').map((m) => m.name));
  for (const [name, b] of Object.entries(object(o, 'buckets'))) {
    if (!histograms.has(name)) throw new ConfigError(`buckets.${name}`, `a catalog histogram (${[...histograms].join(', ')})`, name);
    out.set(name, validateBuckets(b, `buckets.${name}`));
  }
  return out;
}

/** The root options, validated: what the kernel is built from, and what the capabilities take. */
interface Resolved {
  readonly kernel: KernelOptions;
  readonly runtimeMetrics: boolean;
  readonly errorType: (error: unknown) => string;
  readonly slos: readonly ResolvedSlo[];
  readonly pricing: PriceTable | undefined;
}

function resolveOptions(options: ObservabilityOptions): Resolved {
  optionsObject(options, 'options');
  const registry = options.registry ?? new Registry();
  if (typeof (registry as Partial<Registry>).registerMetric !== 'function') {
    throw new ConfigError('registry', 'a prom-client Registry', registry);
  }
  const runtimeMetrics = boolean(options.runtimeMetrics, 'runtimeMetrics', true);
  const mapErrorType = optionalFunc(options.errorType, 'errorType') ?? defaultErrorType;
  const errorTypeFilter = errorTypeFilter_(options.errorTypes, 'errorTypes');
  // The mapping's result is checked by the recorder (a throw or a non-string is `_OTHER`, counted); the filter runs on what it returns.
  const errorType =
    options.errorTypes === undefined ? mapErrorType : (error: unknown): string => {
      const t = mapErrorType(error);
      return typeof t === 'string' ? errorTypeFilter(t) : t;
    };
  const clock = optionalFunc(options.clock, 'clock');
  if (options.logger !== undefined && options.logger !== false && typeof options.logger?.warn !== 'function') {
    throw new ConfigError('logger', 'an object with a warn(details, message) method, or false', options.logger);
  }
  const labelPolicy = resolveSettings(options.cardinality);
  const buckets = resolveBuckets(options.buckets);
  const slos = resolveSlos(options.slos, 'slos', { buckets: (name) => buckets.get(name), allowed: labelPolicy.allow });
  const logger = options.logger === false ? undefined : (options.logger ?? stderrLogger);
  const pricing = resolvePricing(options.pricing);
  return { kernel: { registry, labelPolicy, buckets, logger, clock, errorTypeFilter }, runtimeMetrics, errorType, slos, pricing };
}

/** The handles capability: pre-bound handles over the catalog's duration histograms, fed to the SLA taps and call tracers. */
function createHandles(
  kernel: Kernel, errorType: (error: unknown) => string, sla: SlaEngine, tracing: Tracing, pricing: PriceTable | undefined,
): HandleFactory {
  return new HandleFactory(
    {
      agent: kernel.histogram(agentDuration),
      workflow: kernel.histogram(workflowDuration),
      step: kernel.histogram(stepDuration),
      tool: kernel.histogram(toolDuration),
      llm: kernel.histogram(llmCallDuration),
      tokens: kernel.histogram(llmTokenUsage),
      active: kernel.gauge(operationActive),
      streams: { firstChunk: kernel.histogram(llmTimeToFirstChunk), perChunk: kernel.histogram(llmTimePerOutputChunk), streams: kernel.counter(llmStreams) },
      tokenDetails: kernel.counter(llmTokenDetails),
      cost: kernel.counter(llmCost),
    },
    // Resolved once per recorder, when it is bound: without SLOs `taps` is undefined and recorders get none.
    { clock: kernel.clock, diag: kernel.diag, errorType, taps: sla.tapsFor, tracer: tracing.callTracer },
    pricing,
  );
}

type HandleApi = Pick<
  Observability,
  'agent' | 'workflow' | 'step' | 'tool' | 'llm' | 'instrumentAgent' | 'instrumentWorkflow' | 'instrumentStep' | 'instrumentTool'
  | 'instrumentLlmCall' | 'instrument'
>;

function handleApi(handles: HandleFactory): HandleApi {
  return {
    agent: (name) => handles.agent(name),
    workflow: (name) => handles.workflow(name),
    step: (name, o) => handles.step(name, o),
    tool: (name, o) => handles.tool(name, o),
    llm: (o) => handles.llm(o),
    instrumentAgent: (fn, o) => handles.agent(o?.agent).wrap(fn),
    instrumentWorkflow: (fn, o) => handles.workflow(o?.workflow).wrap(fn),
    instrumentStep: (fn, o) => handles.step(o?.step, o).wrap(fn),
    instrumentTool: (fn, o) => handles.tool(o?.tool, o).wrap(fn),
    instrumentLlmCall: (fn, o) => handles.llm(o).wrap(fn),
    instrument: (kind, fn, o) => {
      if (typeof o !== 'object' || o === null) throw new ConfigError('instrument options', 'an options object', o);
      return handles.forKind(kind, o as Record<string, unknown>).wrap(fn);
    },
  };
}

/**
 * Creates the root handle: binds the catalog to a prom-client Registry and returns the
 * instrumentation, exposition and shutdown API. Throws {@link ConfigError} on bad options.
 *
 * @example
 * const obs = createObservability();
 * const search = obs.instrumentTool(webSearch, { tool: 'web_search', agent: 'support' });
 * http.createServer(obs.metricsHandler()).listen(9464);
 */
export function createObservability(options: ObservabilityOptions = {}): Observability {
  const o = resolveOptions(options);
  const kernel = createKernel(o.kernel);
  const { registry, diag } = kernel;

  // Each capability from the kernel and the ones it needs. Shutdown runs their hooks in
  // reverse: the exposition's, registered first, closes its servers last.
  const exposition = createExposition(registry, (e) => diag.error('exposition', e), kernel.counter(scrapes));
  kernel.onShutdown(() => exposition.close());
  if (o.runtimeMetrics) installRuntimeMetrics(kernel);
  const tracing = createTracing(kernel, options.tracing);
  const sla = createSla(kernel, o.slos);
  const resilience = createResilience(kernel, tracing);
  const handles = createHandles(kernel, o.errorType, sla, tracing, o.pricing);

  return {
    registry,
    ...resilience,
    ...tracing.api,
    sla,
    ...handleApi(handles),
    ...exposition.api,
    shutdown: kernel.shutdown,
  };
}

export type { CatalogMetricName };
