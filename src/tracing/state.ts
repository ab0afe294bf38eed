/**
 * Per-handle tracing state: the correlation store (one AsyncLocalStorage per root
 * handle, no module singleton), the resolved options, the clock bridge between the
 * recorder clock and span/exemplar times, and the replaced-ID self-metric.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { context, INVALID_TRACEID, trace, TraceFlags, type HrTime, type Span, type SpanContext } from '@opentelemetry/api';
import { correlationIdsReplaced } from '../catalog/metrics.js';
import { boolean } from '../catalog/validate.js';
import { ConfigError } from '../errors.js';
import type { Kernel } from '../internal/kernel.js';
import type { CallTracer, ExemplarLabels } from '../internal/span-hook.js';
import type { CounterSeries } from '../metrics/store.js';
import { checkCorrelationId, generateCorrelationId, type RejectReason } from './correlation/id.js';
import { parseTraceparent, validTracestate } from './correlation/traceparent.js';
import { liveTracer } from './provider.js';
import { toHrTime, WallClock, type WallBase } from './wall-clock.js';

/** Options of the tracing side of {@link createObservability} (`tracing: {...}`). */
export interface TracingOptions {
  /**
   * Start OpenTelemetry spans for instrumented calls and HTTP requests (only while a
   * tracer provider is registered; with none, nothing is started either way). @default true
   */
  readonly spans?: boolean;
  /**
   * Attach `trace_id`/`span_id` exemplars to duration observations made in a sampled span
   * (the call's own span, or with `spans: false` the active one). @default true
   */
  readonly exemplars?: boolean;
  /** Header carrying the correlation ID, in and out (case-insensitive). @default 'x-correlation-id' */
  readonly correlationHeader?: string;
  /**
   * What becomes of an error's message on spans (`exception.message` of the `exception`
   * event). `false`: left out, only `exception.type` and `error.type` are recorded; `true`:
   * recorded, cleaned and cut to 256 characters; a function: its answer is recorded (cleaned and
   * cut), `undefined` records none. Off by default because messages carry prompts, user data and
   * credentials (provider SDKs quote part of a rejected API key). @default false
   */
  readonly exceptionMessages?: boolean | ExceptionMessageRedactor;
}

/** What a redactor learns besides the message. */
export interface ExceptionContext {
  /** The `error.type` recorded (the metric's `error_type`). */
  readonly errorType: string;
  /** The `exception.type` recorded (the error's name or class). */
  readonly exceptionType: string;
}

/**
 * Turns an error message (its first 4096 characters) into what may be recorded, or
 * `undefined` for nothing. Runs on the failure path only; if it throws, no message is recorded
 * and the failure is counted in `agentobs_internal_errors_total{component="tracing"}`.
 */
export type ExceptionMessageRedactor = (message: string, context: ExceptionContext) => string | undefined;

/** What one request (or `withCorrelation` scope) carries through its async context. */
export interface CorrelationState {
  readonly id: string;
  /**
   * The inbound W3C `traceparent`, validated, kept only when no tracer provider is
   * registered, so outbound calls still forward the caller's trace (W3C pass-through).
   */
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** Trace ID of that `traceparent` (for log lines when there are no spans of our own). */
  readonly traceId?: string;
}

/** Headers as node:http hands them over. */
export type IncomingHeaders = Readonly<Record<string, string | string[] | undefined>>;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

export interface ResolvedTracingOptions {
  readonly spans: boolean;
  readonly exemplars: boolean;
  /** Lower case. */
  readonly header: string;
  readonly exceptionMessages: boolean | ExceptionMessageRedactor;
}

export function resolveTracingOptions(o: unknown): ResolvedTracingOptions {
  if (o === false) return { spans: false, exemplars: false, header: 'x-correlation-id', exceptionMessages: false };
  if (o === undefined || o === true) return { spans: true, exemplars: true, header: 'x-correlation-id', exceptionMessages: false };
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ConfigError('tracing', 'an options object or false', o);
  const t = o as Readonly<Record<keyof TracingOptions, unknown>>;
  const header = t.correlationHeader ?? 'x-correlation-id';
  if (typeof header !== 'string' || !HEADER_NAME.test(header)) {
    throw new ConfigError('tracing.correlationHeader', 'an HTTP header name (1-64 token characters)', header);
  }
  const messages = t.exceptionMessages ?? false;
  if (typeof messages !== 'boolean' && typeof messages !== 'function') {
    throw new ConfigError('tracing.exceptionMessages', 'a boolean or a function (message, context) => string | undefined', messages);
  }
  return {
    spans: boolean(t.spans, 'tracing.spans', true),
    exemplars: boolean(t.exemplars, 'tracing.exemplars', true),
    header: header.toLowerCase(),
    exceptionMessages: messages as boolean | ExceptionMessageRedactor,
  };
}

/** Where a replaced correlation ID came from, for the once-only warning. */
export type IdSource = 'header' | 'withCorrelation';

