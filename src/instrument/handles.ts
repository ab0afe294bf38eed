/**
 * Public handle types and the factory that binds them. A handle resolves its label
 * children once; `run`/`wrap` then only touch pre-bound series.
 */
import { ConfigError } from '../errors.js';
import { labelKey } from '../metrics/labels.js';
import type { CounterFamily, GaugeFamily, HistogramFamily } from '../metrics/store.js';
import { StreamBinding, type ChunkReaders, type StreamFamilies } from './stream.js';
import { TokenRecorder, type PriceTable } from './usage.js';
import { defaultClock, Recorder, runWith, wrapWith, type RecorderContext, type RecorderKind, type TokenUsage } from './recorder.js';

/** The kinds of unit this package instruments. */
export type OperationKind = 'agent' | 'workflow' | 'step' | 'tool' | 'llm';
/** Every {@link OperationKind}, for validation and docs. */
export const OPERATION_KINDS: readonly OperationKind[] = Object.freeze(['agent', 'workflow', 'step', 'tool', 'llm']);

/** Any function; `never[]` parameters let every function type through without `any`. */
export type AnyFunction = (...args: never[]) => unknown;

/** A pre-bound instrumented operation: labels resolved once, cheap per call. */
export interface OperationHandle {
  readonly kind: OperationKind;
  /** The primary name (agent, workflow, step, tool or model). */
  readonly name: string;
  /**
   * Runs `fn` once and records its duration, outcome and `error_type`. Returns exactly
   * what `fn` returns (the same promise for async work) and rethrows what it throws.
   * @example await obs.step('plan', { workflow: 'answer' }).run(() => plan(task))
   */
  run<R>(fn: () => R): R;
  /**
   * Returns a function of the same type as `fn` that records every call; `this` and
   * arguments pass through.
   */
  wrap<F extends AnyFunction>(fn: F): F;
  /** Records a call measured elsewhere; `error` undefined means success. */
  record(durationSeconds: number, error?: unknown): void;
}

/** A workflow handle also binds its steps. */
export interface WorkflowHandle extends OperationHandle {
  /** A handle for one step of this workflow. */
  step(name: string): OperationHandle;
}

/** An LLM call handle; token usage comes from the `usage` mapper or {@link LlmCallHandle.recordUsage}. */
export interface LlmCallHandle extends OperationHandle {
  /** Records token usage measured elsewhere (e.g. at the end of a stream). */
  recordUsage(usage: TokenUsage): void;
}

/** Options of a tool handle. */
export interface ToolOptions {
  /** The agent that owns the tool (`gen_ai_agent_name`). @default '' */
  readonly agent?: string;
}

/** Options of a step handle. */
export interface StepOptions {
  /** The workflow the step belongs to (`gen_ai_workflow_name`). @default '' */
  readonly workflow?: string;
}

/** What a stream result yields: the chunk type of an async iterable or a web `ReadableStream`; `never` for other results. */
export type StreamChunk<R> = R extends ReadableStream<infer C> ? C : R extends AsyncIterable<infer C> ? C : never;

/** What the `usage` mapper of a call resolving to `R` receives: each chunk when `R` is a stream, `R` otherwise. */
export type UsageInput<R> = [StreamChunk<R>] extends [never] ? R : StreamChunk<R>;

/**
 * Options of an LLM call handle. `T`: what `usage` maps (the call's result, or a stream's chunk);
 * `C`: what `streamUsage` maps (a chunk).
 */
