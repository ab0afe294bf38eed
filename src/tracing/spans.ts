/**
 * Spans for every instrumented unit, over `@opentelemetry/api` only, named and attributed
 * per the OpenTelemetry GenAI semantic conventions:
 *
 *   invoke_agent {agent}        INTERNAL   gen_ai.operation.name=invoke_agent, gen_ai.agent.name
 *   invoke_workflow {workflow}  INTERNAL   gen_ai.operation.name=invoke_workflow, gen_ai.workflow.name
 *   workflow_step {step}        INTERNAL   gen_ai.workflow.name, agentobs.workflow.step
 *   execute_tool {tool}         INTERNAL   gen_ai.operation.name=execute_tool, gen_ai.tool.name, gen_ai.agent.name
 *   {operation} {model}         CLIENT     gen_ai.operation.name, gen_ai.provider.name, gen_ai.request.model,
 *                                          gen_ai.agent.name, gen_ai.usage.input_tokens/output_tokens
 *
 * Failures add `error.type` (the same value as the metric's `error_type`), an ERROR status
 * and an `exception` event with `exception.type`; `exception.message` only when the
 * `exceptionMessages` option asks for it (messages carry prompts, IDs and keys: provider SDKs
 * echo part of a rejected API key), short and cleaned; never the stack.
 *
 * The conventions are still moving: every name lives in {@link SPAN_ATTRIBUTES} and {@link spanSpecFor},
 * so a rename is one edit.
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type TimeInput, type Tracer } from '@opentelemetry/api';
import { agentDuration, llmCallDuration, stepDuration, toolDuration, workflowDuration, type MetricDef } from '../catalog/metrics.js';
import type { CallSpan, CallTracer, ExemplarLabels, SpanSubject, UsageCounts } from '../internal/span-hook.js';
import { liveTracer } from './provider.js';
import type { TracingState } from './state.js';
import type { WallBase } from './wall-clock.js';

/** Attribute names (GenAI semantic conventions, plus ours under `agentobs.`). */
export const SPAN_ATTRIBUTES = Object.freeze({
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  agentName: 'gen_ai.agent.name',
  toolName: 'gen_ai.tool.name',
  workflowName: 'gen_ai.workflow.name',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheWriteTokens: 'gen_ai.usage.cache_creation.input_tokens',
  reasoningTokens: 'gen_ai.usage.reasoning.output_tokens',
  errorType: 'error.type',
  exceptionType: 'exception.type',
  exceptionMessage: 'exception.message',
  step: 'agentobs.workflow.step',
  correlationId: 'agentobs.correlation_id',
  streamOutcome: 'agentobs.stream.outcome',
  streamChunks: 'agentobs.stream.chunks',
} as const);

/** Longest `exception.message` we record; longer ones are cut and end in `…`. */
export const MAX_EXCEPTION_MESSAGE = 256;

/** Name, kind and fixed attributes of a recorder's spans, resolved once when it is bound. */
export interface SpanSpec {
  readonly name: string;
  readonly kind: SpanKind;
  readonly attributes: Attributes;
}

/**
 * The span of a catalog duration metric's calls. `base` are the raw names the handle was
 * bound with, in catalog label order without `error_type` (spans are not subject to the
 * label policy: a model outside the allow-list is `_OTHER` in metrics, itself in spans).
 */
