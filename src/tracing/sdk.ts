/**
 * `agent-observability/tracing-sdk`: a one-call OpenTelemetry SDK bootstrap on
 * `@opentelemetry/sdk-node`, for services that do not run their own. It is a separate
 * entry point so the main one never loads the SDK: `@opentelemetry/sdk-node` and
 * `@opentelemetry/exporter-trace-otlp-http` are optional peer dependencies, needed only here.
 *
 * @example
 * // tracing.ts, loaded first: node --import ./tracing.js main.js
 * import { startTracing } from 'agent-observability/tracing-sdk';
 * export const tracing = startTracing({ serviceName: 'support-agent', shutdownOnSignals: true });
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK, resources, tracing } from '@opentelemetry/sdk-node';
import { boolean, nonEmptyString, numberIn, object, optionsObject, string } from '../catalog/validate.js';
import { ConfigError } from '../errors.js';
import { liveTracer } from './provider.js';

/** A span exporter (the SDK's interface): the in-memory one in tests, a vendor's in production. */
export type SpanExporter = tracing.SpanExporter;

/** Where spans go: OTLP/HTTP (to a Collector), the console, nowhere, or your exporter. */
export type TracingExporter = 'otlp' | 'console' | 'none' | SpanExporter;

/** Options of {@link startTracing}. */
export interface StartTracingOptions {
  /** `service.name` of every span. */
  readonly serviceName: string;
  /** `service.version`. */
  readonly serviceVersion?: string;
  /**
   * `'otlp'`: OTLP/HTTP to `otlp.url` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
   * `OTEL_EXPORTER_OTLP_ENDPOINT`, default `http://localhost:4318/v1/traces`);
   * `'console'`: one object per span on stdout; `'none'`: spans are created (so trace IDs
   * reach logs and exemplars) but not exported. @default 'otlp'
   */
  readonly exporter?: TracingExporter;
  /** OTLP/HTTP settings (with `exporter: 'otlp'`). */
  readonly otlp?: {
    readonly url?: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly timeoutMillis?: number;
  };
  /** More resource attributes (`deployment.environment.name`, …). */
  readonly resourceAttributes?: Readonly<Record<string, string | number | boolean>>;
  /** Share of new traces sampled (0-1); a caller's sampling decision is always followed. @default 1 */
  readonly sampleRatio?: number;
  /** Export in batches (BatchSpanProcessor) rather than one by one. Ignored for `'console'`/`'none'`. @default true */
  readonly batch?: boolean;
  /** Detect host, process and `OTEL_RESOURCE_ATTRIBUTES` resource attributes. @default true */
  readonly autoDetectResources?: boolean;
  /**
   * Flush and shut down on these signals (`true`: SIGTERM and SIGINT), then re-raise the
   * signal when nothing else listens for it, so the process still exits. @default false
   */
  readonly shutdownOnSignals?: boolean | readonly NodeJS.Signals[];
}

/** A running SDK. */
export interface TracingSdk {
  readonly serviceName: string;
  /** Exports the spans ended so far. */
  forceFlush(): Promise<void>;
  /**
   * Flushes, shuts the SDK down and unregisters the global tracer provider, context
   * manager and propagator (so `startTracing` may run again). Idempotent.
   */
  shutdown(): Promise<void>;
}