export interface LlmCallOptions<T = unknown, C = never> {
  /** Requested model (`gen_ai_request_model`). */
  readonly model: string;
  /** Provider, as in the GenAI conventions: `openai`, `anthropic`, `aws.bedrock`… (`gen_ai_provider_name`). @default '' */
  readonly provider?: string;
  /** Operation: `chat`, `text_completion`, `embeddings`, `generate_content`… (`gen_ai_operation_name`). @default 'chat' */
  readonly operation?: string;
  /** The calling agent (`gen_ai_agent_name`). @default '' */
  readonly agent?: string;
  /**
   * Maps the call's (awaited) result to token counts.
   * @example usage: (res) => ({ input: res.usage.prompt_tokens, output: res.usage.completion_tokens })
   */
  readonly usage?: (result: T) => TokenUsage | undefined;
  /**
   * Whether a result that is a stream (an async iterable, an SDK stream such as OpenAI's or
   * Anthropic's, a web `ReadableStream`) is observed to its end: duration to the last chunk,
   * time to first chunk, time per output chunk, usage from the chunks, the span ended with the
   * stream. `false` ends the call when the stream object is handed back.
   * @default true
   */
  readonly stream?: boolean;
  /**
   * Maps one streamed chunk to token counts; for each field the last value given wins (providers
   * report usage in the final chunk, or spread over several: Anthropic's input tokens in
   * `message_start`, output tokens in `message_delta`). Defaults to `usage`, so a mapper that
   * returns `undefined` for chunks without usage serves both. A mapper that throws is not called
   * again for that stream (one internal error per stream).
   * @example streamUsage: (chunk) => chunk.usage ? { input: chunk.usage.prompt_tokens, output: chunk.usage.completion_tokens } : undefined
   */
  readonly streamUsage?: (chunk: C) => TokenUsage | undefined;
  /**
   * Which chunks are output: the first one gives the time to first chunk, each later one a time
   * per output chunk. Others (an SDK's metadata or lifecycle events) pass through uncounted.
   * @default every chunk
   * @example outputChunk: (part) => part.type === 'text-delta'
   */
  readonly outputChunk?: (chunk: C) => boolean;
  /**
   * The error a chunk reports, or `undefined`: for SDKs that send failures as stream events (an
   * `error` event) rather than by throwing. The first such chunk fails the call when the stream
   * ends; the chunks still reach the consumer as they are.
   */
  readonly chunkError?: (chunk: C) => unknown;
}

/** The families handles bind to. */
export interface HandleFamilies {
  readonly agent: HistogramFamily;
  readonly workflow: HistogramFamily;
  readonly step: HistogramFamily;
  readonly tool: HistogramFamily;
  readonly llm: HistogramFamily;
  readonly tokens: HistogramFamily;
  readonly active: GaugeFamily;
  /** Chunk histograms and stream outcomes of LLM handles. */
  readonly streams: StreamFamilies;
  /** Cache and reasoning tokens of LLM handles. */
  readonly tokenDetails: CounterFamily;
  /** Cost of LLM calls, when a price table is given. */
  readonly cost: CounterFamily;
}

function requireName(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(path, 'a non-empty string', value);
  return value;
}

function optionalName(value: unknown, path: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw new ConfigError(path, 'a string', value);
  return value;
}

function requireObject(value: unknown, path: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw new ConfigError(path, 'an options object', value);
  return value as Record<string, unknown>;
}

/** What the handles of one kind share. */
interface HandleKind extends RecorderKind {
  readonly kind: OperationKind;
  /** Workflow handles bind their steps through it. */
  readonly factory: HandleFactory;
}

/**
 * Every kind of handle is this one class (the workflow's `step` and the LLM call's
 * `recordUsage` included, each typed only where it applies), so the recorder methods it
 * inherits see one object shape whatever mix of kinds a service binds.
 */
class Handle extends Recorder<HandleKind> implements WorkflowHandle, LlmCallHandle {
  get kind(): OperationKind {
    return this.shared.kind;
  }
  run<R>(fn: () => R): R {
    return runWith(this, fn);
  }
  wrap<F extends AnyFunction>(fn: F): F {
    if (typeof fn !== 'function') throw new ConfigError(`${this.kind}(${this.name}).wrap`, 'a function', fn);
    return wrapWith(this, fn);
  }
  step(name: string): OperationHandle {
    if (this.shared.kind !== 'workflow') throw new ConfigError(`${this.kind}(${this.name}).step`, 'a workflow handle', this.kind);
    return this.shared.factory.step(name, { workflow: this.name });
  }
}

const MAX_CACHED_HANDLES = 10_000;

/**
 * Binds handles and caches them per name tuple so repeated `obs.step('plan')` calls are cheap.
 * Two-name kinds (steps, tools) are cached in a map per outer name rather than under one joined
 * key: a lookup builds no string, and a cached handle keeps no key of its own.
 */
