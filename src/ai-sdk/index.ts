/**
 * `agent-observability/ai-sdk`: the Vercel AI SDK (`ai` 6 and 7) in one line. A language-model
 * middleware for `wrapLanguageModel` records every model call (`generateText`, `streamText`,
 * `generateObject`, agents, each step of a multi-step run) as an LLM call: duration, time to
 * first chunk, time per output chunk, usage with cache and reasoning tokens, provider errors,
 * optionally through a policy (retry, breaker, pool, timeout). `instrumentTools` records tool
 * executions as `execute_tool`.
 *
 * Nothing here imports `ai` at run time: the middleware is a plain object the SDK calls, typed
 * structurally so that it fits `LanguageModelV3Middleware` (ai 6) and `LanguageModelMiddleware`
 * (ai 7, whose model is V4) alike.
 */
import { ConfigError } from '../errors.js';
import type { LlmCallHandle } from '../instrument/handles.js';
import type { TokenUsage } from '../instrument/usage.js';
import type { Observability } from '../observability.js';
import type { PolicyHandle } from '../resilience/policy/policy.js';

/** What the middleware reads of a language model (V3 and V4 both have it). */
export interface AiSdkModel {
  readonly provider: string;
  readonly modelId: string;
}

/** What the middleware needs of the call parameters: the caller's abort signal, kept when a policy adds its own. */
export interface AiSdkCallParams {
  readonly abortSignal?: AbortSignal | undefined;
}

/** A language model's own call methods, used when a policy must pass its timeout signal to the provider. */
export interface CallableModel<P, G, S> extends AiSdkModel {
  doGenerate(params: P): PromiseLike<G>;
  doStream(params: P): PromiseLike<S>;
}

/**
 * The middleware, structurally: assignable to `LanguageModelV3Middleware` (ai 6) and to
 * `LanguageModelMiddleware` (ai 7).
 */
export interface AiSdkMiddleware {
  readonly specificationVersion: 'v3';
  wrapGenerate<P extends AiSdkCallParams, G, S>(options: AiSdkCallOptions<P, G, S>): Promise<G>;
  wrapStream<P extends AiSdkCallParams, G, S extends { readonly stream: ReadableStream<unknown> }>(options: AiSdkCallOptions<P, G, S>): Promise<S>;
}

/** What `wrapGenerate` and `wrapStream` are given by the SDK. */
export interface AiSdkCallOptions<P, G, S> {
  doGenerate: () => PromiseLike<G>;
  doStream: () => PromiseLike<S>;
  params: P;
  model: CallableModel<P, G, S>;
}

/** Options of {@link aiSdkMiddleware}. */
export interface AiSdkMiddlewareOptions {
  /** The calling agent (`gen_ai_agent_name`). @default '' */
  readonly agent?: string;
  /** `gen_ai_provider_name`. @default derived from the model's `provider` (`openai.chat` → `openai`, `google.generative-ai` → `gcp.gemini`, …) */
  readonly provider?: string;
  /** `gen_ai_operation_name`. @default 'chat' */
  readonly operation?: string;
  /**
   * Every model call goes through this policy (`obs.policy({...})`): retries, breaker, pool and
   * timeout, each attempt recorded as its own LLM call. A streamed call is retried only until
   * its stream starts. The policy's abort signal (its timeout) reaches the provider, together
   * with the caller's `abortSignal`.
   */
  readonly policy?: PolicyHandle;
}

/** The AI SDK's provider ids (the part before the first dot) and the GenAI conventions' `gen_ai.provider.name`. */
const PROVIDER_NAMES: Readonly<Record<string, string>> = Object.freeze({
  openai: 'openai',
  azure: 'azure.ai.openai',
  'azure-openai': 'azure.ai.openai',
  anthropic: 'anthropic',
  'google.generative-ai': 'gcp.gemini',
  'google.vertex': 'gcp.vertex_ai',
  'vertex.anthropic': 'gcp.vertex_ai',
  'amazon-bedrock': 'aws.bedrock',
  bedrock: 'aws.bedrock',
  mistral: 'mistral_ai',
  groq: 'groq',
  deepseek: 'deepseek',
  xai: 'x_ai',
  cohere: 'cohere',
  perplexity: 'perplexity',
});

/**
 * `gen_ai.provider.name` for an AI SDK provider id: `openai.chat`, `openai.responses` → `openai`;
 * `google.generative-ai` → `gcp.gemini`; unknown ids keep their first segment.
 */
