/**
 * Streamed LLM calls: observed to the last chunk, in place, with the caller's object untouched
 * in type and behaviour. A manual clock makes every duration exact.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { findSamples, getHistogram, getValue, parseExposition, type ParsedExposition } from '../../test/helpers/exposition.js';
import { installTestTracing, seconds, type TestTracing } from '../../test/helpers/otel.js';
import { createObservability, type Observability, type ObservabilityOptions } from '../observability.js';

let tracing: TestTracing | undefined;
const created: Observability[] = [];
afterEach(async () => {
  await Promise.all(created.splice(0).map((o) => o.shutdown()));
  await tracing?.uninstall();
  tracing = undefined;
});

/** A clock the test moves by hand (ms). */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

function make(o: ObservabilityOptions = {}): { obs: Observability; clock: ReturnType<typeof manualClock>; logs: string[] } {
  const clock = manualClock();
  const logs: string[] = [];
  const obs = createObservability({
    registry: new Registry(),
    runtimeMetrics: false,
    clock: clock.now,
    logger: { warn: (details, message) => void logs.push(JSON.stringify([details, message])) },
    ...o,
  });
  created.push(obs);
  return { obs, clock, logs };
}

async function scrape(obs: Observability): Promise<ParsedExposition> {
  return parseExposition((await obs.metrics()).body, 'prometheus');
}

const LLM = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt', gen_ai_agent_name: '' };
const DURATION = 'gen_ai_client_operation_duration_seconds';
const TTFT = 'gen_ai_client_operation_time_to_first_chunk_seconds';
const TPOC = 'gen_ai_client_operation_time_per_output_chunk_seconds';
const outcome = (exp: ParsedExposition, o: string): number =>
  findSamples(exp, 'agentobs_llm_streams_total', { ...LLM, outcome: o })[0]?.value ?? 0;
const inFlight = (exp: ParsedExposition): number => getValue(exp, 'agentobs_operation_active', { kind: 'llm', name: 'gpt' });
const internalErrors = (exp: ParsedExposition, component: string): number =>
  findSamples(exp, 'agentobs_internal_errors_total', { component })[0]?.value ?? 0;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Chunk {
  readonly text: string;
  readonly usage?: { readonly prompt_tokens: number; readonly completion_tokens: number } | null;
}
const openAIUsage = (c: Chunk) => (c.usage ? { input: c.usage.prompt_tokens, output: c.usage.completion_tokens } : undefined);

/** A source that yields `texts`, advancing the clock by `gapMs` before each, and records how far it got. */
function source(clock: { advance: (ms: number) => void }, texts: readonly string[], gapMs: number, log: string[] = []) {
  return async function* chunks(): AsyncGenerator<Chunk, void, unknown> {
    try {
      for (let i = 0; i < texts.length; i++) {
        clock.advance(gapMs);
        log.push(`yield ${i}`);
        yield { text: texts[i] as string, usage: i === texts.length - 1 ? { prompt_tokens: 7, completion_tokens: texts.length } : null };
      }
      clock.advance(gapMs);
    } finally {
      log.push('finally');
    }
  };
}

