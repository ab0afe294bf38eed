/**
 * A simulated chat-completion provider with an OpenAI-shaped response (`usage.prompt_tokens`,
 * `usage.completion_tokens`) and OpenAI-style rate-limit response headers
 * (`x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, on successes and errors alike).
 * Latency, failures and forced failure modes (`llmMode`) come from the current
 * {@link Faults}; token counts from the prompt's length and the task's random stream, so they
 * are exact and reproducible for a given seed. A call honours its AbortSignal, as an HTTP
 * client does.
 */
import {
  ContextLengthError, LlmTimeoutError, ProviderOverloadedError, ProviderUnavailableError, RateLimitError, type ResponseHeaders,
  type ServiceError,
} from './errors.js';
import type { Faults } from './faults.js';
import { sampleLatencyMs, sleep, type Rng } from './random.js';

/** The models this provider serves, with the per-minute quotas its rate-limit headers report. */
export const MODELS = Object.freeze({
  /** Drafts answers: slower, large context. */
  large: Object.freeze({ name: 'sim-large-2025-06', contextWindow: 128_000, latencyFactor: 1, requestsPerMinute: 10_000, tokensPerMinute: 2_000_000 }),
  /** Reviews drafts: fast, small context. */
  small: Object.freeze({ name: 'sim-small-2025-06', contextWindow: 16_000, latencyFactor: 0.4, requestsPerMinute: 30_000, tokensPerMinute: 5_000_000 }),
});
export type ModelSpec = (typeof MODELS)[keyof typeof MODELS];

/** What the models cost per million tokens, as a provider's price list gives it (cached input at half price). */
export const MODEL_PRICES = Object.freeze({
  currency: 'USD',
  models: Object.freeze({
    [MODELS.large.name]: Object.freeze({ input: 2.5, cacheRead: 1.25, output: 10 }),
    [MODELS.small.name]: Object.freeze({ input: 0.625, cacheRead: 0.3125, output: 2.5 }),
  }),
});

/** Provider name for `gen_ai_provider_name`. */
export const PROVIDER = 'simulated';

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export interface ChatRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  /** Upper bound of completion tokens. */
  readonly maxTokens: number;
}

/** OpenAI-style token usage, with its details: cached prompt tokens and reasoning tokens. */
export interface ChatUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly prompt_tokens_details: { readonly cached_tokens: number };
  readonly completion_tokens_details: { readonly reasoning_tokens: number };
}

export interface ChatCompletion {
  readonly id: string;
  readonly model: string;
  readonly content: string;
  readonly finishReason: 'stop' | 'length';
  readonly usage: ChatUsage;
  /** Response headers (what an SDK's `withResponse()` gives): the rate-limit state after this call. */
  readonly headers: ResponseHeaders;
}

/** Per-call context: the task's random stream, and a signal that cancels the call. */
export interface LlmContext {
  readonly rng: Rng;
  /** Aborting it ends the call at once, rejecting with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

/** One streamed chunk, OpenAI-shaped: a content delta; the last one carries the usage (`stream_options.include_usage`). */
export interface ChatChunk {
  readonly id: string;
  readonly model: string;
  readonly delta: string;
  readonly finishReason: 'stop' | 'length' | null;
  readonly usage: ChatUsage | null;
}

/** A streamed completion: an async iterable of chunks with the response headers, as an SDK's stream object. */
export interface ChatStream extends AsyncIterable<ChatChunk> {
  readonly headers: ResponseHeaders;
}

export interface SimulatedLlm {
  /** One chat completion; rejects with a {@link ServiceError} subclass on injected or real failures. */
  complete(request: ChatRequest, ctx: LlmContext): Promise<ChatCompletion>;
  /**
   * The same completion, streamed: resolves once the response starts (failures reject here, as
   * an HTTP error status does), then yields content chunks; the first after about a third of
   * the call's latency, the rest spread over the remainder. Aborting the signal mid-stream makes
   * the next chunk reject with its reason.
   */
  stream(request: ChatRequest, ctx: LlmContext): Promise<ChatStream>;
}

/** Chunks per streamed reply, at most (fewer for short replies). */
const STREAM_CHUNKS = 8;
/** Share of a streamed call's latency before its first chunk. */
const FIRST_CHUNK_SHARE = 0.3;

/** Roughly four characters per token, as for English with BPE tokenizers, plus per-message overhead. */
export function countPromptTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((n, m) => n + 4 + Math.ceil(m.content.length / 4), 3);
}