export class TracingState {
  readonly store = new AsyncLocalStorage<CorrelationState>();
  /** Bound on first use: a service that never sees a bad ID exports no such series. */
  private readonly replaced: Partial<Record<RejectReason, CounterSeries>> = {};
  /** After `shutdown()` nothing is bound any more (that would register families again). */
  private closed = false;
  private readonly wall = new WallClock(performance.timeOrigin);
  /**
   * One entry of memory for exemplar labels: the observations made inside a call (a breaker's, a
   * pool's) ask for the labels of the span the call just started, whose span context is the same object.
   */
  private lastContext: SpanContext | undefined;
  private lastLabels: ExemplarLabels | undefined;
  /** Call tracers of this handle's recorders: one per duration metric with spans, one for exemplars only (key ''). */
  readonly callTracers = new Map<string, CallTracer>();

  /** True when the recorder clock is `performance.now()`, so its readings are valid span times. */
  private readonly realClock: boolean;

  constructor(
    readonly ctx: Kernel,
    readonly options: ResolvedTracingOptions,
  ) {
    this.realClock = ctx.trustedClock;
    ctx.onShutdown(() => void (this.closed = true));
  }

  /**
   * The wall-clock base of a span starting at recorder time `t0`, or `undefined` to let the
   * tracer read its own clock (a user clock, or a failed reading). Kept by the span for its end.
   */
  spanBase(t0: number): WallBase | undefined {
    return this.realClock && Number.isFinite(t0) && t0 >= 0 ? this.wall.baseAt(t0) : undefined;
  }

  /** Recorder time `t` as a span time on `base`, or `undefined` to let the tracer read its own clock. */
  spanTime(base: WallBase | undefined, t: number): HrTime | undefined {
    return base !== undefined && Number.isFinite(t) && t >= 0 ? toHrTime(base, t) : undefined;
  }

  /** Exemplar timestamp (Unix seconds) of an observation at recorder time `t1`. */
  timestamp(t1: number): number {
    return (this.realClock && Number.isFinite(t1) && t1 >= 0 ? this.wall.epochMs(t1) : Date.now()) / 1000;
  }

  /** The recorder clock (guarded: never throws, NaN for a bad reading, already counted). */
  now(): number {
    return this.ctx.clock();
  }

  current(): CorrelationState | undefined {
    return this.store.getStore();
  }

  /**
   * The correlation ID to use for a received value: the value when valid, a new one when
   * absent, and a new one (counted, warned about once, never echoed) when invalid.
   */
  accept(raw: unknown, source: IdSource): string {
    const verdict = checkCorrelationId(raw);
    if (verdict === 'ok') return raw as string;
    if (verdict !== 'absent') this.reject(verdict, source, raw);
    return generateCorrelationId();
  }

  private reject(reason: RejectReason, source: IdSource, raw: unknown): void {
    try {
      if (!this.closed) (this.replaced[reason] ??= this.ctx.counter(correlationIdsReplaced).child([reason])).inc();
    } catch (e) {
      this.ctx.diag.error('tracing', e);
    }
    this.ctx.diag.warnOnce(
      `correlation-id:${source}:${reason}`,
      {
        component: 'tracing',
        source: source === 'header' ? this.options.header : source,
        reason,
        length: typeof raw === 'string' ? raw.length : undefined,
      },
      'agent-observability: replaced an invalid correlation ID with a generated one (counted in agentobs_correlation_ids_replaced_total; the value is never logged; further ones are not logged)',
    );
  }

  /** The correlation state of an inbound request: its ID, and its W3C trace context for pass-through. */
  inbound(headers: IncomingHeaders, passThrough: boolean): CorrelationState {
    const id = this.accept(single(headers[this.options.header]), 'header');
    if (!passThrough) return { id };
    const tp = parseTraceparent(single(headers.traceparent));
    if (tp === undefined) return { id };
    const ts = single(headers.tracestate);
    return validTracestate(ts)
      ? { id, traceparent: tp.header, tracestate: ts, traceId: tp.traceId }
      : { id, traceparent: tp.header, traceId: tp.traceId };
  }

  /** Exemplar labels for a span, when exemplars are on and it is sampled. */
  exemplarOf(span: Span): ExemplarLabels | undefined {
    if (!this.options.exemplars) return undefined;
    return this.labelsOf(span.spanContext());
  }

  /** Exemplar labels of the active span (observations outside a wrapped call). */
  activeExemplar(): ExemplarLabels | undefined {
    if (!this.options.exemplars || liveTracer() === undefined) return undefined;
    const sc = trace.getSpanContext(context.active());
    return sc === undefined ? undefined : this.labelsOf(sc);
  }

  private labelsOf(sc: SpanContext): ExemplarLabels | undefined {
    if (sc === this.lastContext) return this.lastLabels;
    const labels = sampledLabels(sc);
    this.lastContext = sc;
    this.lastLabels = labels;
    return labels;
  }
}

// No regex validation here (it cost ~80 ns per call): spans we start are valid, and a remote
// context got here through a propagator that validated it. The invalid context is never sampled.
function sampledLabels(sc: SpanContext): ExemplarLabels | undefined {
  return (sc.traceFlags & TraceFlags.SAMPLED) !== 0 && sc.traceId !== INVALID_TRACEID ? { trace_id: sc.traceId, span_id: sc.spanId } : undefined;
}

/** A header value as one string: repeated headers (arrays) are joined as node:http joins them. */
export function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}