export function aiSdkProviderName(provider: string): string {
  const two = provider.split('.').slice(0, 2).join('.');
  const one = provider.split('.')[0] ?? provider;
  return PROVIDER_NAMES[two] ?? PROVIDER_NAMES[one] ?? one;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null ? (v as Obj) : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/**
 * Usage from an AI SDK generate result or `finish` stream part: the V3/V4 shape
 * (`inputTokens.{total,noCache,cacheRead,cacheWrite}`, `outputTokens.{total,text,reasoning}`)
 * and the flat V2 one (`inputTokens`, `outputTokens`, `cachedInputTokens`, `reasoningTokens`).
 */
export function aiSdkUsage(resultOrPart: unknown): TokenUsage | undefined {
  const u = obj(obj(resultOrPart)?.usage);
  if (u === undefined) return undefined;
  const input = obj(u.inputTokens);
  const output = obj(u.outputTokens);
  if (input !== undefined || output !== undefined) {
    return {
      input: num(input?.total),
      output: num(output?.total),
      cacheRead: num(input?.cacheRead),
      cacheWrite: num(input?.cacheWrite),
      reasoning: num(output?.reasoning),
    };
  }
  return { input: num(u.inputTokens), output: num(u.outputTokens), cacheRead: num(u.cachedInputTokens), reasoning: num(u.reasoningTokens) };
}

/** The stream parts that are model output: the first gives the time to first chunk. */
const OUTPUT_PARTS = new Set(['text-delta', 'reasoning-delta', 'tool-input-start', 'tool-input-delta', 'tool-call', 'file', 'source']);
const isOutputPart = (part: { readonly type?: unknown }): boolean => OUTPUT_PARTS.has(part.type as string);
/** Providers report failures mid-stream as `error` parts, not by erroring the stream. */
const errorOfPart = (part: { readonly type?: unknown; readonly error?: unknown }): unknown =>
  part.type === 'error' ? (part.error ?? new Error('error part without an error')) : undefined;

function optionalString(value: unknown, path: string): string | undefined {
  if (value !== undefined && typeof value !== 'string') throw new ConfigError(path, 'a string', value);
  return value;
}

/** The caller's signal and the policy's, as one (either aborts the provider request). */
function bothSignals(caller: AbortSignal | undefined, policy: AbortSignal | undefined): AbortSignal | undefined {
  if (caller === undefined) return policy;
  return policy === undefined ? caller : AbortSignal.any([caller, policy]);
}

/**
 * A language-model middleware that records every call of the wrapped model.
 * @example
 * import { wrapLanguageModel } from 'ai';
 * import { aiSdkMiddleware } from 'agent-observability/ai-sdk';
 * const model = wrapLanguageModel({ model: openai('gpt-4o'), middleware: aiSdkMiddleware(obs, { agent: 'support' }) });
 */
export function aiSdkMiddleware(obs: Observability, options: AiSdkMiddlewareOptions = {}): AiSdkMiddleware {
  if (typeof obs?.llm !== 'function') throw new ConfigError('aiSdkMiddleware(obs)', 'an Observability from createObservability()', obs);
  if (typeof options !== 'object' || options === null) throw new ConfigError('aiSdkMiddleware options', 'an options object', options);
  const agent = optionalString(options.agent, 'aiSdkMiddleware options.agent') ?? '';
  const provider = optionalString(options.provider, 'aiSdkMiddleware options.provider');
  const operation = optionalString(options.operation, 'aiSdkMiddleware options.operation') ?? 'chat';
  const policy = options.policy;
  if (policy !== undefined && typeof policy?.execute !== 'function') throw new ConfigError('aiSdkMiddleware options.policy', 'a policy from obs.policy()', policy);

  // One handle per model object: its labels are resolved once, not per call.
  const handles = new WeakMap<object, LlmCallHandle>();
  const handleOf = (model: AiSdkModel): LlmCallHandle => {
    let h = handles.get(model);
    if (h === undefined) {
      h = obs.llm({
        model: model.modelId,
        provider: provider ?? aiSdkProviderName(model.provider),
        operation,
        agent,
        usage: aiSdkUsage,
        outputChunk: isOutputPart,
        chunkError: errorOfPart,
      });
      handles.set(model, h);
    }
    return h;
  };

  return {
    specificationVersion: 'v3',
    wrapGenerate({ doGenerate, params, model }) {
      const h = handleOf(model);
      if (policy === undefined) return Promise.resolve(h.run(doGenerate));
      return policy.execute(({ signal }) => h.run(() => model.doGenerate({ ...params, abortSignal: bothSignals(params.abortSignal, signal) })));
    },
    wrapStream<P extends AiSdkCallParams, G, S extends { readonly stream: ReadableStream<unknown> }>(o: AiSdkCallOptions<P, G, S>): Promise<S> {
      const { doStream, params, model } = o;
      const h = handleOf(model);
      // The handle observes the stream itself (the same ReadableStream object, read in place),
      // so its call lasts to the last part; the rest of the result is passed on as it is.
      const start = async (open: () => PromiseLike<S>): Promise<S> => {
        let opened: S | undefined;
        const stream = await h.run(async () => {
          opened = await open();
          return opened.stream;
        });
        return { ...(opened as S), stream };
      };
      if (policy === undefined) return start(doStream);
      return policy.execute(({ signal }) => start(() => model.doStream({ ...params, abortSignal: bothSignals(params.abortSignal, signal) })));
    },
  };
}

/** What {@link instrumentTools} needs of a tool: an optional `execute`. */
export interface AiSdkToolLike {
  readonly execute?: ((...args: never[]) => unknown) | undefined;
}

/**
 * Returns the tool set with every `execute` recorded as a tool call (`gen_ai_execute_tool_duration_seconds`,
 * a span `execute_tool <name>`), named by its key. Same tools otherwise (same schema and
 * options); tools without `execute` are passed on as they are.
 * @example const result = await generateText({ model, tools: instrumentTools(obs, { weather }, { agent: 'support' }), prompt });
 */
export function instrumentTools<T extends Readonly<Record<string, AiSdkToolLike>>>(obs: Observability, tools: T, options: { readonly agent?: string } = {}): T {
  if (typeof tools !== 'object' || tools === null) throw new ConfigError('instrumentTools(tools)', 'an object of tools by name', tools);
  const agent = optionalString(options.agent, 'instrumentTools options.agent') ?? '';
  const out: Record<string, AiSdkToolLike> = {};
  for (const [name, tool] of Object.entries(tools)) {
    const execute = tool?.execute;
    out[name] = typeof execute === 'function' ? { ...tool, execute: obs.instrumentTool(execute, { tool: name, agent }) } : tool;
  }
  return out as T;
}