interface FailureMode {
  readonly weight: number;
  readonly delayMs: (latencyMs: number) => number;
  /** `headers`: the rate-limit headers of the response. */
  readonly make: (model: string, latencyMs: number, headers: ResponseHeaders) => ServiceError;
}

/** `retry-after` (whole seconds, rounded up) and OpenAI's `retry-after-ms`. */
function retryAfterHeaders(ms: number): ResponseHeaders {
  return { 'retry-after': String(Math.ceil(ms / 1000)), 'retry-after-ms': String(Math.round(ms)) };
}

const FAILURE_MODES: readonly FailureMode[] = [
  // A 429 comes back at once, asking to retry after about one call's latency.
  {
    weight: 0.5,
    delayMs: (l) => l * 0.05,
    make: (m, l, h) => new RateLimitError(m, Math.max(1, Math.round(l)), { ...h, ...retryAfterHeaders(Math.max(1, l)) }),
  },
  { weight: 0.3, delayMs: (l) => l * 0.5, make: (m, _l, h) => new ProviderOverloadedError(m, h) },
  // The provider's gateway gives up after three times the usual latency.
  { weight: 0.2, delayMs: (l) => l * 3, make: (m, l) => new LlmTimeoutError(m, Math.round(l * 3)) },
];

function pickFailure(u: number): FailureMode {
  let x = u * FAILURE_MODES.reduce((s, m) => s + m.weight, 0);
  for (const m of FAILURE_MODES) {
    x -= m.weight;
    if (x < 0) return m;
  }
  return FAILURE_MODES[FAILURE_MODES.length - 1] as FailureMode;
}

/** Writes a plausible reply from the facts (`- ` lines) and the question in the prompt. */
function compose(messages: readonly ChatMessage[]): string {
  const system = messages.find((m) => m.role === 'system')?.content ?? '';
  const user = messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
  const facts = user
    .split('\n')
    .filter((l) => l.startsWith('- '))
    .map((l) => l.slice(2).replace(/\s*\[[^\]]*\]$/, ''));
  if (system.includes('reviewer')) {
    const draft = /Draft:\n([\s\S]*)$/.exec(user)?.[1]?.trim() ?? '';
    return draft === '' ? 'The draft is empty; answer from the sources.' : draft;
  }
  const question = /Question: (.*)/.exec(user)?.[1]?.trim() ?? 'your question';
  if (facts.length === 0) return `I could not find reliable information to answer "${question}".`;
  const shown = facts.slice(0, 3).map((f) => (/[.!?]$/.test(f) ? f : `${f}.`));
  return `From ${shown.length} source${shown.length === 1 ? '' : 's'}: ${shown.join(' ')}`;
}

/**
 * The provider's per-model quota over fixed one-minute windows, reported in OpenAI's
 * headers. It only reports: the simulation never throttles on its own (that would make a
 * task's outcome depend on other tasks); `llmMode: 'throttle'` does.
 */
class Quota {
  private windowStart = 0;
  private requests = 0;
  private tokens = 0;

  constructor(private readonly spec: ModelSpec) {}

  /** Counts one request (and the tokens it used) and returns the headers after it. */
  take(tokens: number, exhausted = false): ResponseHeaders {
    const now = Date.now();
    if (now - this.windowStart >= 60_000) {
      this.windowStart = now - (now % 60_000);
      this.requests = 0;
      this.tokens = 0;
    }
    this.requests += 1;
    this.tokens += tokens;
    const reset = `${Math.max(0, Math.ceil((this.windowStart + 60_000 - now) / 1000))}s`;
    const { requestsPerMinute: rpm, tokensPerMinute: tpm } = this.spec;
    return {
      'x-ratelimit-limit-requests': String(rpm),
      'x-ratelimit-remaining-requests': String(exhausted ? 0 : Math.max(0, rpm - this.requests)),
      'x-ratelimit-reset-requests': reset,
      'x-ratelimit-limit-tokens': String(tpm),
      'x-ratelimit-remaining-tokens': String(exhausted ? 0 : Math.max(0, tpm - this.tokens)),
      'x-ratelimit-reset-tokens': reset,
    };
  }
}

