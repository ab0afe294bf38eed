/**
 * Log correlation: the fields that tie a log line to its request, trace and span.
 * `obs.logFields()` builds them for the current async context; `obs.pinoMixin` is the same
 * function shaped for pino's `mixin` option, so every line carries them:
 *
 *   const log = pino({ mixin: obs.pinoMixin });
 *   log.info({ task_id }, 'task started');
 *   // {"level":30,...,"correlation_id":"0190…","trace_id":"4bf9…","span_id":"00f0…","task_id":"t-1","msg":"task started"}
 */
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import type { TracingState } from './state.js';

/** Correlation fields of a log line; a field is absent when there is no such context. */
export interface LogFields {
  /** The request's correlation ID (`x-correlation-id`). */
  correlation_id?: string;
  /** The active trace (or, with no tracer provider, the caller's trace from `traceparent`). */
  trace_id?: string;
  /** The active span; absent with no tracer provider. */
  span_id?: string;
}

/** The active span's IDs. */
export interface TraceIds {
  readonly traceId: string;
  readonly spanId: string;
  /** Whether the span is sampled (exported, and exemplars reference it). */
  readonly sampled: boolean;
}

export function traceIds(): TraceIds | undefined {
  const sc = trace.getSpanContext(context.active());
  if (sc === undefined || !isSpanContextValid(sc)) return undefined;
  return { traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & 1) === 1 };
}

export function logFields(state: TracingState): LogFields {
  const out: LogFields = {};
  try {
    const corr = state.current();
    if (corr !== undefined) out.correlation_id = corr.id;
    const sc = trace.getSpanContext(context.active());
    if (sc !== undefined && isSpanContextValid(sc)) {
      out.trace_id = sc.traceId;
      out.span_id = sc.spanId;
    } else if (corr?.traceId !== undefined) {
      out.trace_id = corr.traceId;
    }
  } catch (e) {
    state.ctx.diag.error('tracing', e);
  }
  return out;
}