export class HandleFactory {
  private readonly kinds: Readonly<Record<OperationKind, HandleKind>>;
  private readonly agents = new Map<string, Handle>();
  private readonly workflows = new Map<string, Handle>();
  /** By workflow, then step name. */
  private readonly steps = new Map<string, Map<string, Handle>>();
  /** By agent, then tool name. */
  private readonly tools = new Map<string, Map<string, Handle>>();
  /** LLM handles without a mapper, by `labelKey` of their four names (few, so a joined key is fine). */
  private readonly llms = new Map<string, Handle>();
  private readonly byMapper = new WeakMap<object, Map<string, Handle>>();
  /** A number per function given to `llm()`, for cache keys (weak: a dropped closure takes its number along). */
  private readonly functionIds = new WeakMap<object, number>();
  private nextFunctionId = 0;
  /** Handles in every cache above but `byMapper`'s (each mapper's map is capped on its own). */
  private cachedCount = 0;
  private readonly tokens: HistogramFamily;
  private readonly streams: StreamFamilies;
  private readonly tokenDetails: CounterFamily;
  private readonly cost: CounterFamily;

  constructor(
    f: HandleFamilies,
    ctx: RecorderContext,
    /** Turns usage into cost, by model. */
    private readonly pricing?: PriceTable,
  ) {
    // `nameIndex`: where the handle's name sits among its family's labels.
    const kind = (k: OperationKind, family: HistogramFamily, nameIndex: number): HandleKind =>
      ({ kind: k, family, nameIndex, active: f.active, ctx, trustedClock: ctx.clock === defaultClock, factory: this });
    this.kinds = {
      agent: kind('agent', f.agent, 0),
      workflow: kind('workflow', f.workflow, 0),
      step: kind('step', f.step, 1),
      tool: kind('tool', f.tool, 0),
      llm: kind('llm', f.llm, 2),
    };
    this.tokens = f.tokens;
    this.streams = f.streams;
    this.tokenDetails = f.tokenDetails;
    this.cost = f.cost;
  }

  private functionId(f: object): number {
    let id = this.functionIds.get(f);
    if (id === undefined) this.functionIds.set(f, (id = this.nextFunctionId++));
    return id;
  }

  private tokenRecorder(base: readonly string[], model: string): TokenRecorder {
    const p = this.pricing;
    const price = p?.priceOf(model);
    return new TokenRecorder(
      this.tokens.child([...base, 'input']),
      this.tokens.child([...base, 'output']),
      this.tokenDetails,
      base,
      p === undefined || price === undefined ? undefined : { family: this.cost, currency: p.currency, price },
    );
  }

  private cache<K>(map: Map<K, Handle>, key: K, h: Handle): Handle {
    if (this.cachedCount < MAX_CACHED_HANDLES) {
      map.set(key, h);
      this.cachedCount++;
    }
    return h;
  }

  /** The cached handle of a two-name kind, or a new one (cached while under the cap). */
  private paired(cache: Map<string, Map<string, Handle>>, outer: string, name: string, make: () => Handle): Handle {
    const inner = cache.get(outer);
    const hit = inner?.get(name);
    if (hit !== undefined) return hit;
    const h = make();
    if (this.cachedCount >= MAX_CACHED_HANDLES) return h;
    // Keyed by the handle's own (interned) name: the key costs no second string.
    if (inner === undefined) cache.set(outer, new Map([[h.name, h]]));
    else inner.set(h.name, h);
    this.cachedCount++;
    return h;
  }

  agent(name: string): OperationHandle {
    requireName(name, 'agent');
    return this.agents.get(name) ?? this.cache(this.agents, name, new Handle(this.kinds.agent, name, [name]));
  }

  workflow(name: string): WorkflowHandle {
    requireName(name, 'workflow');
    return this.workflows.get(name) ?? this.cache(this.workflows, name, new Handle(this.kinds.workflow, name, [name]));
  }

