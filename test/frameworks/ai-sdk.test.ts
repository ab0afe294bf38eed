/**
 * The Vercel AI SDK integration, driven through the SDK itself: `generateText` and `streamText`
 * over `MockLanguageModelV3` (ai/test) with real multi-step tool loops, a provider failure, a
 * stream failure reported as an error part, and a retrying policy. Series and values are read
 * from /metrics over HTTP, the span tree from an in-memory exporter.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { generateText, jsonSchema, stepCountIs, streamText, tool, wrapLanguageModel } from 'ai';
import { MockLanguageModelV3, simulateReadableStream } from 'ai/test';
import { createObservability, type MetricsServer, type Observability } from 'agent-observability';
import { aiSdkMiddleware, aiSdkProviderName, aiSdkUsage, instrumentTools } from 'agent-observability/ai-sdk';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findSamples, getHistogram, getValue, parseExposition, type ParsedExposition } from '../helpers/exposition.js';
import { installTestTracing, parentId, type TestTracing } from '../helpers/otel.js';

let tracing: TestTracing;
let obs: Observability;
let server: MetricsServer;
beforeEach(async () => {
  tracing = installTestTracing();
  obs = createObservability({ registry: new Registry(), runtimeMetrics: false, logger: false });
  server = await obs.listen({ port: 0, host: '127.0.0.1' });
});
afterEach(async () => {
  await obs.shutdown();
  await tracing.uninstall();
});

async function scrape(): Promise<ParsedExposition> {
  const res = await fetch(`${server.url}`, { headers: { accept: 'text/plain' } });
  return parseExposition(await res.text(), 'prometheus');
}

type MockGenerate = ConstructorParameters<typeof MockLanguageModelV3>[0] extends infer O ? (O extends { doGenerate?: infer G } ? G : never) : never;
const usage = (input: number, output: number, cacheRead = 0, reasoning = 0) => ({
  inputTokens: { total: input, noCache: input - cacheRead, cacheRead, cacheWrite: undefined },
  outputTokens: { total: output, text: output - reasoning, reasoning },
});
const finish = (unified: 'stop' | 'tool-calls') => ({ unified, raw: unified });
const LLM = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai', gen_ai_request_model: 'mock-model', gen_ai_agent_name: 'support' };
const DURATION = 'gen_ai_client_operation_duration_seconds';

const weatherTool = tool({
  description: 'Weather in a city',
  inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
  execute: async ({ city }: { city: string }) => {
    if (city === 'Atlantis') throw Object.assign(new Error('no such city'), { code: 'unknown_city' });
    return { city, celsius: 21 };
  },
});

describe('aiSdkMiddleware with generateText', () => {
  it('records each step of a multi-step tool loop as an LLM call, each tool execution as a tool call, with usage and spans', async () => {
    let step = 0;
    const base = new MockLanguageModelV3({
      provider: 'openai.chat',
      modelId: 'mock-model',
      doGenerate: async () => {
        step++;
        if (step === 1) {
          return {
            content: [
              { type: 'tool-call', toolCallId: 'c1', toolName: 'weather', input: JSON.stringify({ city: 'Paris' }) },
              { type: 'tool-call', toolCallId: 'c2', toolName: 'weather', input: JSON.stringify({ city: 'Atlantis' }) },
            ],
            finishReason: finish('tool-calls'),
            usage: usage(120, 30, 100),
            warnings: [],
          };
        }
        return { content: [{ type: 'text', text: 'Paris is 21 °C; Atlantis is not a city.' }], finishReason: finish('stop'), usage: usage(200, 20, 100, 8), warnings: [] };
      },
    });
    const model = wrapLanguageModel({ model: base, middleware: aiSdkMiddleware(obs, { agent: 'support' }) });
    const result = await obs.agent('support').run(() =>
      generateText({ model, tools: instrumentTools(obs, { weather: weatherTool }, { agent: 'support' }), stopWhen: stepCountIs(3), prompt: 'Weather?' }),
    );
    expect(result.text).toBe('Paris is 21 °C; Atlantis is not a city.');
    expect(result.steps).toHaveLength(2);

    const exp = await scrape();
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' }).count).toBe(2);
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...LLM, gen_ai_token_type: 'input' })).toMatchObject({ count: 2, sum: 320 });
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...LLM, gen_ai_token_type: 'output' })).toMatchObject({ count: 2, sum: 50 });
    expect(getValue(exp, 'agentobs_llm_token_details_total', { ...LLM, gen_ai_token_type: 'cache_read' })).toBe(200);
    expect(getValue(exp, 'agentobs_llm_token_details_total', { ...LLM, gen_ai_token_type: 'reasoning' })).toBe(8);
    const tool = (error_type: string) => getHistogram(exp, 'gen_ai_execute_tool_duration_seconds', { gen_ai_tool_name: 'weather', gen_ai_agent_name: 'support', error_type }).count;
    expect(tool('')).toBe(1);
    expect(tool('unknown_city')).toBe(1);
    // Not streamed: no chunk series.
    expect(findSamples(exp, 'gen_ai_client_operation_time_to_first_chunk_seconds_count')).toEqual([]);

    const spans = tracing.spans();
    const agent = spans.find((s) => s.name === 'invoke_agent support') as ReadableSpan;
    const chats = spans.filter((s) => s.name === 'chat mock-model');
    const tools = spans.filter((s) => s.name === 'execute_tool weather');
    expect(chats).toHaveLength(2);
    expect(tools).toHaveLength(2);
    for (const s of [...chats, ...tools]) expect(parentId(s)).toBe(agent.spanContext().spanId);
    expect(chats[0]?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 120, 'gen_ai.usage.cache_read.input_tokens': 100, 'gen_ai.provider.name': 'openai' });
    expect(tools.filter((s) => s.attributes['error.type'] === 'unknown_city')).toHaveLength(1);
  });

  it('records a provider failure with its error type, the caller seeing the very error', async () => {
    const err = Object.assign(new Error('rate limited'), { code: 'rate_limited' });
    const base = new MockLanguageModelV3({ provider: 'anthropic.messages', modelId: 'claude', doGenerate: async () => Promise.reject(err) });
    const model = wrapLanguageModel({ model: base, middleware: aiSdkMiddleware(obs) });
    await expect(generateText({ model, prompt: 'x', maxRetries: 0 })).rejects.toBe(err);
    const exp = await scrape();
    const labels = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'anthropic', gen_ai_request_model: 'claude', gen_ai_agent_name: '' };
    expect(getHistogram(exp, DURATION, { ...labels, error_type: 'rate_limited' }).count).toBe(1);
  });

  it('runs each model call through a policy: retries recorded as attempts, the policy signal reaching the provider', async () => {
    let calls = 0;
    const signals: (AbortSignal | undefined)[] = [];
    const base = new MockLanguageModelV3({
      provider: 'openai.responses',
      modelId: 'mock-model',
      doGenerate: async (params) => {
        signals.push(params.abortSignal);
        if (++calls < 3) throw Object.assign(new Error('overloaded'), { code: 'overloaded' });
        return { content: [{ type: 'text', text: 'ok' }], finishReason: finish('stop'), usage: usage(10, 2), warnings: [] } satisfies MockGenerate;
      },
    });
    const policy = obs.policy({ name: 'llm', retry: { maxAttempts: 3, baseDelayMs: 1, retryable: () => true }, timeout: { ms: 5000 } });
    const model = wrapLanguageModel({ model: base, middleware: aiSdkMiddleware(obs, { agent: 'support', policy }) });
    const caller = new AbortController();
    const result = await generateText({ model, prompt: 'x', maxRetries: 0, abortSignal: caller.signal });
    expect(result.text).toBe('ok');
    expect(signals).toHaveLength(3);
    for (const s of signals) expect(s).toBeInstanceOf(AbortSignal);
    const exp = await scrape();
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: 'overloaded' }).count).toBe(2);
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' }).count).toBe(1);
    expect(getHistogram(exp, 'agentobs_retry_attempts', { kind: 'policy', name: 'llm' })).toMatchObject({ count: 1, sum: 3 });
  });
});

describe('aiSdkMiddleware with streamText', () => {
  function streamingModel(parts: unknown[], delays: { initialDelayInMs: number; chunkDelayInMs: number }) {
    return new MockLanguageModelV3({
      provider: 'openai.chat',
      modelId: 'mock-model',
      doStream: async () => ({ stream: simulateReadableStream({ chunks: parts as never[], ...delays }) }),
    });
  }
  const textParts = (texts: readonly string[]) => [
    { type: 'stream-start', warnings: [] },
    { type: 'response-metadata', id: 'r1', modelId: 'mock-model', timestamp: new Date(0) },
    { type: 'text-start', id: 't' },
    ...texts.map((delta) => ({ type: 'text-delta', id: 't', delta })),
    { type: 'text-end', id: 't' },
    { type: 'finish', finishReason: finish('stop'), usage: usage(50, texts.length, 40) },
  ];

  it('records time to first text, time per output chunk, duration to the last part and usage from the finish part', async () => {
    const model = wrapLanguageModel({ model: streamingModel(textParts(['Hel', 'lo', ' wor', 'ld']), { initialDelayInMs: 30, chunkDelayInMs: 5 }), middleware: aiSdkMiddleware(obs, { agent: 'support' }) });
    const result = streamText({ model, prompt: 'x' });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('Hello world');
    const exp = await scrape();
    const ttft = getHistogram(exp, 'gen_ai_client_operation_time_to_first_chunk_seconds', LLM);
    expect(ttft.count).toBe(1);
    // The first text delta is the fourth part: after the initial delay and three chunk delays.
    expect(ttft.sum).toBeGreaterThanOrEqual(0.04);
    // Only text deltas are timed: four of them, three gaps.
    expect(getHistogram(exp, 'gen_ai_client_operation_time_per_output_chunk_seconds', LLM).count).toBe(3);
    const d = getHistogram(exp, DURATION, { ...LLM, error_type: '' });
    expect(d.count).toBe(1);
    expect(d.sum).toBeGreaterThan(ttft.sum);
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...LLM, gen_ai_token_type: 'output' }).sum).toBe(4);
    expect(getValue(exp, 'agentobs_llm_streams_total', { ...LLM, outcome: 'completed' })).toBe(1);
    const chat = tracing.spans().find((s) => s.name === 'chat mock-model') as ReadableSpan;
    expect(chat.attributes).toMatchObject({ 'agentobs.stream.outcome': 'completed', 'gen_ai.usage.cache_read.input_tokens': 40 });
  });

  it('fails the call on an error part, and records a reader that cancels as cancelled', async () => {
    const err = Object.assign(new Error('overloaded'), { code: 'overloaded_error' });
    const failing = [...textParts(['a']).slice(0, 4), { type: 'error', error: err }];
    const errors: unknown[] = [];
    const m1 = wrapLanguageModel({ model: streamingModel(failing, { initialDelayInMs: 0, chunkDelayInMs: 0 }), middleware: aiSdkMiddleware(obs, { agent: 'support' }) });
    const r1 = streamText({ model: m1, prompt: 'x', onError: ({ error }) => void errors.push(error) });
    for await (const part of r1.fullStream) void part;
    expect(errors).toEqual([err]);

    // streamText reads the model's stream to its end whatever its consumer does, so the
    // cancellation is shown on the wrapped model's own stream, as a UI route piping it would.
    const m2 = wrapLanguageModel({ model: streamingModel(textParts(['a', 'b', 'c', 'd', 'e']), { initialDelayInMs: 0, chunkDelayInMs: 5 }), middleware: aiSdkMiddleware(obs, { agent: 'support' }) });
    const { stream } = await m2.doStream({ prompt: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] });
    const reader = stream.getReader();
    for (let i = 0; i < 4; i++) await reader.read();
    await reader.cancel('user pressed stop');

    const exp = await scrape();
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: 'overloaded_error' }).count).toBe(1);
    expect(getValue(exp, 'agentobs_llm_streams_total', { ...LLM, outcome: 'failed' })).toBe(1);
    expect(getValue(exp, 'agentobs_llm_streams_total', { ...LLM, outcome: 'cancelled' })).toBe(1);
    expect(getValue(exp, 'agentobs_operation_active', { kind: 'llm', name: 'mock-model' })).toBe(0);
  });
});

describe('helpers', () => {
  it('maps AI SDK provider ids to GenAI provider names', () => {
    expect(['openai.chat', 'openai.responses', 'anthropic.messages', 'google.generative-ai', 'google.vertex.chat', 'amazon-bedrock', 'mistral.chat', 'xai.chat', 'acme.chat'].map(aiSdkProviderName))
      .toEqual(['openai', 'openai', 'anthropic', 'gcp.gemini', 'gcp.vertex_ai', 'aws.bedrock', 'mistral_ai', 'x_ai', 'acme']);
  });
  it('reads V3 nested usage and V2 flat usage', () => {
    expect(aiSdkUsage({ usage: usage(10, 5, 4, 2) })).toEqual({ input: 10, output: 5, cacheRead: 4, cacheWrite: undefined, reasoning: 2 });
    expect(aiSdkUsage({ usage: { inputTokens: 10, outputTokens: 5, cachedInputTokens: 3, reasoningTokens: 1 } })).toEqual({ input: 10, output: 5, cacheRead: 3, reasoning: 1 });
    expect(aiSdkUsage({ type: 'text-delta' })).toBeUndefined();
  });
  it('rejects a bad configuration with a ConfigError', () => {
    expect(() => aiSdkMiddleware({} as Observability)).toThrow(/aiSdkMiddleware\(obs\)/);
    expect(() => aiSdkMiddleware(obs, { agent: 1 as never })).toThrow(/options.agent/);
    expect(() => aiSdkMiddleware(obs, { policy: {} as never })).toThrow(/options.policy/);
    expect(() => instrumentTools(obs, null as never)).toThrow(/instrumentTools/);
  });
});