function exporterOf(o: StartTracingOptions): SpanExporter | 'console' | 'none' {
  const e = o.exporter ?? 'otlp';
  if (e === 'console' || e === 'none') return e;
  if (e === 'otlp') {
    const otlp = o.otlp ?? {};
    optionsObject(otlp, 'otlp');
    if (otlp.url !== undefined && (typeof otlp.url !== 'string' || !/^https?:\/\//.test(otlp.url))) {
      throw new ConfigError('otlp.url', 'an http(s) URL', otlp.url);
    }
    return new OTLPTraceExporter({
      ...(otlp.url === undefined ? {} : { url: otlp.url }),
      ...(otlp.headers === undefined ? {} : { headers: { ...otlp.headers } }),
      ...(otlp.timeoutMillis === undefined ? {} : { timeoutMillis: otlp.timeoutMillis }),
    });
  }
  if (typeof e === 'object' && e !== null && typeof (e as SpanExporter).export === 'function') return e;
  throw new ConfigError('exporter', "'otlp', 'console', 'none' or a SpanExporter", e);
}

function validate(o: StartTracingOptions): void {
  optionsObject(o, 'options');
  nonEmptyString(o.serviceName, 'serviceName');
  if (o.serviceVersion !== undefined) string(o.serviceVersion, 'serviceVersion');
  if (o.sampleRatio !== undefined) numberIn(o.sampleRatio, 'sampleRatio', 0, 1);
  for (const k of ['batch', 'autoDetectResources'] as const) if (o[k] !== undefined) boolean(o[k], k);
  const attrs = o.resourceAttributes;
  if (attrs !== undefined) {
    for (const [k, v] of Object.entries(object(attrs, 'resourceAttributes'))) {
      if (!['string', 'number', 'boolean'].includes(typeof v)) throw new ConfigError(`resourceAttributes.${k}`, 'a string, number or boolean', v);
    }
  }
  const sig = o.shutdownOnSignals;
  if (sig !== undefined && typeof sig !== 'boolean' && !(Array.isArray(sig) && sig.every((s) => typeof s === 'string' && s.startsWith('SIG')))) {
    throw new ConfigError('shutdownOnSignals', 'a boolean or an array of signal names', sig);
  }
}

/**
 * Starts the OpenTelemetry SDK for traces: resource (`service.name`, `service.version`,
 * your attributes), parent-based ratio sampler, W3C trace-context + baggage propagation,
 * AsyncLocalStorage context. No metrics or logs pipelines (metrics go through
 * `createObservability`). Throws {@link ConfigError} on bad options, or when a tracer
 * provider is already registered (you run your own SDK: skip this helper).
 */
export function startTracing(options: StartTracingOptions): TracingSdk {
  validate(options);
  if (liveTracer() !== undefined) {
    throw new ConfigError('startTracing', 'no tracer provider registered yet (an SDK is already running: skip startTracing)', 'a registered provider');
  }
  const exporter = exporterOf(options);
  const processor =
    exporter === 'none' ? new tracing.NoopSpanProcessor()
    : exporter === 'console' ? new tracing.SimpleSpanProcessor(new tracing.ConsoleSpanExporter())
    : options.batch === false ? new tracing.SimpleSpanProcessor(exporter)
    : new tracing.BatchSpanProcessor(exporter);
  const attributes: Record<string, string | number | boolean> = { ...options.resourceAttributes, 'service.name': options.serviceName };
  if (options.serviceVersion !== undefined) attributes['service.version'] = options.serviceVersion;
  const ratio = options.sampleRatio ?? 1;
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    resource: resources.defaultResource().merge(resources.resourceFromAttributes(attributes)),
    autoDetectResources: options.autoDetectResources ?? true,
    spanProcessors: [processor],
    sampler: new tracing.ParentBasedSampler({
      root: ratio >= 1 ? new tracing.AlwaysOnSampler() : new tracing.TraceIdRatioBasedSampler(ratio),
    }),
    // Traces only: no metric readers or log processors from OTEL_* defaults (which would push OTLP to localhost).
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();

  let stopped: Promise<void> | undefined;
  const signals: NodeJS.Signals[] =
    options.shutdownOnSignals === true ? ['SIGTERM', 'SIGINT'] : Array.isArray(options.shutdownOnSignals) ? [...options.shutdownOnSignals] : [];
  const onSignal = (signal: NodeJS.Signals): void => {
    for (const s of signals) process.off(s, onSignal);
    void handle.shutdown().finally(() => {
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  };
  const handle: TracingSdk = {
    serviceName: options.serviceName,
    forceFlush: () => processor.forceFlush(),
    shutdown: () =>
      (stopped ??= (async () => {
        for (const s of signals) process.off(s, onSignal);
        try {
          await sdk.shutdown();
        } finally {
          trace.disable();
          context.disable();
          propagation.disable();
        }
      })()),
  };
  for (const s of signals) process.once(s, onSignal);
  return handle;
}