/** Creates the provider; `faults` is read on every call, so run-time changes apply at once. */
export function createSimulatedLlm(faults: () => Faults): SimulatedLlm {
  const specs = new Map<string, ModelSpec>(Object.values(MODELS).map((m) => [m.name, m]));
  const quotas = new Map<string, Quota>(Object.values(MODELS).map((m) => [m.name, new Quota(m)]));
  let completions = 0;

  /**
   * Everything up to the reply: the random draws, the fault modes, the failure delays. Resolves
   * with the reply's latency and contents; rejects as the provider would.
   */
  async function start(request: ChatRequest, { rng, signal }: LlmContext): Promise<{ latencyMs: number; completion: ChatCompletion }> {
    // Always four draws before the first await (see tools.ts for why), whatever the mode.
    const f = faults();
    const fail = rng.chance(f.llmErrorRate);
    const u = rng.next();
    const spec = specs.get(request.model);
    const latency = sampleLatencyMs(rng, f.llmLatencyMs * (spec?.latencyFactor ?? 1), f.llmLatencyJitterMs * (spec?.latencyFactor ?? 1));
    const maxTokens = Math.max(1, Math.floor(request.maxTokens));
    const completionTokens = rng.int(Math.min(16, maxTokens), maxTokens);

    if (spec === undefined) throw new TypeError(`unknown model ${request.model}`);
    const quota = quotas.get(spec.name) as Quota;
    const promptTokens = countPromptTokens(request.messages);
    if (promptTokens + maxTokens > spec.contextWindow) {
      await sleep(latency * 0.05, signal);
      throw new ContextLengthError(spec.name, promptTokens, spec.contextWindow);
    }
    switch (f.llmMode) {
      case 'hard_fail':
        // An outage answers fast, with a 503.
        await sleep(latency * 0.05, signal);
        throw new ProviderUnavailableError(spec.name, quota.take(0));
      case 'throttle':
        await sleep(latency * 0.05, signal);
        throw new RateLimitError(spec.name, f.llmThrottleRetryAfterMs, { ...quota.take(0, true), ...retryAfterHeaders(f.llmThrottleRetryAfterMs) });
      case 'slow':
      case 'normal':
        break;
    }
    if (fail) {
      const mode = pickFailure(u);
      await sleep(mode.delayMs(latency), signal);
      throw mode.make(spec.name, latency, quota.take(0));
    }
    // The system prompt is the same on every call, so the provider's prompt cache serves it; the
    // large model reasons before it writes, a quarter of its output.
    const system = request.messages.filter((m) => m.role === 'system');
    const usage: ChatUsage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: system.length === 0 ? 0 : Math.min(promptTokens, countPromptTokens(system)) },
      completion_tokens_details: { reasoning_tokens: spec === MODELS.large ? Math.floor(completionTokens / 4) : 0 },
    };
    return {
      latencyMs: f.llmMode === 'slow' ? f.llmSlowMs : latency,
      completion: {
        id: `cmpl-${(++completions).toString(36)}`,
        model: spec.name,
        content: compose(request.messages),
        finishReason: completionTokens === maxTokens ? 'length' : 'stop',
        usage,
        headers: quota.take(usage.total_tokens),
      },
    };
  }

  return {
    async complete(request, ctx) {
      const { latencyMs, completion } = await start(request, ctx);
      await sleep(latencyMs, ctx.signal);
      return completion;
    },

    async stream(request, ctx) {
      const { latencyMs, completion: c } = await start(request, ctx);
      // Split on word boundaries, so the chunks concatenate to exactly the reply.
      const words = c.content.split(/(?<= )/);
      const n = Math.max(1, Math.min(STREAM_CHUNKS, words.length));
      const per = Math.ceil(words.length / n);
      const deltas = Array.from({ length: n }, (_, i) => words.slice(i * per, (i + 1) * per).join('')).filter((d) => d !== '');
      const gap = (latencyMs * (1 - FIRST_CHUNK_SHARE)) / Math.max(1, deltas.length - 1);
      const signal = ctx.signal;
      async function* chunks(): AsyncGenerator<ChatChunk, void, undefined> {
        for (let i = 0; i < deltas.length; i++) {
          await sleep(i > 0 ? gap : deltas.length === 1 ? latencyMs : latencyMs * FIRST_CHUNK_SHARE, signal);
          const last = i === deltas.length - 1;
          yield { id: c.id, model: c.model, delta: deltas[i] as string, finishReason: last ? c.finishReason : null, usage: last ? c.usage : null };
        }
      }
      return Object.assign(chunks(), { headers: c.headers });
    },
  };
}
