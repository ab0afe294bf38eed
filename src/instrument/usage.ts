/**
 * Token accounting: the stable token histogram (input/output), the token details providers
 * report (cache reads and writes, reasoning), and cost from an optional price table. Plus
 * usage mappers for the two SDK shapes most services call, so `usage: openaiUsage` is all a
 * user writes.
 */
import { ConfigError } from '../errors.js';
import type { CounterFamily, CounterSeries, HistogramSeries } from '../metrics/store.js';

/**
 * Token counts of one LLM call. Missing or non-finite fields are not recorded. As in the GenAI
 * conventions, `input` counts every input token (cached ones included) and `output` every
 * output token (reasoning included): the details are parts of them, not additions.
 */
export interface TokenUsage {
  readonly input?: number | undefined;
  readonly output?: number | undefined;
  /** Input tokens read from the provider's prompt cache (OpenAI `cached_tokens`, Anthropic `cache_read_input_tokens`). */
  readonly cacheRead?: number | undefined;
  /** Input tokens written to the prompt cache (Anthropic `cache_creation_input_tokens`). */
  readonly cacheWrite?: number | undefined;
  /** Output tokens spent on reasoning (OpenAI `reasoning_tokens`). */
  readonly reasoning?: number | undefined;
}

/** Prices of one model, per million tokens. */
export interface ModelPrice {
  /** Input tokens not read from or written to a cache. */
  readonly input: number;
  /** Output tokens, reasoning included (providers bill reasoning as output). */
  readonly output: number;
  /** Input tokens read from the prompt cache. @default input */
  readonly cacheRead?: number;
  /** Input tokens written to the prompt cache. @default input */
  readonly cacheWrite?: number;
}

/** The price table that turns usage into `agentobs_llm_cost_total`. */
export interface PricingOptions {
  /** The `currency` label of the cost counter (an ISO 4217 code). @default 'USD' */
  readonly currency?: string;
  /** Prices by model, as LLM handles name it (`model`). Calls to a model not listed get no cost. */
  readonly models: Readonly<Record<string, ModelPrice>>;
}

/** A validated price table. */
export interface PriceTable {
  readonly currency: string;
  priceOf(model: string): Readonly<Required<ModelPrice>> | undefined;
}

function price(value: unknown, path: string, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ConfigError(path, 'a finite number >= 0 (per million tokens)', value);
  return value;
}

/** Validates `pricing` at start-up: a {@link ConfigError} names the first bad entry. */
export function resolvePricing(value: unknown): PriceTable | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError('pricing', 'an object { currency?, models }', value);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) if (key !== 'currency' && key !== 'models') throw new ConfigError(`pricing.${key}`, 'one of currency, models', key);
  const currency = o.currency ?? 'USD';
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw new ConfigError('pricing.currency', 'an ISO 4217 code such as USD or EUR', currency);
  const models = o.models;
  if (typeof models !== 'object' || models === null || Array.isArray(models)) throw new ConfigError('pricing.models', 'an object of prices by model', models);
  const table = new Map<string, Readonly<Required<ModelPrice>>>();
  for (const [model, p] of Object.entries(models as Record<string, unknown>)) {
    const path = `pricing.models[${JSON.stringify(model)}]`;
    if (model.trim() === '') throw new ConfigError('pricing.models', 'non-empty model names', model);
    if (typeof p !== 'object' || p === null) throw new ConfigError(path, 'an object { input, output, cacheRead?, cacheWrite? }', p);
    const q = p as Record<string, unknown>;
    for (const key of Object.keys(q)) {
      if (!['input', 'output', 'cacheRead', 'cacheWrite'].includes(key)) throw new ConfigError(`${path}.${key}`, 'one of input, output, cacheRead, cacheWrite', key);
    }
    const input = price(q.input, `${path}.input`);
    table.set(model, Object.freeze({
      input,
      output: price(q.output, `${path}.output`),
      cacheRead: price(q.cacheRead, `${path}.cacheRead`, input),
      cacheWrite: price(q.cacheWrite, `${path}.cacheWrite`, input),
    }));
  }
  return { currency, priceOf: (model) => table.get(model) };
}

const count = (v: unknown): number | undefined => (typeof v === 'number' && v >= 0 && v !== Infinity ? v : undefined);

const DETAILS = ['cache_read', 'cache_write', 'reasoning'] as const;

/**
 * Where one LLM handle's usage goes. The detail and cost series are bound on first use, so a
 * handle whose provider reports no details (or whose model has no price) exports none.
 */
export class TokenRecorder {
  private details: (CounterSeries | undefined)[] | undefined;
  private costSeries: CounterSeries | undefined;

  constructor(
    private readonly input: HistogramSeries,
    private readonly output: HistogramSeries,
    private readonly detailFamily: CounterFamily,
    /** The handle's label values (operation, provider, model, agent). */
    private readonly base: readonly string[],
    private readonly cost: { readonly family: CounterFamily; readonly currency: string; readonly price: Readonly<Required<ModelPrice>> } | undefined,
  ) {}