export function spanSpecFor(def: MetricDef, base: readonly string[]): SpanSpec | undefined {
  const v = (label: string): string => {
    const i = def.labels.indexOf(label);
    return i === -1 ? '' : (base[i] ?? '');
  };
  const attrs = (a: Record<string, string>): Attributes => {
    const out: Attributes = {};
    for (const [k, x] of Object.entries(a)) if (x !== '') out[k] = x;
    return Object.freeze(out);
  };
  switch (def.name) {
    case agentDuration.name: {
      const agent = v('gen_ai_agent_name');
      return { name: `invoke_agent ${agent}`, kind: SpanKind.INTERNAL, attributes: attrs({ [SPAN_ATTRIBUTES.operationName]: 'invoke_agent', [SPAN_ATTRIBUTES.agentName]: agent }) };
    }
    case workflowDuration.name: {
      const workflow = v('gen_ai_workflow_name');
      return {
        name: `invoke_workflow ${workflow}`,
        kind: SpanKind.INTERNAL,
        attributes: attrs({ [SPAN_ATTRIBUTES.operationName]: 'invoke_workflow', [SPAN_ATTRIBUTES.workflowName]: workflow }),
      };
    }
    case stepDuration.name: {
      const step = v('step');
      return { name: `workflow_step ${step}`, kind: SpanKind.INTERNAL, attributes: attrs({ [SPAN_ATTRIBUTES.workflowName]: v('gen_ai_workflow_name'), [SPAN_ATTRIBUTES.step]: step }) };
    }
    case toolDuration.name: {
      const tool = v('gen_ai_tool_name');
      return {
        name: `execute_tool ${tool}`,
        kind: SpanKind.INTERNAL,
        attributes: attrs({ [SPAN_ATTRIBUTES.operationName]: 'execute_tool', [SPAN_ATTRIBUTES.toolName]: tool, [SPAN_ATTRIBUTES.agentName]: v('gen_ai_agent_name') }),
      };
    }
    case llmCallDuration.name: {
      const operation = v('gen_ai_operation_name') || 'chat';
      const model = v('gen_ai_request_model');
      return {
        name: `${operation} ${model}`,
        kind: SpanKind.CLIENT,
        attributes: attrs({
          [SPAN_ATTRIBUTES.operationName]: operation,
          [SPAN_ATTRIBUTES.providerName]: v('gen_ai_provider_name'),
          [SPAN_ATTRIBUTES.requestModel]: model,
          [SPAN_ATTRIBUTES.agentName]: v('gen_ai_agent_name'),
        }),
      };
    }
    default:
      return undefined;
  }
}

// C0/C1 controls, line/paragraph separators and bidi controls.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Cuts `s` to `max` UTF-16 units (never inside a surrogate pair) and replaces control characters. */
export function cleanText(s: string, max: number): string {
  let v = s;
  if (v.length > max) {
    v = v.slice(0, max - 1);
    const last = v.charCodeAt(v.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) v = v.slice(0, -1);
    v += '…';
  }
  return v.replace(UNSAFE_TEXT, ' ');
}