describe('an async generator returned by an LLM call', () => {
  it('records TTFT, one time per output chunk per later chunk, duration to the last chunk, usage from the final chunk', async () => {
    const { obs, clock } = make();
    const chat = obs.instrumentLlmCall(async () => source(clock, ['a', 'b', 'c', 'd'], 10)(), { model: 'gpt', provider: 'openai', usage: openAIUsage });
    const stream = await chat();
    expect(inFlight(await scrape(obs))).toBe(1);
    const texts: string[] = [];
    for await (const c of stream) texts.push(c.text);
    expect(texts).toEqual(['a', 'b', 'c', 'd']);
    const exp = await scrape(obs);
    expect(getHistogram(exp, TTFT, LLM)).toMatchObject({ count: 1, sum: 0.01 });
    const tpoc = getHistogram(exp, TPOC, LLM);
    expect(tpoc.count).toBe(3);
    expect(tpoc.sum).toBeCloseTo(0.03, 12);
    // Four gaps of 10 ms to the last chunk, a fifth to the end of the stream.
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' })).toMatchObject({ count: 1, sum: 0.05 });
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...LLM, gen_ai_token_type: 'input' })).toMatchObject({ count: 1, sum: 7 });
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...LLM, gen_ai_token_type: 'output' })).toMatchObject({ count: 1, sum: 4 });
    expect(outcome(exp, 'completed')).toBe(1);
    expect(inFlight(exp)).toBe(0);
  });

  it('is the very object, reads nothing ahead, and forwards next(value), return() and throw()', async () => {
    const { obs, clock } = make();
    const log: string[] = [];
    const gen = source(clock, ['a', 'b', 'c'], 1, log)();
    const proto = Object.getPrototypeOf(gen) as object;
    const llm = obs.llm({ model: 'gpt', provider: 'openai' });
    const out = await llm.run(async () => gen);
    expect(out).toBe(gen);
    expect(Object.getPrototypeOf(out)).toBe(proto);
    expect(Object.keys(out)).toEqual([]);
    expect(log).toEqual([]);
    expect(await out.next()).toEqual({ done: false, value: { text: 'a', usage: null } });
    expect(log).toEqual(['yield 0']);
    // return() ends the generator (its finally runs) and the call, as cancelled.
    expect(await out.return(undefined)).toEqual({ done: true, value: undefined });
    expect(log).toEqual(['yield 0', 'finally']);
    const exp = await scrape(obs);
    expect(outcome(exp, 'cancelled')).toBe(1);
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' }).count).toBe(1);
    expect(getHistogram(exp, TTFT, LLM).count).toBe(1);
    expect(inFlight(exp)).toBe(0);

    const boom = new Error('consumer gave up');
    const g2 = source(clock, ['a', 'b'], 1)();
    const out2 = await llm.run(() => Promise.resolve(g2));
    await out2.next();
    await expect(out2.throw(boom)).rejects.toBe(boom);
    expect(outcome(await scrape(obs), 'cancelled')).toBe(2);
  });

  it('records a consumer that breaks out of for await as cancelled, with no error series and no internal error', async () => {
    const { obs, clock, logs } = make();
    const log: string[] = [];
    const chat = obs.instrumentLlmCall(async () => source(clock, ['a', 'b', 'c', 'd'], 10, log)(), { model: 'gpt', provider: 'openai' });
    for await (const c of await chat()) if (c.text === 'b') break;
    expect(log).toEqual(['yield 0', 'yield 1', 'finally']);
    const exp = await scrape(obs);
    expect(outcome(exp, 'cancelled')).toBe(1);
    expect(outcome(exp, 'completed')).toBe(0);
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' })).toMatchObject({ count: 1, sum: 0.02 });
    expect(findSamples(exp, `${DURATION}_count`).filter((s) => s.labels.error_type !== '')).toEqual([]);
    expect(findSamples(exp, 'agentobs_internal_errors_total')).toEqual([]);
    expect(logs).toEqual([]);
  });

  it('fails the call with the error thrown mid-stream, the same error reaching the consumer, and keeps the usage reported before it', async () => {
    const { obs, clock } = make();
    class ProviderStreamError extends Error {
      readonly code = 'stream_interrupted';
    }
    const err = new ProviderStreamError('connection reset');
    async function* broken(): AsyncGenerator<Chunk> {
      clock.advance(5);
      yield { text: 'a', usage: { prompt_tokens: 3, completion_tokens: 1 } };
      clock.advance(5);
      throw err;
    }
    const chat = obs.instrumentLlmCall(async () => broken(), { model: 'gpt', provider: 'openai', usage: openAIUsage });
    const seen: unknown[] = [];
    try {
      for await (const c of await chat()) seen.push(c.text);
    } catch (e) {
      seen.push(e);
    }
    expect(seen).toEqual(['a', err]);
    expect(seen[1]).toBe(err);
    const exp = await scrape(obs);
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: 'stream_interrupted' })).toMatchObject({ count: 1, sum: 0.01 });
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' }).count).toBe(0);
    expect(outcome(exp, 'failed')).toBe(1);
    expect(getHistogram(exp, TTFT, LLM).count).toBe(1);
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...LLM, gen_ai_token_type: 'input' }).sum).toBe(3);
    expect(inFlight(exp)).toBe(0);
  });

  it('merges usage spread over chunks (Anthropic: input in message_start, output in message_delta)', async () => {
    const { obs } = make();
    type Event = { type: string; message?: { usage: { input_tokens: number; output_tokens: number } }; usage?: { output_tokens: number } };
    async function* anthropic(): AsyncGenerator<Event> {
      yield { type: 'message_start', message: { usage: { input_tokens: 25, output_tokens: 1 } } };
      yield { type: 'content_block_delta' };
      yield { type: 'message_delta', usage: { output_tokens: 15 } };
      yield { type: 'message_stop' };
    }
    const streamUsage = (e: Event) =>
      e.type === 'message_start' ? { input: e.message?.usage.input_tokens, output: e.message?.usage.output_tokens }
      : e.type === 'message_delta' ? { output: e.usage?.output_tokens }
      : undefined;
    const call = obs.instrumentLlmCall(async () => anthropic(), { model: 'gpt', provider: 'openai', streamUsage });
    for await (const e of await call()) void e;
    const exp = await scrape(obs);
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...LLM, gen_ai_token_type: 'input' })).toMatchObject({ count: 1, sum: 25 });
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...LLM, gen_ai_token_type: 'output' })).toMatchObject({ count: 1, sum: 15 });
  });

  it('counts a throwing chunk mapper once per stream and stops calling it; the stream goes on', async () => {
    const { obs, clock } = make();
    let calls = 0;
    const usage = (c: Chunk) => {
      calls++;
      return { input: (c.usage as NonNullable<Chunk['usage']>).prompt_tokens };
    };
    const chat = obs.instrumentLlmCall(async () => source(clock, ['a', 'b', 'c'], 1)(), { model: 'gpt', provider: 'openai', usage });
    const texts: string[] = [];
    for await (const c of await chat()) texts.push(c.text);
    expect(texts).toEqual(['a', 'b', 'c']);
    expect(calls).toBe(1);
    const exp = await scrape(obs);
    expect(internalErrors(exp, 'usage')).toBe(1);
    expect(outcome(exp, 'completed')).toBe(1);
  });

  it('is observed when returned synchronously, and not at all with stream: false or on other kinds', async () => {
    const { obs, clock } = make();
    const out = obs.llm({ model: 'gpt', provider: 'openai' }).run(() => source(clock, ['a', 'b'], 10)());
    for await (const c of out) void c;
    const plain = obs.llm({ model: 'gpt', provider: 'openai', stream: false }).run(() => source(clock, ['a', 'b'], 10)());
    expect(Object.getOwnPropertyNames(plain)).toEqual([]);
    for await (const c of plain) void c;
    const tool = obs.tool('search').run(() => source(clock, ['a'], 10)());
    expect(Object.getOwnPropertyNames(tool)).toEqual([]);
    const exp = await scrape(obs);
    const d = getHistogram(exp, DURATION, { ...LLM, error_type: '' });
    // The observed one ran 30 ms; the stream: false one ended at handover (0 ms).
    expect(d).toMatchObject({ count: 2, sum: 0.03 });
    expect(getHistogram(exp, TTFT, LLM).count).toBe(1);
    expect(outcome(exp, 'completed')).toBe(1);
  });

  it('leaves a frozen stream, a hostile proxy and plain values alone, never throwing', async () => {
    const { obs, clock } = make();
    const llm = obs.llm({ model: 'gpt', provider: 'openai' });
    const frozen = Object.freeze(source(clock, ['a'], 1)());
    expect(await llm.run(async () => frozen)).toBe(frozen);
    // `then` answers (the promise resolution reads it before we do); every other read throws.
    const hostile = new Proxy({}, {
      get(_t, key) {
        if (key === 'then') return undefined;
        throw new Error('trap');
      },
    });
    expect(await llm.run(async () => hostile)).toBe(hostile);
    const array = ['a', 'b'];
    expect(await llm.run(async () => array)).toBe(array);
    const exp = await scrape(obs);
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' }).count).toBe(3);
    expect(internalErrors(exp, 'stream')).toBe(1);
    expect(inFlight(exp)).toBe(0);
  });
});

