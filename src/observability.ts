/**
 * The root handle. It owns the registry binding, the label policy, the self-metrics and
 * every family; all instrumentation hangs off it, and `shutdown()` releases all of it.
 * There are no module-level singletons.
 */
import { Registry } from 'prom-client';
import {
  METRICS, agentDuration, buildInfo, internalErrors, labelOverflow, labelSanitized,
  llmCallDuration, llmTokenUsage, operationActive, stepDuration, toolDuration, workflowDuration,
  type CatalogHistogramName, type CatalogMetricName, type MetricDef,
} from './catalog/metrics.js';
import { assertLabelName, validateBuckets } from './catalog/naming.js';
import { boolean, object, optionalFunc, optionsObject, positiveInt, stringSet } from './catalog/validate.js';
import { ConfigError } from './errors.js';
import { createExposition, type ExpositionApi } from './exposition/index.js';
import {
  HandleFactory, type AnyFunction, type LlmCallHandle, type LlmCallOptions, type OperationHandle, type OperationKind,
  type StepOptions, type ToolOptions, type WorkflowHandle,
} from './instrument/handles.js';
import { defaultErrorType } from './instrument/error-type.js';
import type { ObsContext } from './internal/context.js';
import { resolveSlos, type SloSpec } from './catalog/slo.js';
import { createSla, type Sla } from './sla/index.js';
import { guardClock } from './internal/clock.js';
import { Diag, stderrLogger, type DiagLogger } from './internal/diag.js';
import type { LabelPolicyHooks, LabelPolicySettings } from './metrics/labels.js';
import { installRuntimeMetrics } from './runtime/runtime.js';
import { createResilience, type ResilienceApi } from './resilience/resilience.js';
import { createTracing, type Tracing, type TracingApi, type TracingOptions } from './tracing/index.js';
import { liveTracer } from './tracing/provider.js';
import { CounterFamily, GaugeFamily, HistogramFamily, type CounterSeries, type Family } from './metrics/store.js';
import { VERSION } from './version.js';

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
  /** Monotonic clock in milliseconds; inject one in tests. @default performance.now */
  readonly clock?: () => number;
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
  llm<T = unknown>(options: LlmCallOptions<T>): LlmCallHandle;
  /** Wraps an agent entry point; same type back. */
  instrumentAgent<F extends AnyFunction>(fn: F, options: { readonly agent: string }): F;
  /** Wraps a workflow; same type back. */
  instrumentWorkflow<F extends AnyFunction>(fn: F, options: { readonly workflow: string }): F;
  /** Wraps a workflow step; same type back. */
  instrumentStep<F extends AnyFunction>(fn: F, options: { readonly step: string } & StepOptions): F;
  /** Wraps a tool; same type back. */
  instrumentTool<F extends AnyFunction>(fn: F, options: { readonly tool: string } & ToolOptions): F;
  /** Wraps an LLM call; `usage` maps its awaited result to token counts. Same type back. */
  instrumentLlmCall<F extends AnyFunction>(fn: F, options: LlmCallOptions<Awaited<ReturnType<F>>>): F;
  /** Wraps `fn` as a unit of `kind`, chosen at run time; unknown kinds throw {@link ConfigError}. */
  instrument<F extends AnyFunction>(kind: OperationKind, fn: F, options: InstrumentOptions): F;
  /** In-process SLO checks over the `slos` option: `check()`, `onBreach`, `onRecover`, `healthHandler()`. */
  readonly sla: Sla;
  /** Unregisters our metrics, closes servers it started. Wrapped functions keep working, unrecorded. Idempotent. */
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
  optionsObject(options, 'options');
  const registry = options.registry ?? new Registry();
  if (typeof (registry as Partial<Registry>).registerMetric !== 'function') {
    throw new ConfigError('registry', 'a prom-client Registry', registry);
  }
  const runtimeMetrics = boolean(options.runtimeMetrics, 'runtimeMetrics', true);
  const errorType = optionalFunc(options.errorType, 'errorType') ?? defaultErrorType;
  optionalFunc(options.clock, 'clock');
  if (options.logger !== undefined && options.logger !== false && typeof options.logger?.warn !== 'function') {
    throw new ConfigError('logger', 'an object with a warn(details, message) method, or false', options.logger);
  }
  const settings = resolveSettings(options.cardinality);
  const bucketOverrides = resolveBuckets(options.buckets);
  const slos = resolveSlos(options.slos, 'slos', { buckets: (name) => bucketOverrides.get(name), allowed: settings.allow });
  const logger = options.logger === false ? undefined : (options.logger ?? stderrLogger);

  const families = new Map<string, Family>();
  // Self-metric counters are bound lazily and cached; their label values come from the catalog only.
  const selfSeries = new Map<string, CounterSeries>();
  // Filled right below; the label policy hooks need them before the families exist.
  const self: { overflow?: CounterFamily; sanitized?: CounterFamily } = {};
  const bump = (fam: CounterFamily | undefined, metric: string, label: string): void => {
    if (fam === undefined) return;
    const key = `${fam.def.name}\u0000${metric}\u0000${label}`;
    let s = selfSeries.get(key);
    if (s === undefined) {
      s = fam.child([metric, label]);
      selfSeries.set(key, s);
    }
    s.inc();
  };
  const hooks: LabelPolicyHooks = {
    overflow: (metric, label) => bump(self.overflow, metric, label),
    sanitized: (metric, label) => bump(self.sanitized, metric, label),
  };
  // Self-metrics are keyed by catalog names only, so they never need a cap. No length cap
  // either: cutting a metric name would re-enter the `sanitized` hook from inside it.
  const unlimited: LabelPolicySettings = {
    ...settings, maxValuesPerLabel: Infinity, maxSeriesPerMetric: Infinity, maxValueLength: Infinity, allow: new Map(),
  };

  function family<M extends MetricDef>(def: M, policy = settings): Family {
    let f = families.get(def.name);
    if (f !== undefined) return f;
    switch (def.type) {
      case 'counter':
        f = new CounterFamily(def, policy, hooks);
        break;
      case 'gauge':
        f = new GaugeFamily(def, policy, hooks);
        break;
      case 'histogram':
        f = new HistogramFamily(def, bucketOverrides.get(def.name) ?? (def.buckets as readonly number[]), policy, hooks);
        break;
    }
    try {
      registry.registerMetric(f as never);
    } catch (e) {
      throw new ConfigError(`registry.${def.name}`, 'a registry without a metric of this name', (e as Error).message);
    }
    families.set(def.name, f);
    return f;
  }
  const histogram = (def: MetricDef): HistogramFamily => family(def) as HistogramFamily;

  self.overflow = family(labelOverflow, unlimited) as CounterFamily;
  self.sanitized = family(labelSanitized, unlimited) as CounterFamily;
  const diag = new Diag(family(internalErrors, unlimited) as CounterFamily, logger);
  (family(buildInfo, unlimited) as GaugeFamily).child([VERSION]).set(1);
  const clock = guardClock(options.clock, diag);

  const handles = new HandleFactory(
    {
      agent: histogram(agentDuration),
      workflow: histogram(workflowDuration),
      step: histogram(stepDuration),
      tool: histogram(toolDuration),
      llm: histogram(llmCallDuration),
      tokens: histogram(llmTokenUsage),
      active: family(operationActive) as GaugeFamily,
    },
    {
      clock, diag, errorType,
      // Handles bind lazily, after `sla` exists; without SLOs recorders get no taps at all.
      ...(slos.length > 0 ? { taps: (def: MetricDef, values: readonly string[]) => sla.tapsFor(def, values) } : {}),
      // Also bound lazily, after `tracing` exists.
      tracer: (def: MetricDef) => tracing.callTracer(def),
    },
  );


  const shutdownHooks: (() => void | Promise<void>)[] = [];
  // Tracing is wired after the other capabilities; until then the hooks answer "none".
  const tracingHooks: { current?: Tracing } = {};
  /** Handed to capability folders (resilience, sla, tracing) so they never reach into this file. */
  const ctx: ObsContext = {
    registry,
    counter: (def) => family(def) as CounterFamily,
    gauge: (def) => family(def) as GaugeFamily,
    histogram: (def) => family(def) as HistogramFamily,
    diag,
    clock,
    logger,
    correlationId: () => tracingHooks.current?.api.correlationId(),
    // The no-provider check first: with no SDK this is one global load per observation.
    activeExemplar: () => (liveTracer() === undefined ? undefined : tracingHooks.current?.activeExemplar()),
    onShutdown: (fn) => void shutdownHooks.push(fn),
  };
  if (runtimeMetrics) {
    const runtime = installRuntimeMetrics(ctx);
    ctx.onShutdown(() => runtime.stop());
  }
  const resilience = createResilience(ctx);
  const sla = createSla(ctx, slos);
  const tracing = createTracing(ctx, options.tracing, options.clock === undefined);
  tracingHooks.current = tracing;

  const exposition = createExposition(registry, (e) => diag.error('exposition', e));
  let shutDown: Promise<void> | undefined;

  return {
    registry,
    ...resilience,
    ...tracing.api,
    sla,
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
    ...exposition.api,
    shutdown: () =>
      (shutDown ??= (async () => {
        for (const hook of shutdownHooks.reverse()) {
          try {
            await hook();
          } catch (e) {
            diag.error('shutdown', e);
          }
        }
        await exposition.close();
        for (const name of families.keys()) registry.removeSingleMetric(name);
        families.clear();
      })()),
  };
}

export type { CatalogMetricName };
