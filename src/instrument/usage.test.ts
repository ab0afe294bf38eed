/**
 * Token accounting: the SDK usage mappers on the payloads the SDKs return, the token details
 * and cost they feed, and the price table's validation.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { findSamples, getHistogram, parseExposition, type ParsedExposition } from '../../test/helpers/exposition.js';
import { installTestTracing, type TestTracing } from '../../test/helpers/otel.js';
import { isConfigError } from '../errors.js';
import { createObservability, type Observability, type ObservabilityOptions } from '../observability.js';
import { anthropicUsage, openaiUsage } from './usage.js';

let tracing: TestTracing | undefined;
const created: Observability[] = [];
afterEach(async () => {
  await Promise.all(created.splice(0).map((o) => o.shutdown()));
  await tracing?.uninstall();
  tracing = undefined;
});

function make(o: ObservabilityOptions = {}): Observability {
  const obs = createObservability({ registry: new Registry(), runtimeMetrics: false, logger: false, ...o });
  created.push(obs);
  return obs;
}
async function scrape(obs: Observability): Promise<ParsedExposition> {
  return parseExposition((await obs.metrics()).body, 'prometheus');
}
const labels = (model: string, provider: string) => ({ gen_ai_operation_name: 'chat', gen_ai_provider_name: provider, gen_ai_request_model: model, gen_ai_agent_name: '' });
const detail = (exp: ParsedExposition, l: Record<string, string>, type: string): number | undefined =>
  findSamples(exp, 'agentobs_llm_token_details_total', { ...l, gen_ai_token_type: type })[0]?.value;
const cost = (exp: ParsedExposition, l: Record<string, string>, currency = 'USD'): number | undefined =>
  findSamples(exp, 'agentobs_llm_cost_total', { ...l, currency })[0]?.value;

// Shapes as openai-node 5.x and @anthropic-ai/sdk 0.6x return them.
const chatCompletion = {
  id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi', refusal: null }, finish_reason: 'stop', logprobs: null }],
  usage: {
    prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500,
    prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 128, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  },
};
const chunk = (content: string, usage: unknown = null) => ({
  id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o',
  choices: usage === null ? [{ index: 0, delta: { content }, finish_reason: null }] : [], usage,
});
const responsesResponse = {
  id: 'resp_1', object: 'response', status: 'completed', model: 'o4-mini', output: [],
  usage: { input_tokens: 500, input_tokens_details: { cached_tokens: 0 }, output_tokens: 900, output_tokens_details: { reasoning_tokens: 700 }, total_tokens: 1400 },
};
const anthropicMessage = {
  id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn',
  usage: { input_tokens: 50, cache_creation_input_tokens: 2000, cache_read_input_tokens: 8000, output_tokens: 400 },
};
const anthropicEvents = [
  { type: 'message_start', message: { ...anthropicMessage, content: [], usage: { input_tokens: 50, cache_creation_input_tokens: 0, cache_read_input_tokens: 8000, output_tokens: 1 } } },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
  { type: 'content_block_stop', index: 0 },
  { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 420 } },
  { type: 'message_stop' },
];

describe('openaiUsage', () => {
  it('reads Chat Completions usage with cached and reasoning tokens', () => {
    expect(openaiUsage(chatCompletion)).toEqual({ input: 1200, output: 300, cacheRead: 1024, reasoning: 128 });
  });
  it('gives nothing for chunks without usage and the totals for the last chunk (include_usage)', () => {
    expect(openaiUsage(chunk('hel'))).toBeUndefined();
    expect(openaiUsage(chunk('', { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }))).toEqual({ input: 10, output: 5 });
  });
  it('reads the Responses API, whole and as its response.completed event, and embeddings', () => {
    expect(openaiUsage(responsesResponse)).toEqual({ input: 500, output: 900, cacheRead: 0, reasoning: 700 });
    expect(openaiUsage({ type: 'response.output_text.delta', delta: 'x' })).toBeUndefined();
    expect(openaiUsage({ type: 'response.completed', sequence_number: 9, response: responsesResponse })).toEqual({ input: 500, output: 900, cacheRead: 0, reasoning: 700 });
    expect(openaiUsage({ object: 'list', data: [], usage: { prompt_tokens: 8, total_tokens: 8 } })).toEqual({ input: 8 });
  });
  it('gives nothing for other values', () => {
    for (const v of [undefined, null, 42, 'x', [], {}, { usage: null }, { usage: { foo: 1 } }]) expect(openaiUsage(v)).toBeUndefined();
  });
});

describe('anthropicUsage', () => {
  it('counts cache reads and writes into the input total, as the conventions define it', () => {
    expect(anthropicUsage(anthropicMessage)).toEqual({ input: 10_050, output: 400, cacheRead: 8000, cacheWrite: 2000 });
  });
  it('reads message_start and message_delta, and nothing from the other events', () => {
    expect(anthropicEvents.map((e) => anthropicUsage(e))).toEqual([
      { input: 8050, output: 1, cacheRead: 8000, cacheWrite: 0 }, undefined, undefined, undefined, { output: 420 }, undefined,
    ]);
  });
});

describe('token details and cost', () => {
  const pricing = {
    currency: 'USD',
    models: {
      'gpt-4o': { input: 2.5, cacheRead: 1.25, output: 10 },
      'claude-sonnet-4-5': { input: 3, cacheRead: 0.3, cacheWrite: 3.75, output: 15 },
    },
  };

  it('records cached and reasoning tokens apart, and the cost at each kind\'s price', async () => {
    const obs = make({ pricing });
    await obs.instrumentLlmCall(async () => chatCompletion, { model: 'gpt-4o', provider: 'openai', usage: openaiUsage })();
    const exp = await scrape(obs);
    const l = labels('gpt-4o', 'openai');
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...l, gen_ai_token_type: 'input' })).toMatchObject({ count: 1, sum: 1200 });
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...l, gen_ai_token_type: 'output' })).toMatchObject({ count: 1, sum: 300 });
    expect(detail(exp, l, 'cache_read')).toBe(1024);
    expect(detail(exp, l, 'reasoning')).toBe(128);
    // Not reported by OpenAI: no series.
    expect(detail(exp, l, 'cache_write')).toBeUndefined();
    // 176 uncached × 2.5 + 1024 cached × 1.25 + 300 output × 10, per million.
    expect(cost(exp, l)).toBeCloseTo(0.00472, 12);
  });

  it('prices a streamed Anthropic call from its events, cache writes included', async () => {
    const obs = make({ pricing });
    async function* events() {
      yield* anthropicEvents;
    }
    const call = obs.instrumentLlmCall(async () => events(), { model: 'claude-sonnet-4-5', provider: 'anthropic', usage: anthropicUsage });
    for await (const e of await call()) void e;
    obs.llm({ model: 'claude-sonnet-4-5', provider: 'anthropic' }).recordUsage(anthropicUsage(anthropicMessage) ?? {});
    const exp = await scrape(obs);
    const l = labels('claude-sonnet-4-5', 'anthropic');
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...l, gen_ai_token_type: 'input' })).toMatchObject({ count: 2, sum: 8050 + 10_050 });
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...l, gen_ai_token_type: 'output' })).toMatchObject({ count: 2, sum: 420 + 400 });
    expect(detail(exp, l, 'cache_read')).toBe(16_000);
    expect(detail(exp, l, 'cache_write')).toBe(2000);
    // Stream: 50 × 3 + 8000 × 0.3 + 420 × 15; message: 50 × 3 + 8000 × 0.3 + 2000 × 3.75 + 400 × 15.
    expect(cost(exp, l)).toBeCloseTo((150 + 2400 + 6300 + 150 + 2400 + 7500 + 6000) / 1e6, 12);
  });

  it('gives a model without a price no cost series, and takes the currency label from the table', async () => {
    const obs = make({ pricing: { currency: 'EUR', models: { 'gpt-4o': { input: 2, output: 8 } } } });
    await obs.instrumentLlmCall(async () => chatCompletion, { model: 'gpt-4o', provider: 'openai', usage: openaiUsage })();
    await obs.instrumentLlmCall(async () => chatCompletion, { model: 'unpriced', provider: 'openai', usage: openaiUsage })();
    const exp = await scrape(obs);
    // Without a cache price, cached input costs the input price.
    expect(cost(exp, labels('gpt-4o', 'openai'), 'EUR')).toBeCloseTo((1200 * 2 + 300 * 8) / 1e6, 12);
    expect(findSamples(exp, 'agentobs_llm_cost_total', { gen_ai_request_model: 'unpriced' })).toEqual([]);
    expect(detail(exp, labels('unpriced', 'openai'), 'cache_read')).toBe(1024);
  });

  it('puts the details on the span with the GenAI attribute names', async () => {
    tracing = installTestTracing();
    const obs = make();
    await obs.instrumentLlmCall(async () => chatCompletion, { model: 'gpt-4o', provider: 'openai', usage: openaiUsage })();
    await obs.instrumentLlmCall(async () => anthropicMessage, { model: 'claude', provider: 'anthropic', usage: anthropicUsage })();
    const [openai, anthropic] = tracing.spans() as [ReadableSpan, ReadableSpan];
    expect(openai.attributes).toMatchObject({
      'gen_ai.usage.input_tokens': 1200, 'gen_ai.usage.output_tokens': 300,
      'gen_ai.usage.cache_read.input_tokens': 1024, 'gen_ai.usage.reasoning.output_tokens': 128,
    });
    expect(anthropic.attributes).toMatchObject({ 'gen_ai.usage.cache_creation.input_tokens': 2000, 'gen_ai.usage.cache_read.input_tokens': 8000 });
  });

  it('rejects a bad price table at start-up with a ConfigError naming the entry', () => {
    const bad: unknown[] = [
      'USD', { models: [] }, { currency: 'dollars', models: {} }, { models: { m: { input: -1, output: 1 } } },
      { models: { m: { input: 1 } } }, { models: { m: { input: 1, output: Infinity } } }, { models: { m: { input: 1, output: 1, cached: 1 } } },
      { models: { '': { input: 1, output: 1 } } }, { models: {}, extra: 1 },
    ];
    for (const pricing of bad) {
      let err: unknown;
      try {
        createObservability({ registry: new Registry(), runtimeMetrics: false, logger: false, pricing: pricing as never });
      } catch (e) {
        err = e;
      }
      expect(isConfigError(err), JSON.stringify(pricing)).toBe(true);
      expect((err as Error).message).toMatch(/^pricing/);
    }
  });
});