/** A stream shaped like the one the Stainless-generated SDKs return (openai-node, anthropic-sdk-typescript). */
class SdkStream<T> implements AsyncIterable<T> {
  constructor(
    private iterator: () => AsyncIterator<T>,
    readonly controller: AbortController,
  ) {}
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.iterator();
  }
  /** As openai-node's: both branches read one underlying iterator through a shared queue. */
  tee(): [SdkStream<T>, SdkStream<T>] {
    const left: Promise<IteratorResult<T>>[] = [];
    const right: Promise<IteratorResult<T>>[] = [];
    const iterator = this.iterator();
    const teeIterator = (queue: Promise<IteratorResult<T>>[]): (() => AsyncIterator<T>) => () => ({
      next: () => {
        if (queue.length === 0) {
          const result = iterator.next();
          left.push(result);
          right.push(result);
        }
        return queue.shift() as Promise<IteratorResult<T>>;
      },
    });
    return [new SdkStream(teeIterator(left), this.controller), new SdkStream(teeIterator(right), this.controller)];
  }
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const x of this) out.push(x);
    return out;
  }
}

/** A promise subclass with an extra method, as the SDKs' APIPromise. */
class ApiPromise<T> extends Promise<T> {
  withResponse(): Promise<{ data: T; response: string }> {
    return this.then((data) => ({ data, response: 'raw' }));
  }
}

