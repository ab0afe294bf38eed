/**
 * The seam between the recording hot path and tracing: a recorder resolves its
 * {@link CallTracer} once, when it is bound, and asks it per call for a span. With no
 * tracer provider registered the answer is `undefined` and the call runs exactly as
 * without tracing. Lives in `internal/` so `instrument/` and `tracing/` need not import
 * each other.
 */

/** Token counts of a call (the instrument capability's `TokenUsage`). */
export interface UsageCounts {
  readonly input?: number | undefined;
  readonly output?: number | undefined;
  readonly cacheRead?: number | undefined;
  readonly cacheWrite?: number | undefined;
  readonly reasoning?: number | undefined;
}

/** Exemplar labels (`trace_id`, `span_id`) of a sampled span. */
export type ExemplarLabels = Readonly<Record<string, string>>;

/**
 * What the tracing capability offers the capabilities created after it (resilience: log
 * lines and exemplars of breakers and pools). Neither method throws.
 */
export interface TraceContext {
  /** The correlation ID of the current async context (for log lines); `undefined` outside any. */
  correlationId(): string | undefined;
  /**
   * Exemplar labels of the active sampled span, for histograms observed outside a wrapped
   * call (breaker durations, pool waits); `undefined` with exemplars off or no tracer
   * provider (then it costs one global lookup).
   */
  activeExemplar(): ExemplarLabels | undefined;
}

/**
 * The recorder a span is for: its raw names, and a slot where the tracer keeps what it builds
 * from them (span name, attributes) on the first span. A tracer is shared by every recorder of
 * one metric, so a recorder pays one field for tracing, not an object of its own.
 */
export interface SpanSubject {
  /** Raw names in catalog label order without the trailing `error_type` (spans get them unsanitized). */
  spanNames(): readonly string[];
  spanCache: unknown;
}

/** Per metric (shared by its recorders): starts the spans of their calls. Never throws. */
export interface CallTracer {
  /** A span for one call of `subject` that started at `t0` (recorder clock, ms), or `undefined` when nobody listens. */
  start(t0: number, subject: SpanSubject): CallSpan | undefined;
  /** Exemplar labels of the active sampled span, for observations made outside a wrapped call. */
  activeExemplar(): ExemplarLabels | undefined;
  /** Exemplar timestamp (Unix seconds) of an observation that ended at `t1` (recorder clock, ms). */
  timestamp(t1: number): number;
}

/** One call's span. Every method swallows its own failures (they are counted, never thrown). */
export interface CallSpan {
  /** Labels for the call's duration observation; `undefined` when the span is not sampled. */
  readonly exemplar: ExemplarLabels | undefined;
  /** Runs `fn` with this span as the active one, so nested calls become its children. */
  run(fn: (this: unknown, ...args: unknown[]) => unknown, thisArg: unknown, args: readonly unknown[]): unknown;
  /** Token usage of an LLM call (`gen_ai.usage.*`). */
  usage(u: UsageCounts): void;
  /** A streamed call's end: how its stream ended and how many chunks it gave (set before `ok`/`fail`). */
  stream(outcome: string, chunks: number): void;
  /** Ends the span as a success at `t1` (NaN: let the tracer read its own clock). */
  ok(t1: number): void;
  /** Ends the span as a failure: `error.type`, error status and an `exception` event. */
  fail(t1: number, err: unknown, errorType: string): void;
}
