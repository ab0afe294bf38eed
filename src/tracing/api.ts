/**
 * The tracing and correlation surface of the root handle (`Observability extends
 * TracingApi`), and its wiring. Everything here goes through `@opentelemetry/api` only;
 * the SDK is the user's, or `startTracing` from `agent-observability/tracing-sdk`.
 */
import { context } from '@opentelemetry/api';
import { func } from '../catalog/validate.js';
import { ConfigError } from '../errors.js';
import type { Kernel } from '../internal/kernel.js';
import type { CallTracer, TraceContext } from '../internal/span-hook.js';
import type { MetricDef } from '../catalog/metrics.js';
import { instrumentFetch, type FetchLike } from './fetch.js';
import { logFields, traceIds, type LogFields, type TraceIds } from './logs.js';
import {
  createHttpServerTracing, fastifyPlugin, middleware, wrapHandler, type FastifyTracingPlugin, type HttpHandler,
  type HttpMiddleware, type HttpMiddlewareOptions,
} from './middleware.js';
import { injectInto, type HeaderCarrier } from './propagation.js';
import { liveTracer } from './provider.js';
import { callTracerFor } from './spans.js';
import { resolveTracingOptions, TracingState, type TracingOptions } from './state.js';

/** Correlation IDs, trace context in and out, spans for HTTP, and log fields. */
export interface TracingApi {
  /**
   * Runs `fn` with `id` as the correlation ID of everything it does (sync or async): log
   * fields, outbound headers, spans. `undefined` keeps the current scope's ID, or generates a
   * new one (UUIDv7) outside any scope; an invalid one
   * (over 128 characters, or outside `[A-Za-z0-9._:-]`) is replaced by a new one, counted in
   * `agentobs_correlation_ids_replaced_total` and never echoed. Returns what `fn` returns.
   * @example await obs.withCorrelation(job.requestId, () => agent(job))
   */
  withCorrelation<R>(id: string | undefined, fn: () => R): R;
  /** The correlation ID of the current async context, if any. */
  correlationId(): string | undefined;
  /** The active span's trace and span IDs, if a span is active. */
  traceIds(): TraceIds | undefined;
  /** `{ correlation_id, trace_id, span_id }` of the current context (absent fields omitted). */
  logFields(): LogFields;
  /**
   * {@link TracingApi.logFields} as a standalone function for pino's `mixin` option, so every
   * log line carries the IDs: `pino({ mixin: obs.pinoMixin })`.
   */
  readonly pinoMixin: () => LogFields;
  /**
   * Writes `traceparent`/`tracestate`/`baggage` (through the registered propagator) and the
   * correlation header into `headers`, for outbound calls made without
   * {@link TracingApi.instrumentFetch}. Returns `headers`.
   * @example await got(url, { headers: obs.injectHeaders({}) })
   */
  injectHeaders<H extends HeaderCarrier>(headers: H): H;
  /**
   * A `fetch` that propagates trace context and the correlation ID and (with a tracer
   * provider) runs each request in a CLIENT span. Same call shape, response and errors.
   * @default fetchImpl globalThis.fetch
   * @example const fetch = obs.instrumentFetch(); await fetch(`${kb}/search`, { method: 'POST', body })
   */
  instrumentFetch<F extends FetchLike = typeof globalThis.fetch>(fetchImpl?: F): F;
  /**
   * Express (or node:http) middleware: correlation ID in and out, SERVER span, and
   * `http_server_request_duration_seconds`. Mount it first: `app.use(obs.httpMiddleware())`.
   */
  httpMiddleware(options?: HttpMiddlewareOptions): HttpMiddleware;
  /**
   * Wraps a node:http request handler with {@link TracingApi.httpMiddleware}; same shape back.
   * @example http.createServer(obs.instrumentHttpHandler(handler, { routes: ['/tasks'] }))
   */
  instrumentHttpHandler<H extends HttpHandler>(handler: H, options?: HttpMiddlewareOptions): H;
  /** The same for Fastify, for the whole app: `await app.register(obs.fastifyTracing, { ignore })`. */
  readonly fastifyTracing: FastifyTracingPlugin;
}

/** What the root handle keeps: the public API, the recorder hook, and the trace context for the other capabilities. */
export interface Tracing extends TraceContext {
  readonly api: TracingApi;
  /** The per-metric hook (see `internal/span-hook.ts`), shared by its recorders; `undefined` when tracing is off. */
  callTracer(def: MetricDef): CallTracer | undefined;
}

/**
 * Wires tracing to a root handle. Spans reuse the recorder's readings as their times when
 * the kernel's clock is the default `performance.now()` (`kernel.trustedClock`).
 */
export function createTracing(ctx: Kernel, options: TracingOptions | false | undefined): Tracing {
  const resolved = resolveTracingOptions(options);
  const state = new TracingState(ctx, resolved);
  const enabled = resolved.spans || resolved.exemplars;
  const pinoMixin = (): LogFields => logFields(state);

  const api: TracingApi = {
    withCorrelation: (id, fn) => {
      func(fn, 'withCorrelation');
      const current = state.current();
      if (id === undefined && current !== undefined) return fn();
      // A nested scope keeps the caller's passed-through trace context; only the ID changes.
      return state.store.run({ ...current, id: state.accept(id, 'withCorrelation') }, fn);
    },
    correlationId: () => state.current()?.id,
    traceIds,
    logFields: pinoMixin,
    pinoMixin,
    injectHeaders: (headers) => {
      if (typeof headers !== 'object' || headers === null) throw new ConfigError('injectHeaders', 'a Headers or plain object', headers);
      return injectInto(state, headers, context.active());
    },
    instrumentFetch: <F extends FetchLike>(fetchImpl?: F): F => {
      const f = fetchImpl ?? (globalThis.fetch as unknown as F | undefined);
      if (typeof f !== 'function') throw new ConfigError('instrumentFetch', 'a fetch function', f);
      return instrumentFetch(state, f);
    },
    httpMiddleware: (o) => middleware(createHttpServerTracing(state, o, 'httpMiddleware options')),
    instrumentHttpHandler: (handler, o) => {
      if (typeof handler !== 'function') throw new ConfigError('instrumentHttpHandler', 'a request handler function', handler);
      return wrapHandler(createHttpServerTracing(state, o, 'instrumentHttpHandler options'), handler);
    },
    fastifyTracing: fastifyPlugin((o) => createHttpServerTracing(state, o, 'fastifyTracing options')),
  };
  return {
    api,
    callTracer: (def) => (enabled ? callTracerFor(state, def) : undefined),
    correlationId: () => state.current()?.id,
    // The no-provider check first: with no SDK this is one global load per observation.
    activeExemplar: () => {
      if (liveTracer() === undefined) return undefined;
      try {
        return state.activeExemplar();
      } catch (e) {
        ctx.diag.error('tracing', e);
        return undefined;
      }
    },
  };
}
