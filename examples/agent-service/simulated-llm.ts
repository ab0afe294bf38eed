/**
 * A simulated chat-completion provider with an OpenAI-shaped response (`usage.prompt_tokens`,
 * `usage.completion_tokens`). Latency and failures come from the current {@link Faults};
 * token counts from the prompt's length and the task's random stream, so they are exact
 * and reproducible for a given seed.
 */
import { ContextLengthError, LlmTimeoutError, ProviderOverloadedError, RateLimitError, type ServiceError } from './errors.js';
import type { Faults } from './faults.js';
import { sampleLatencyMs, sleep, type Rng } from './random.js';

/** The models this provider serves. */
export const MODELS = Object.freeze({
  /** Drafts answers: slower, large context. */
  large: Object.freeze({ name: 'sim-large-2025-06', contextWindow: 128_000, latencyFactor: 1 }),
  /** Reviews drafts: fast, small context. */
  small: Object.freeze({ name: 'sim-small-2025-06', contextWindow: 16_000, latencyFactor: 0.4 }),
});
export type ModelSpec = (typeof MODELS)[keyof typeof MODELS];

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

/** OpenAI-style token usage. */
export interface ChatUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

export interface ChatCompletion {
  readonly id: string;
  readonly model: string;
  readonly content: string;
  readonly finishReason: 'stop' | 'length';
  readonly usage: ChatUsage;
}

/** Per-call context: the task's random stream. */
export interface LlmContext {
  readonly rng: Rng;
}

export interface SimulatedLlm {
  /** One chat completion; rejects with a {@link ServiceError} subclass on injected or real failures. */
  complete(request: ChatRequest, ctx: LlmContext): Promise<ChatCompletion>;
}

/** Roughly four characters per token, as for English with BPE tokenizers, plus per-message overhead. */
export function countPromptTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((n, m) => n + 4 + Math.ceil(m.content.length / 4), 3);
}

interface FailureMode {
  readonly weight: number;
  readonly delayMs: (latencyMs: number) => number;
  readonly make: (model: string, latencyMs: number) => ServiceError;
}

const FAILURE_MODES: readonly FailureMode[] = [
  // A 429 comes back at once, with the provider's retry-after.
  { weight: 0.5, delayMs: (l) => l * 0.05, make: (m) => new RateLimitError(m, 1000) },
  { weight: 0.3, delayMs: (l) => l * 0.5, make: (m) => new ProviderOverloadedError(m) },
  // The client gives up after three times the usual latency.
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

/** Creates the provider; `faults` is read on every call, so run-time changes apply at once. */
export function createSimulatedLlm(faults: () => Faults): SimulatedLlm {
  const specs = new Map<string, ModelSpec>(Object.values(MODELS).map((m) => [m.name, m]));
  let completions = 0;
  return {
    async complete(request, { rng }) {
      // Always four draws before the first await (see tools.ts for why).
      const f = faults();
      const fail = rng.chance(f.llmErrorRate);
      const u = rng.next();
      const spec = specs.get(request.model);
      const latency = sampleLatencyMs(rng, f.llmLatencyMs * (spec?.latencyFactor ?? 1), f.llmLatencyJitterMs * (spec?.latencyFactor ?? 1));
      const maxTokens = Math.max(1, Math.floor(request.maxTokens));
      const completionTokens = rng.int(Math.min(16, maxTokens), maxTokens);

      if (spec === undefined) throw new TypeError(`unknown model ${request.model}`);
      const promptTokens = countPromptTokens(request.messages);
      if (promptTokens + maxTokens > spec.contextWindow) {
        await sleep(latency * 0.05);
        throw new ContextLengthError(spec.name, promptTokens, spec.contextWindow);
      }
      if (fail) {
        const mode = pickFailure(u);
        await sleep(mode.delayMs(latency));
        throw mode.make(spec.name, latency);
      }
      await sleep(latency);
      return {
        id: `cmpl-${(++completions).toString(36)}`,
        model: spec.name,
        content: compose(request.messages),
        finishReason: completionTokens === maxTokens ? 'length' : 'stop',
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      };
    },
  };
}
