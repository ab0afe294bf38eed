import { describe, expectTypeOf, it } from 'vitest';
import {
  createObservability, isConfigError, type ConfigError, type LlmCallHandle, type MetricsServer, type OperationHandle,
} from 'agent-observability';

const obs = createObservability({ runtimeMetrics: false, logger: false });

describe('public types', () => {
  it('wrappers return exactly the type they were given', () => {
    const search = async (query: string, limit?: number): Promise<string[]> => [query].slice(0, limit);
    expectTypeOf(obs.instrumentTool(search, { tool: 'search' })).toEqualTypeOf(search);
    function add(this: { base: number }, x: number): number {
      return this.base + x;
    }
    expectTypeOf(obs.instrumentStep(add, { step: 'add', workflow: 'w' })).toEqualTypeOf(add);
    const overloaded: { (x: string): string; (x: number): number } = ((x: string | number) => x) as never;
    expectTypeOf(obs.instrumentAgent(overloaded, { agent: 'a' })).toEqualTypeOf(overloaded);
    expectTypeOf(obs.instrument('workflow', search, { workflow: 'w' })).toEqualTypeOf(search);
  });

  it('the usage mapper sees the awaited result of the wrapped function', () => {
    const call = async (): Promise<{ usage: { in: number; out: number } }> => ({ usage: { in: 1, out: 2 } });
    obs.instrumentLlmCall(call, {
      model: 'm',
      usage: (res) => {
        expectTypeOf(res).toEqualTypeOf<{ usage: { in: number; out: number } }>();
        return { input: res.usage.in, output: res.usage.out };
      },
    });
    // @ts-expect-error: the mapper must read fields that exist
    obs.instrumentLlmCall(call, { model: 'm', usage: (res) => ({ input: res.tokens }) });
  });

  it('for a function returning a stream, the mappers see its chunks', () => {
    interface Chunk {
      delta: string;
      usage: { prompt_tokens: number } | null;
    }
    class SdkStream implements AsyncIterable<Chunk> {
      async *[Symbol.asyncIterator](): AsyncIterator<Chunk> {}
      controller = new AbortController();
    }
    const create = async (): Promise<SdkStream> => new SdkStream();
    const wrapped = obs.instrumentLlmCall(create, {
      model: 'm',
      usage: (chunk) => {
        expectTypeOf(chunk).toEqualTypeOf<Chunk>();
        return chunk.usage ? { input: chunk.usage.prompt_tokens } : undefined;
      },
      streamUsage: (chunk) => {
        expectTypeOf(chunk).toEqualTypeOf<Chunk>();
        return undefined;
      },
    });
    expectTypeOf(wrapped).toEqualTypeOf(create);
    const web = (): ReadableStream<Uint8Array> => new ReadableStream();
    obs.instrumentLlmCall(web, { model: 'm', usage: (c) => (expectTypeOf(c).toEqualTypeOf<Uint8Array>(), undefined) });
    // @ts-expect-error: a chunk has no stream methods
    obs.instrumentLlmCall(create, { model: 'm', usage: (c) => ({ input: c.controller.signal.aborted ? 1 : 0 }) });
  });

  it('handles keep run() return types, sync stays sync', () => {
    expectTypeOf(obs.step('plan').run(() => 42)).toEqualTypeOf<number>();
    expectTypeOf(obs.tool('t').run(async () => 'x')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(obs.llm({ model: 'm' })).toEqualTypeOf<LlmCallHandle>();
    expectTypeOf(obs.workflow('w').step('s')).toEqualTypeOf<OperationHandle>();
    // @ts-expect-error: only a workflow handle binds steps; a tool handle has no step()
    obs.tool('t').step('s');
    // @ts-expect-error: nor has an agent handle
    obs.agent('a').step('s');
  });

  it('options are checked', () => {
    // @ts-expect-error: unknown kinds do not compile
    obs.instrument('nope', () => 1, {});
    // @ts-expect-error: a tool needs its name
    obs.instrumentTool(() => 1, {});
    // @ts-expect-error: only catalog histograms take bucket overrides
    createObservability({ buckets: { not_a_metric: [1] } });
    expectTypeOf(obs.listen).returns.resolves.toEqualTypeOf<MetricsServer>();
  });

  it('isConfigError narrows', () => {
    const e: unknown = new Error();
    if (isConfigError(e)) expectTypeOf(e).toEqualTypeOf<ConfigError>();
  });
});