describe('an SDK stream object', () => {
  function sdkCall(obs: Observability, clock: { advance: (ms: number) => void }) {
    return obs.instrumentLlmCall(
      (): ApiPromise<SdkStream<Chunk>> =>
        new ApiPromise((resolve) => resolve(new SdkStream(() => source(clock, ['a', 'b', 'c'], 10)(), new AbortController()))),
      { model: 'gpt', provider: 'openai', usage: openAIUsage },
    );
  }

  it('keeps the promise subclass, the stream class and its methods; ends at the last chunk', async () => {
    const { obs, clock } = make();
    const p = sdkCall(obs, clock)();
    expect(p).toBeInstanceOf(ApiPromise);
    const stream = await p;
    expect(stream).toBeInstanceOf(SdkStream);
    expect(stream.controller).toBeInstanceOf(AbortController);
    expect((await stream.toArray()).map((c) => c.text)).toEqual(['a', 'b', 'c']);
    const exp = await scrape(obs);
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' })).toMatchObject({ count: 1, sum: 0.04 });
    expect(getHistogram(exp, TPOC, LLM).count).toBe(2);
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...LLM, gen_ai_token_type: 'output' }).sum).toBe(3);
    expect(outcome(exp, 'completed')).toBe(1);
  });

  it('observes tee() once, whichever branch reads', async () => {
    const { obs, clock } = make();
    const [left, right] = (await sdkCall(obs, clock)()).tee();
    const [l, r] = await Promise.all([left.toArray(), right.toArray()]);
    expect(l.map((c) => c.text)).toEqual(['a', 'b', 'c']);
    expect(r.map((c) => c.text)).toEqual(['a', 'b', 'c']);
    const exp = await scrape(obs);
    expect(getHistogram(exp, TTFT, LLM).count).toBe(1);
    expect(getHistogram(exp, TPOC, LLM).count).toBe(2);
    expect(outcome(exp, 'completed')).toBe(1);
  });

  it('observes the first iteration only: a second iterator passes through', async () => {
    const { obs, clock } = make();
    const chunks = [{ text: 'a' }, { text: 'b' }];
    const reiterable = {
      async *[Symbol.asyncIterator]() {
        clock.advance(1);
        yield* chunks;
      },
    };
    const out = await obs.llm({ model: 'gpt', provider: 'openai' }).run(async () => reiterable);
    for await (const c of out) void c;
    for await (const c of out) void c;
    const exp = await scrape(obs);
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' }).count).toBe(1);
    expect(getHistogram(exp, TTFT, LLM).count).toBe(1);
  });
});