  step(name: string, options?: StepOptions): OperationHandle {
    requireName(name, 'step');
    const o = requireObject(options, 'step options');
    const workflow = optionalName(o.workflow, 'step options.workflow', '');
    return this.paired(this.steps, workflow, name, () => new Handle(this.kinds.step, name, [workflow, name]));
  }

  tool(name: string, options?: ToolOptions): OperationHandle {
    requireName(name, 'tool');
    const o = requireObject(options, 'tool options');
    const agent = optionalName(o.agent, 'tool options.agent', '');
    return this.paired(this.tools, agent, name, () => new Handle(this.kinds.tool, name, [name, agent]));
  }

  llm<T, C>(options: LlmCallOptions<T, C>): LlmCallHandle {
    const o = requireObject(options, 'llm options');
    const model = requireName(o.model, 'llm options.model');
    const provider = optionalName(o.provider, 'llm options.provider', '');
    const operation = optionalName(o.operation, 'llm options.operation', 'chat');
    const agent = optionalName(o.agent, 'llm options.agent', '');
    if (o.usage !== undefined && typeof o.usage !== 'function') throw new ConfigError('llm options.usage', 'a function', o.usage);
    if (o.streamUsage !== undefined && typeof o.streamUsage !== 'function') {
      throw new ConfigError('llm options.streamUsage', 'a function', o.streamUsage);
    }
    if (o.stream !== undefined && typeof o.stream !== 'boolean') throw new ConfigError('llm options.stream', 'a boolean', o.stream);
    for (const k of ['outputChunk', 'chunkError'] as const) {
      if (o[k] !== undefined && typeof o[k] !== 'function') throw new ConfigError(`llm options.${k}`, 'a function', o[k]);
    }
    const usage = o.usage as ((result: never) => TokenUsage | undefined) | undefined;
    const streamed = o.stream !== false;
    const chunks: ChunkReaders = {
      usage: (o.streamUsage ?? o.usage) as ChunkReaders['usage'],
      output: o.outputChunk as ChunkReaders['output'],
      error: o.chunkError as ChunkReaders['error'],
    };
    const base = [operation, provider, model, agent];
    const make = (): Handle =>
      new Handle(this.kinds.llm, model, base, {
        tokens: this.tokenRecorder(base, model),
        usage,
        stream: streamed ? new StreamBinding(this.streams, base, chunks) : undefined,
      });
    // Handles with functions are cached under the first one's identity (a WeakMap, so a handle
    // made with a fresh closure per call is dropped with it), keyed by the label values and the
    // identity of each function in its role: calling obs.llm() per request with module-level
    // functions binds once.
    const fns = [o.usage, o.streamUsage, o.outputChunk, o.chunkError];
    const first = fns.find((f) => f !== undefined) as object | undefined;
    // Length-prefixed (injective): names may contain any separator we could pick.
    const key = labelKey(base, `${streamed ? 'l' : 'n'}${fns.map((f) => (f === undefined ? '-' : this.functionId(f as object))).join(',')}`);
    if (first === undefined) return this.llms.get(key) ?? this.cache(this.llms, key, make());
    let perMapper = this.byMapper.get(first);
    if (perMapper === undefined) {
      perMapper = new Map();
      this.byMapper.set(first, perMapper);
    }
    const hit = perMapper.get(key);
    if (hit !== undefined) return hit;
    const h = make();
    if (perMapper.size < MAX_CACHED_HANDLES) perMapper.set(key, h);
    return h;
  }

  /** `instrument(kind, …)`: validated dispatch for callers that pick the kind at run time. */
  forKind(kind: unknown, options: Record<string, unknown>): OperationHandle {
    switch (kind) {
      case 'agent':
        return this.agent(options.agent as string);
      case 'workflow':
        return this.workflow(options.workflow as string);
      case 'step':
        return this.step(options.step as string, { workflow: optionalName(options.workflow, 'workflow', '') });
      case 'tool':
        return this.tool(options.tool as string, { agent: optionalName(options.agent, 'agent', '') });
      case 'llm':
        return this.llm(options as unknown as LlmCallOptions);
      default:
        throw new ConfigError('kind', `one of ${OPERATION_KINDS.join(', ')}`, kind);
    }
  }
}