/** `exception.type`: the error's name or class, bounded. */
export function exceptionType(err: unknown): string {
  if (typeof err !== 'object' || err === null) return typeof err;
  try {
    const name = (err as { name?: unknown }).name;
    if (typeof name === 'string' && name !== '') return cleanText(name, 128);
    const ctor = (err as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof ctor === 'string' && ctor !== '' ? cleanText(ctor, 128) : 'Error';
  } catch {
    return 'Error';
  }
}

/** The standard classes (ECMAScript, Node, the DOM's): naming one says nothing about the user's data. */
const STANDARD_EXCEPTION_TYPES: ReadonlySet<string> = new Set([
  'Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError',
  'AbortError', 'TimeoutError', 'DOMException', 'SystemError', 'object', 'string', 'number', 'bigint', 'symbol', 'undefined', 'boolean', 'function',
]);

/**
 * Under an `errorTypes` allow-list, `exception.type` is held to it as well (a class or `name`
 * is as much user text as a `code`): a listed or standard type is kept, any other is `_OTHER`.
 * Without a list (the filter is the identity) it is kept as it is.
 */
function allowedExceptionType(type: string, filter: (t: string) => string): string {
  return filter(type) === type || STANDARD_EXCEPTION_TYPES.has(type) ? type : '_OTHER';
}

/** The longest message handed to a redactor (it sees more than is recorded, to find what to cut). */
const MAX_REDACTOR_INPUT = 4096;

function rawMessage(err: unknown): string | undefined {
  try {
    const m = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : err;
    return typeof m === 'string' ? m.slice(0, MAX_REDACTOR_INPUT) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `exception.message` under the `exceptionMessages` option: omitted by default; cleaned and cut
 * when `true`; a redactor's answer (cleaned and cut too) when a function. A redactor that throws
 * or returns a non-string records no message, and its failure is counted.
 */
function exceptionMessage(err: unknown, errorType: string, exception: string, state: TracingState): string | undefined {
  const policy = state.options.exceptionMessages;
  if (policy === false) return undefined;
  const raw = rawMessage(err);
  if (raw === undefined) return undefined;
  if (policy === true) return cleanText(raw, MAX_EXCEPTION_MESSAGE);
  let out: unknown;
  try {
    out = policy(raw, { errorType, exceptionType: exception });
  } catch (e) {
    state.ctx.diag.error('tracing', e);
    return undefined;
  }
  return typeof out === 'string' && out !== '' ? cleanText(out, MAX_EXCEPTION_MESSAGE) : undefined;
}

/** Records a failure on `span`: `error.type`, ERROR status, an `exception` event. Never throws. */
export function recordFailure(span: Span, err: unknown, errorType: string, time: TimeInput | undefined, state: TracingState): void {
  span.setAttribute(SPAN_ATTRIBUTES.errorType, errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
  const type = allowedExceptionType(exceptionType(err), state.ctx.errorTypeFilter);
  const attrs: Attributes = { [SPAN_ATTRIBUTES.exceptionType]: type };
  const message = exceptionMessage(err, errorType, type, state);
  if (message !== undefined) attrs[SPAN_ATTRIBUTES.exceptionMessage] = message;
  span.addEvent('exception', attrs, time);
}

/** A call with a live span: the SDK path. */
class LiveCall implements CallSpan {
  constructor(
    private readonly span: Span,
    private readonly ctx: ReturnType<typeof context.active>,
    readonly exemplar: ExemplarLabels | undefined,
    private readonly state: TracingState,
    /** The wall-clock base the span started on (its end uses the same, so the duration is the recorder's). */
    private readonly base: WallBase | undefined,
  ) {}

  run(fn: (this: unknown, ...args: unknown[]) => unknown, thisArg: unknown, args: readonly unknown[]): unknown {
    return context.with(this.ctx, fn, thisArg, ...args);
  }

  usage(u: UsageCounts): void {
    try {
      this.count(SPAN_ATTRIBUTES.inputTokens, u.input);
      this.count(SPAN_ATTRIBUTES.outputTokens, u.output);
      this.count(SPAN_ATTRIBUTES.cacheReadTokens, u.cacheRead);
      this.count(SPAN_ATTRIBUTES.cacheWriteTokens, u.cacheWrite);
      this.count(SPAN_ATTRIBUTES.reasoningTokens, u.reasoning);
    } catch (e) {
      this.state.ctx.diag.error('tracing', e);
    }
  }

  private count(key: string, n: number | undefined): void {
    if (typeof n === 'number' && n >= 0 && n !== Infinity) this.span.setAttribute(key, n);
  }

  stream(outcome: string, chunks: number): void {
    try {
      this.span.setAttribute(SPAN_ATTRIBUTES.streamOutcome, outcome);
      this.span.setAttribute(SPAN_ATTRIBUTES.streamChunks, chunks);
    } catch (e) {
      this.state.ctx.diag.error('tracing', e);
    }
  }

  ok(t1: number): void {
    try {
      this.span.end(this.state.spanTime(this.base, t1));
    } catch (e) {
      this.state.ctx.diag.error('tracing', e);
    }
  }

  fail(t1: number, err: unknown, errorType: string): void {
    const time = this.state.spanTime(this.base, t1);
    try {
      recordFailure(this.span, err, errorType, time, this.state);
    } catch (e) {
      this.state.ctx.diag.error('tracing', e);
    }
    try {
      this.span.end(time);
    } catch (e) {
      this.state.ctx.diag.error('tracing', e);
    }
  }
}

/** `spans: false` with exemplars on: no span of our own, the active span's exemplar. */
class PassiveCall implements CallSpan {
  constructor(readonly exemplar: ExemplarLabels) {}
  run(fn: (this: unknown, ...args: unknown[]) => unknown, thisArg: unknown, args: readonly unknown[]): unknown {
    return fn.apply(thisArg, args as unknown[]);
  }
  usage(): void {}
  stream(): void {}
  ok(): void {}
  fail(): void {}
}

/** A started span, the context that makes it active, and the wall-clock base of its times. */
export interface StartedSpan {
  readonly span: Span;
  readonly ctx: ReturnType<typeof context.active>;
  readonly base: WallBase | undefined;
}

/** Starts a span under the active context, stamped with the correlation ID. Throws only what the tracer throws. */
export function startSpan(tracer: Tracer, state: TracingState, spec: SpanSpec, t0: number): StartedSpan {
  const parent = context.active();
  const base = state.spanBase(t0);
  const startTime = state.spanTime(base, t0);
  const span = tracer.startSpan(
    spec.name,
    startTime === undefined ? { kind: spec.kind, attributes: spec.attributes } : { kind: spec.kind, attributes: spec.attributes, startTime },
    parent,
  );
  const id = state.current()?.id;
  if (id !== undefined) span.setAttribute(SPAN_ATTRIBUTES.correlationId, id);
  return { span, ctx: trace.setSpan(parent, span), base };
}

/** The {@link CallTracer} of one catalog duration metric, shared by its recorders. */
class SpanCallTracer implements CallTracer {
  constructor(
    private readonly def: MetricDef,
    private readonly state: TracingState,
  ) {}

  start(t0: number, subject: SpanSubject): CallSpan | undefined {
    const tracer = liveTracer();
    if (tracer === undefined) return undefined;
    try {
      // Built on a recorder's first span: a service with no tracer provider binds many handles
      // and never needs their span names and attribute objects.
      const spec = (subject.spanCache as SpanSpec | undefined) ?? (subject.spanCache = spanSpecFor(this.def, subject.spanNames()) as SpanSpec);
      const { span, ctx, base } = startSpan(tracer, this.state, spec, t0);
      return new LiveCall(span, ctx, this.state.exemplarOf(span), this.state, base);
    } catch (e) {
      this.state.ctx.diag.error('tracing', e);
      return undefined;
    }
  }

  activeExemplar(): ExemplarLabels | undefined {
    return this.state.activeExemplar();
  }

  timestamp(t1: number): number {
    return this.state.timestamp(t1);
  }
}

/** Exemplars only (`spans: false`). */
class ExemplarCallTracer implements CallTracer {
  constructor(private readonly state: TracingState) {}
  start(): CallSpan | undefined {
    try {
      const ex = this.state.activeExemplar();
      return ex === undefined ? undefined : new PassiveCall(ex);
    } catch (e) {
      this.state.ctx.diag.error('tracing', e);
      return undefined;
    }
  }
  activeExemplar(): ExemplarLabels | undefined {
    return this.state.activeExemplar();
  }
  timestamp(t1: number): number {
    return this.state.timestamp(t1);
  }
}

/**
 * The recorder hook: a {@link CallTracer} for the recorders of catalog duration metrics,
 * `undefined` (no per-call cost at all) when both spans and exemplars are off.
 */
export function callTracerFor(state: TracingState, def: MetricDef): CallTracer | undefined {
  const { spans, exemplars } = state.options;
  const withSpans = spans && SPAN_METRICS.has(def.name);
  if (!withSpans && !exemplars) return undefined;
  // One exemplar-only tracer per state (it holds nothing else), one span tracer per metric.
  const key = withSpans ? def.name : '';
  let t = state.callTracers.get(key);
  if (t === undefined) {
    t = withSpans ? new SpanCallTracer(def, state) : new ExemplarCallTracer(state);
    state.callTracers.set(key, t);
  }
  return t;
}

/** The duration metrics whose calls get spans (see {@link spanSpecFor}). */
const SPAN_METRICS: ReadonlySet<string> = new Set([agentDuration.name, workflowDuration.name, stepDuration.name, toolDuration.name, llmCallDuration.name]);