describe('a web ReadableStream', () => {
  /** A pull source with high-water mark 0: `pulls` counts what was asked of it. */
  function webSource(clock: { advance: (ms: number) => void }, texts: readonly string[]) {
    const state = { pulls: 0, cancelled: undefined as unknown };
    let i = 0;
    const stream = new ReadableStream<string>(
      {
        pull(controller) {
          state.pulls++;
          clock.advance(10);
          if (i < texts.length) controller.enqueue(texts[i++] as string);
          else controller.close();
        },
        cancel(reason) {
          state.cancelled = reason;
        },
      },
      { highWaterMark: 0 },
    );
    return { stream, state };
  }

  it('reads through getReader() with nothing read ahead, ends at the last chunk, and stays the same ReadableStream', async () => {
    const { obs, clock } = make();
    const { stream, state } = webSource(clock, ['a', 'b', 'c']);
    const out = await obs.llm({ model: 'gpt', provider: 'openai' }).run(async () => stream);
    expect(out).toBe(stream);
    expect(out).toBeInstanceOf(ReadableStream);
    expect(out.locked).toBe(false);
    const reader = out.getReader();
    expect(out.locked).toBe(true);
    expect(await reader.read()).toEqual({ done: false, value: 'a' });
    await tick();
    expect(state.pulls).toBe(1);
    expect(await reader.read()).toEqual({ done: false, value: 'b' });
    expect(await reader.read()).toEqual({ done: false, value: 'c' });
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    reader.releaseLock();
    expect(out.locked).toBe(false);
    const exp = await scrape(obs);
    expect(getHistogram(exp, TTFT, LLM)).toMatchObject({ count: 1, sum: 0.01 });
    expect(getHistogram(exp, TPOC, LLM).count).toBe(2);
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' })).toMatchObject({ count: 1, sum: 0.04 });
    expect(outcome(exp, 'completed')).toBe(1);
  });

  it('is observed through for await, pipeTo, pipeThrough, tee, Response and Readable.fromWeb', async () => {
    const { obs, clock } = make();
    const llm = obs.llm({ model: 'gpt', provider: 'openai' });
    const next = () => llm.run(async () => webSource(clock, ['x', 'y']).stream);
    const seen: string[] = [];
    for await (const c of await next()) seen.push(`iter:${c}`);
    await (await next()).pipeTo(new WritableStream({ write: (c) => void seen.push(`pipe:${c}`) }));
    const upper = (await next()).pipeThrough(new TransformStream<string, string>({ transform: (c, ctl) => ctl.enqueue(c.toUpperCase()) }));
    for await (const c of upper) seen.push(`through:${c}`);
    const [a, b] = (await next()).tee();
    for await (const c of a) seen.push(`teeA:${c}`);
    for await (const c of b) seen.push(`teeB:${c}`);
    seen.push(`response:${await new Response((await next()).pipeThrough(new TextEncoderStream())).text()}`);
    for await (const c of Readable.fromWeb((await next()) as NodeReadableStream<string>, { objectMode: true })) seen.push(`node:${String(c)}`);
    expect(seen).toEqual([
      'iter:x', 'iter:y', 'pipe:x', 'pipe:y', 'through:X', 'through:Y', 'teeA:x', 'teeA:y', 'teeB:x', 'teeB:y', 'response:xy', 'node:x', 'node:y',
    ]);
    const exp = await scrape(obs);
    expect(outcome(exp, 'completed')).toBe(6);
    expect(getHistogram(exp, TTFT, LLM).count).toBe(6);
    expect(getHistogram(exp, TPOC, LLM).count).toBe(6);
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' })).toMatchObject({ count: 6 });
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' }).sum).toBeCloseTo(6 * 0.03, 12);
  });

  it('forwards cancel(reason) to the source and records the stream as cancelled, read or not', async () => {
    const { obs, clock } = make();
    const llm = obs.llm({ model: 'gpt', provider: 'openai' });
    const first = webSource(clock, ['a', 'b', 'c']);
    const out = await llm.run(async () => first.stream);
    const reader = out.getReader();
    await reader.read();
    await reader.cancel('user pressed stop');
    expect(first.state.cancelled).toBe('user pressed stop');
    const second = webSource(clock, ['a']);
    await (await llm.run(async () => second.stream)).cancel('not needed');
    expect(second.state.cancelled).toBe('not needed');
    const exp = await scrape(obs);
    expect(outcome(exp, 'cancelled')).toBe(2);
    expect(inFlight(exp)).toBe(0);
  });

  it('fails the call when the source errors, the reader seeing the same error', async () => {
    const { obs } = make();
    const err = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const stream = new ReadableStream<string>({
      start(controller) {
        controller.enqueue('a');
      },
      pull(controller) {
        controller.error(err);
      },
    });
    const out = await obs.llm({ model: 'gpt', provider: 'openai' }).run(async () => stream);
    const reader = out.getReader();
    expect(await reader.read()).toEqual({ done: false, value: 'a' });
    await expect(reader.read()).rejects.toBe(err);
    const exp = await scrape(obs);
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: 'ECONNRESET' }).count).toBe(1);
    expect(outcome(exp, 'failed')).toBe(1);
  });

  it('lets a BYOB reader read a byte stream directly, ending the call at handover', async () => {
    const { obs } = make();
    const bytes = new ReadableStream({
      type: 'bytes',
      pull(controller) {
        controller.enqueue(new Uint8Array([1, 2, 3]));
        controller.close();
      },
    });
    const out = await obs.llm({ model: 'gpt', provider: 'openai' }).run(async () => bytes);
    const reader = out.getReader({ mode: 'byob' });
    const r = await reader.read(new Uint8Array(8));
    expect(Array.from(r.value ?? [])).toEqual([1, 2, 3]);
    const exp = await scrape(obs);
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' }).count).toBe(1);
    expect(getHistogram(exp, TTFT, LLM).count).toBe(0);
    expect(inFlight(exp)).toBe(0);
  });
});