  record(u: TokenUsage): void {
    const i = count(u.input);
    const o = count(u.output);
    if (i !== undefined) this.input.observe(i);
    if (o !== undefined) this.output.observe(o);
    const cacheRead = count(u.cacheRead);
    const cacheWrite = count(u.cacheWrite);
    const reasoning = count(u.reasoning);
    if (cacheRead !== undefined) this.detail(0, cacheRead);
    if (cacheWrite !== undefined) this.detail(1, cacheWrite);
    if (reasoning !== undefined) this.detail(2, reasoning);
    const c = this.cost;
    if (c === undefined || (i === undefined && o === undefined)) return;
    const p = c.price;
    const read = cacheRead ?? 0;
    const written = cacheWrite ?? 0;
    // Cached tokens are part of `input`; a mapper that reports them apart cannot make the uncached part negative.
    const uncached = i === undefined ? 0 : Math.max(0, i - read - written);
    const amount = (uncached * p.input + read * p.cacheRead + written * p.cacheWrite + (o ?? 0) * p.output) / 1e6;
    if (amount > 0) (this.costSeries ??= c.family.child([...this.base, c.currency])).inc(amount);
  }

  private detail(k: number, n: number): void {
    const d = (this.details ??= [undefined, undefined, undefined]);
    (d[k] ??= this.detailFamily.child([...this.base, DETAILS[k] as string])).inc(n);
  }
}

/** Field-wise "last value wins" merge of usage read from successive chunks. */
export class UsageAccumulator {
  input: number | undefined = undefined;
  output: number | undefined = undefined;
  cacheRead: number | undefined = undefined;
  cacheWrite: number | undefined = undefined;
  reasoning: number | undefined = undefined;

  add(u: TokenUsage): void {
    this.input = count(u.input) ?? this.input;
    this.output = count(u.output) ?? this.output;
    this.cacheRead = count(u.cacheRead) ?? this.cacheRead;
    this.cacheWrite = count(u.cacheWrite) ?? this.cacheWrite;
    this.reasoning = count(u.reasoning) ?? this.reasoning;
  }
}

// ── Mappers for the SDKs' shapes ────────────────────────────────────────────────────────────

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null ? (v as Obj) : undefined);

/** Chat Completions (`prompt_tokens`…) or Responses (`input_tokens`…) usage, as OpenAI reports it. */
function openaiUsageObject(u: Obj): TokenUsage | undefined {
  if ('prompt_tokens' in u || 'completion_tokens' in u) {
    return {
      input: count(u.prompt_tokens),
      output: count(u.completion_tokens),
      cacheRead: count(obj(u.prompt_tokens_details)?.cached_tokens),
      reasoning: count(obj(u.completion_tokens_details)?.reasoning_tokens),
    };
  }
  if ('input_tokens' in u || 'output_tokens' in u) {
    return {
      input: count(u.input_tokens),
      output: count(u.output_tokens),
      cacheRead: count(obj(u.input_tokens_details)?.cached_tokens),
      reasoning: count(obj(u.output_tokens_details)?.reasoning_tokens),
    };
  }
  return undefined;
}

/**
 * Token usage from what the OpenAI SDK (`openai`) returns, whole or streamed: a chat completion
 * or an embeddings response (`usage.prompt_tokens`…), a chat completion chunk (the last one
 * carries `usage` with `stream_options: { include_usage: true }`), a Responses API response
 * (`usage.input_tokens`…) or its `response.completed` stream event. Cached input tokens and
 * reasoning tokens are read when reported. `undefined` for anything else, so it serves as both
 * `usage` and `streamUsage`.
 * @example obs.instrumentLlmCall(create, { model: 'gpt-4o', provider: 'openai', usage: openaiUsage })
 */
export function openaiUsage(result: unknown): TokenUsage | undefined {
  const r = obj(result);
  if (r === undefined) return undefined;
  const u = obj(r.usage) ?? obj(obj(r.response)?.usage);
  return u === undefined ? undefined : openaiUsageObject(u);
}

/**
 * Token usage from what the Anthropic SDK (`@anthropic-ai/sdk`) returns, whole or streamed: a
 * `Message` (`usage`), or the stream events `message_start` (`message.usage`) and
 * `message_delta` (`usage`, cumulative). `input` is the total the conventions ask for: Anthropic's
 * `input_tokens` plus the cache reads and writes it reports apart.
 * @example obs.instrumentLlmCall(create, { model: 'claude-sonnet-4-5', provider: 'anthropic', usage: anthropicUsage })
 */
export function anthropicUsage(result: unknown): TokenUsage | undefined {
  const r = obj(result);
  if (r === undefined) return undefined;
  const u = obj(r.usage) ?? obj(obj(r.message)?.usage);
  if (u === undefined) return undefined;
  const uncached = count(u.input_tokens);
  const cacheRead = count(u.cache_read_input_tokens);
  const cacheWrite = count(u.cache_creation_input_tokens);
  const input = uncached === undefined ? undefined : uncached + (cacheRead ?? 0) + (cacheWrite ?? 0);
  return { input, output: count(u.output_tokens), cacheRead, cacheWrite };
}