describe('a stream nobody finishes', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  async function collect(until: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 50 && !(await until()); i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('ends as unconsumed when dropped unread, and as cancelled when dropped mid-way; the in-flight gauge returns to 0', async () => {
    const { obs, clock } = make();
    const llm = obs.llm({ model: 'gpt', provider: 'openai' });
    await (async () => {
      await llm.run(async () => source(clock, ['a', 'b'], 10)());
      const midway = await llm.run(async () => source(clock, ['a', 'b', 'c'], 10)());
      await midway.next();
    })();
    expect(inFlight(await scrape(obs))).toBe(2);
    await collect(async () => inFlight(await scrape(obs)) === 0);
    const exp = await scrape(obs);
    expect(outcome(exp, 'unconsumed')).toBe(1);
    expect(outcome(exp, 'cancelled')).toBe(1);
    expect(inFlight(exp)).toBe(0);
    // Unread: the call ends at handover (0 s); dropped after one chunk: at that chunk (10 ms).
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' })).toMatchObject({ count: 2, sum: 0.01 });
  });
});

describe('spans of streamed calls', () => {
  const byName = (spans: ReadableSpan[]) => spans.filter((s) => s.name === 'chat gpt');

  it('end with the stream, carrying its outcome, chunk count and usage', async () => {
    tracing = installTestTracing();
    // The real clock: spans keep wall time, which a manual clock cannot give them.
    const { obs } = make({ clock: performance.now.bind(performance) });
    const slow = { advance: () => undefined };
    async function* paced(): AsyncGenerator<Chunk> {
      for await (const c of source(slow, ['a', 'b', 'c'], 0)()) {
        await new Promise((r) => setTimeout(r, 40));
        yield c;
      }
    }
    const chat = obs.instrumentLlmCall(async () => paced(), { model: 'gpt', provider: 'openai', usage: openAIUsage });
    const stream = await chat();
    expect(byName(tracing.spans())).toEqual([]);
    for await (const c of stream) void c;
    const [span] = byName(tracing.spans());
    expect(span).toBeDefined();
    const s = span as ReadableSpan;
    // Three chunks 40 ms apart: the span lasted to the last one, not to the handover.
    expect(seconds(s)).toBeGreaterThanOrEqual(0.115);
    expect(s.attributes).toMatchObject({
      'agentobs.stream.outcome': 'completed',
      'agentobs.stream.chunks': 3,
      'gen_ai.usage.input_tokens': 7,
      'gen_ai.usage.output_tokens': 3,
    });
    const exp = await scrape(obs);
    // The time to first chunk carries the span as its exemplar, so a slow first chunk leads to its trace.
    expect(getHistogram(exp, TTFT, LLM).count).toBe(1);
  });

  it('fail with an error mid-stream', async () => {
    tracing = installTestTracing();
    const { obs } = make();
    async function* broken(): AsyncGenerator<string> {
      yield 'a';
      throw Object.assign(new Error('x'), { code: 'overloaded' });
    }
    const chat = obs.instrumentLlmCall(async () => broken(), { model: 'gpt', provider: 'openai' });
    await expect((async () => {
      for await (const c of await chat()) void c;
    })()).rejects.toThrow('x');
    const s = byName(tracing.spans())[0] as ReadableSpan;
    expect(s.attributes).toMatchObject({ 'agentobs.stream.outcome': 'failed', 'agentobs.stream.chunks': 1, 'error.type': 'overloaded' });
    expect(s.status.code).toBe(2);
  });
});

describe('chunk readers for SDK event streams', () => {
  type Part = { type: 'stream-start' } | { type: 'text-delta'; delta: string } | { type: 'error'; error: unknown } | { type: 'finish'; usage: { input: number; output: number } };
  function parts(clock: { advance: (ms: number) => void }, list: readonly Part[]) {
    return async function* gen(): AsyncGenerator<Part> {
      for (const p of list) {
        clock.advance(10);
        yield p;
      }
    };
  }
  const options = {
    model: 'gpt',
    provider: 'openai',
    usage: (p: Part) => (p.type === 'finish' ? p.usage : undefined),
    outputChunk: (p: Part) => p.type === 'text-delta',
    chunkError: (p: Part) => (p.type === 'error' ? p.error : undefined),
  };

  it('times output chunks only: metadata events pass through untimed', async () => {
    const { obs, clock } = make();
    const list: Part[] = [{ type: 'stream-start' }, { type: 'text-delta', delta: 'a' }, { type: 'text-delta', delta: 'b' }, { type: 'finish', usage: { input: 3, output: 2 } }];
    const seen: string[] = [];
    for await (const p of await obs.instrumentLlmCall(async () => parts(clock, list)(), options)()) seen.push(p.type);
    expect(seen).toEqual(['stream-start', 'text-delta', 'text-delta', 'finish']);
    const exp = await scrape(obs);
    // The first text delta came 20 ms in (after stream-start), the second 10 ms later.
    expect(getHistogram(exp, TTFT, LLM)).toMatchObject({ count: 1, sum: 0.02 });
    expect(getHistogram(exp, TPOC, LLM)).toMatchObject({ count: 1, sum: 0.01 });
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...LLM, gen_ai_token_type: 'output' }).sum).toBe(2);
    expect(outcome(exp, 'completed')).toBe(1);
  });

  it('fails the call with the error an event reports, passing every event through', async () => {
    const { obs, clock } = make();
    const err = Object.assign(new Error('overloaded'), { code: 'overloaded_error' });
    const list: Part[] = [{ type: 'text-delta', delta: 'a' }, { type: 'error', error: err }, { type: 'finish', usage: { input: 3, output: 1 } }];
    const seen: string[] = [];
    for await (const p of await obs.instrumentLlmCall(async () => parts(clock, list)(), options)()) seen.push(p.type);
    expect(seen).toEqual(['text-delta', 'error', 'finish']);
    const exp = await scrape(obs);
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: 'overloaded_error' }).count).toBe(1);
    expect(getHistogram(exp, DURATION, { ...LLM, error_type: '' }).count).toBe(0);
    expect(outcome(exp, 'failed')).toBe(1);
    expect(getHistogram(exp, 'gen_ai_client_token_usage', { ...LLM, gen_ai_token_type: 'input' }).sum).toBe(3);
  });

  it('counts a throwing reader once and goes on as without it', async () => {
    const { obs, clock } = make();
    const list: Part[] = [{ type: 'text-delta', delta: 'a' }, { type: 'text-delta', delta: 'b' }];
    const boom = () => {
      throw new TypeError('reader bug');
    };
    const call = obs.instrumentLlmCall(async () => parts(clock, list)(), { model: 'gpt', provider: 'openai', outputChunk: boom, chunkError: boom });
    for await (const p of await call()) void p;
    const exp = await scrape(obs);
    expect(internalErrors(exp, 'stream')).toBe(2);
    expect(getHistogram(exp, TTFT, LLM).count).toBe(1);
    expect(outcome(exp, 'completed')).toBe(1);
  });
});
