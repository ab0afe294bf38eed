import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AlwaysOffSampler } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findSamples, getHistogram, getValue, parseExposition, type ParsedExposition } from '../../test/helpers/exposition.js';
import { installTestTracing, parentId, seconds, type TestTracing } from '../../test/helpers/otel.js';
import { createObservability, type ObservabilityOptions } from '../index.js';
import { MAX_EXCEPTION_MESSAGE, cleanText, exceptionType } from './spans.js';

const OM = 'application/openmetrics-text';
let tracing: TestTracing | undefined;
const handles: { shutdown(): Promise<void> }[] = [];

afterEach(async () => {
  await tracing?.uninstall();
  tracing = undefined;
  for (const h of handles.splice(0)) await h.shutdown();
});

function make(o: ObservabilityOptions = {}) {
  const obs = createObservability({ runtimeMetrics: false, logger: false, ...o });
  handles.push(obs);
  return obs;
}

async function om(obs: ReturnType<typeof make>): Promise<ParsedExposition> {
  return parseExposition((await obs.metrics(OM)).body, 'openmetrics');
}

function byName(t: TestTracing, name: string) {
  const s = t.spans().filter((x) => x.name === name);
  expect(s, name).toHaveLength(1);
  return s[0]!;
}

describe('spans with no tracer provider registered', () => {
  it('starts nothing and never enters a context, sync or async', async () => {
    const cm = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(cm);
    const withSpy = vi.spyOn(cm, 'with');
    try {
      const obs = make();
      const seen: unknown[] = [];
      const sync = obs.instrumentTool((x: number) => {
        seen.push(trace.getActiveSpan());
        return x + 1;
      }, { tool: 't' });
      const async = obs.instrumentLlmCall(async (x: number) => x * 2, { model: 'm' });
      expect(sync(1)).toBe(2);
      await expect(async(2)).resolves.toBe(4);
      await expect(obs.agent('a').run(async () => obs.workflow('w').step('s').run(() => 'ok'))).resolves.toBe('ok');
      expect(seen).toEqual([undefined]);
      expect(withSpy).not.toHaveBeenCalled();
      // No exemplars either: nothing is sampled.
      expect((await om(obs)).samples.filter((s) => s.exemplar !== undefined)).toEqual([]);
    } finally {
      cm.disable();
      context.disable();
    }
  });
});

describe('spans with a tracer provider', () => {
  it('names, kinds, attributes and nesting follow the GenAI conventions: agent → workflow → step → tool → LLM', async () => {
    tracing = installTestTracing();
    const obs = make();
    const chat = obs.instrumentLlmCall(async (q: string) => ({ text: q, usage: { in: 12, out: 7 } }), {
      model: 'gpt-x', provider: 'openai', agent: 'support', usage: (r) => ({ input: r.usage.in, output: r.usage.out }),
    });
    const search = obs.instrumentTool(async (q: string) => (await chat(q)).text, { tool: 'web_search', agent: 'support' });
    const wf = obs.workflow('answer');
    const out = await obs.agent('support').run(() => wf.run(() => wf.step('gather').run(() => search('hi'))));
    expect(out).toBe('hi');

    const agent = byName(tracing, 'invoke_agent support');
    const workflow = byName(tracing, 'invoke_workflow answer');
    const step = byName(tracing, 'workflow_step gather');
    const tool = byName(tracing, 'execute_tool web_search');
    const llm = byName(tracing, 'chat gpt-x');
    expect([agent, workflow, step, tool].map((s) => s.kind)).toEqual([SpanKind.INTERNAL, SpanKind.INTERNAL, SpanKind.INTERNAL, SpanKind.INTERNAL]);
    expect(llm.kind).toBe(SpanKind.CLIENT);
    expect(parentId(agent)).toBeUndefined();
    expect(parentId(workflow)).toBe(agent.spanContext().spanId);
    expect(parentId(step)).toBe(workflow.spanContext().spanId);
    expect(parentId(tool)).toBe(step.spanContext().spanId);
    expect(parentId(llm)).toBe(tool.spanContext().spanId);
    expect(new Set(tracing.spans().map((s) => s.spanContext().traceId)).size).toBe(1);

    expect(agent.attributes).toEqual({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'support' });
    expect(workflow.attributes).toEqual({ 'gen_ai.operation.name': 'invoke_workflow', 'gen_ai.workflow.name': 'answer' });
    expect(step.attributes).toEqual({ 'gen_ai.workflow.name': 'answer', 'agentobs.workflow.step': 'gather' });
    expect(tool.attributes).toEqual({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search', 'gen_ai.agent.name': 'support' });
    expect(llm.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-x',
      'gen_ai.agent.name': 'support',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 7,
    });
    for (const s of tracing.spans()) expect(s.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('keeps parallel calls under their own parents', async () => {
    tracing = installTestTracing();
    const obs = make();
    const tool = obs.instrumentTool(async (ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), { tool: 'sleep' });
    const wf = obs.workflow('w');
    await wf.run(() => Promise.all(['a', 'b', 'c'].map((s, i) => wf.step(s).run(() => Promise.all([tool(3 - i), tool(i + 1)])))));
    const tools = tracing.spans().filter((s) => s.name === 'execute_tool sleep');
    expect(tools).toHaveLength(6);
    for (const s of ['a', 'b', 'c']) {
      const step = byName(tracing, `workflow_step ${s}`);
      expect(tools.filter((t) => parentId(t) === step.spanContext().spanId)).toHaveLength(2);
    }
  });

  it('records failures: error.type, ERROR status, an exception event with a short clean message (exceptionMessages: true); rethrows the same error', async () => {
    tracing = installTestTracing();
    const obs = make({ tracing: { exceptionMessages: true } });
    const boom = Object.assign(new Error(`${'x'.repeat(5000)}\r\nInjected: line`), { code: 'rate_limited' });
    const fail = obs.instrumentLlmCall(async () => Promise.reject(boom), { model: 'm', provider: 'p' });
    await expect(fail()).rejects.toBe(boom);
    const syncFail = obs.instrumentTool(() => {
      throw new TypeError('bad\u0000input');
    }, { tool: 't' });
    expect(() => syncFail()).toThrow(TypeError);

    const llm = byName(tracing, 'chat m');
    expect(llm.status).toEqual({ code: SpanStatusCode.ERROR, message: 'rate_limited' });
    expect(llm.attributes['error.type']).toBe('rate_limited');
    expect(llm.events.map((e) => e.name)).toEqual(['exception']);
    const attrs = llm.events[0]!.attributes!;
    expect(attrs['exception.type']).toBe('Error');
    const msg = attrs['exception.message'] as string;
    expect(msg.length).toBe(MAX_EXCEPTION_MESSAGE);
    expect(msg.endsWith('…')).toBe(true);
    expect(JSON.stringify(llm.events)).not.toContain('Injected');
    expect(attrs['exception.stacktrace']).toBeUndefined();

    const tool = byName(tracing, 'execute_tool t');
    expect(tool.attributes['error.type']).toBe('TypeError');
    expect(tool.events[0]!.attributes).toEqual({ 'exception.type': 'TypeError', 'exception.message': 'bad input' });
  });

  it('records no exception.message by default; a redactor decides what is recorded, and one that throws records none and is counted', async () => {
    tracing = installTestTracing();
    const secret = new Error('Incorrect API key provided: sk-live-SECRET123. Prompt was: my SSN is 000-00-0000');
    const plain = make();
    await expect(plain.instrumentLlmCall(async () => Promise.reject(secret), { model: 'm1' })()).rejects.toBe(secret);
    expect(byName(tracing, 'chat m1').events[0]!.attributes).toEqual({ 'exception.type': 'Error' });

    const seen: unknown[] = [];
    const redacting = make({
      tracing: {
        exceptionMessages: (message, context) => {
          seen.push(context);
          return message.replace(/sk-[\w-]+/g, 'sk-***').replace(/Prompt was:.*/, '');
        },
      },
    });
    await expect(redacting.instrumentLlmCall(async () => Promise.reject(secret), { model: 'm2' })()).rejects.toBe(secret);
    expect(byName(tracing, 'chat m2').events[0]!.attributes).toEqual({ 'exception.type': 'Error', 'exception.message': 'Incorrect API key provided: sk-***. ' });
    expect(seen).toEqual([{ errorType: 'Error', exceptionType: 'Error' }]);

    const broken = make({
      tracing: {
        exceptionMessages: () => {
          throw new Error('redactor bug');
        },
      },
    });
    await expect(broken.instrumentTool(async () => Promise.reject(secret), { tool: 't3' })()).rejects.toBe(secret);
    expect(byName(tracing, 'execute_tool t3').events[0]!.attributes).toEqual({ 'exception.type': 'Error' });
    expect(getValue(await om(broken), 'agentobs_internal_errors_total', { component: 'tracing' })).toBe(1);
    expect(JSON.stringify(tracing.spans().map((s) => [s.attributes, s.events, s.status]))).not.toContain('SECRET');
  });

  it('rejects an exceptionMessages option that is neither a boolean nor a function', () => {
    expect(() => make({ tracing: { exceptionMessages: 'yes' as never } })).toThrow(/tracing\.exceptionMessages: expected a boolean or a function/);
  });

  it('uses one timestamp pair for the span and the metric', async () => {
    tracing = installTestTracing();
    const obs = make();
    await obs.tool('slow').run(() => new Promise((r) => setTimeout(r, 15)));
    const span = byName(tracing, 'execute_tool slow');
    const h = getHistogram(await om(obs), 'gen_ai_execute_tool_duration_seconds', { gen_ai_tool_name: 'slow', gen_ai_agent_name: '', error_type: '' });
    expect(h.count).toBe(1);
    expect(Math.abs(seconds(span) - h.sum)).toBeLessThan(2e-6);
  });

  it('puts a trace_id/span_id exemplar on every observation made in a sampled span', async () => {
    tracing = installTestTracing();
    const obs = make();
    await obs.agent('a').run(() => obs.tool('t').run(async () => 1));
    await expect(obs.tool('t').run(async () => Promise.reject(new RangeError('no')))).rejects.toThrow('no');
    const exp = await om(obs);
    const withEx = exp.samples.filter((s) => s.exemplar !== undefined);
    const spans = new Map(tracing.spans().map((s) => [s.spanContext().spanId, s]));
    expect(withEx.map((s) => s.name).sort()).toEqual([
      'gen_ai_execute_tool_duration_seconds_bucket', 'gen_ai_execute_tool_duration_seconds_bucket', 'gen_ai_invoke_agent_duration_seconds_bucket',
    ]);
    for (const s of withEx) {
      const span = spans.get(s.exemplar!.labels.span_id!);
      expect(span, JSON.stringify(s)).toBeDefined();
      expect(s.exemplar!.labels.trace_id).toBe(span!.spanContext().traceId);
      expect(s.exemplar!.value).toBeCloseTo(seconds(span!), 5);
      expect(Math.abs(s.exemplar!.timestamp! - Date.now() / 1000)).toBeLessThan(60);
    }
    expect(findSamples(exp, 'gen_ai_execute_tool_duration_seconds_bucket', { error_type: 'RangeError' }).some((s) => s.exemplar)).toBe(true);
  });

  it('adds no exemplar when the span is not sampled, and still starts (non-recording) spans', async () => {
    tracing = installTestTracing({ sampler: new AlwaysOffSampler() });
    const obs = make();
    let inner: string | undefined;
    await obs.agent('a').run(() => obs.tool('t').run(() => (inner = trace.getActiveSpan()?.spanContext().spanId)));
    expect(inner).toMatch(/^[0-9a-f]{16}$/);
    expect(tracing.spans()).toEqual([]);
    expect((await om(obs)).samples.filter((s) => s.exemplar !== undefined)).toEqual([]);
  });

  it('gives obs.record() calls made inside a sampled span that span as exemplar', async () => {
    tracing = installTestTracing();
    const obs = make();
    const tracer = trace.getTracer('test');
    const spanId = tracer.startActiveSpan('outer', (s) => {
      obs.tool('measured').record(0.2);
      s.end();
      return s.spanContext().spanId;
    });
    obs.tool('measured').record(0.3);
    const ex = (await om(obs)).samples.filter((s) => s.exemplar !== undefined);
    expect(ex.map((s) => [s.labels.le, s.exemplar!.labels.span_id])).toEqual([['0.32', spanId]]);
  });

  it('stamps every span with the correlation ID of its scope', async () => {
    tracing = installTestTracing();
    const obs = make();
    await Promise.all(['r-1', 'r-2'].map((id) => obs.withCorrelation(id, () => obs.agent('a').run(() => obs.tool(id).run(async () => id)))));
    for (const s of tracing.spans()) {
      const id = s.name.startsWith('execute_tool ') ? s.name.slice('execute_tool '.length) : undefined;
      if (id !== undefined) expect(s.attributes['agentobs.correlation_id']).toBe(id);
    }
    const agents = tracing.spans().filter((s) => s.name === 'invoke_agent a').map((s) => s.attributes['agentobs.correlation_id']);
    expect(agents.sort()).toEqual(['r-1', 'r-2']);
  });

  it('names each handle\'s spans after its own raw names, for handles bound before the provider was registered', async () => {
    const obs = make();
    const a = obs.tool('search', { agent: 'alpha' });
    const b = obs.tool('line\nbreak', { agent: 'beta' });
    tracing = installTestTracing();
    await a.run(async () => 1);
    await b.run(async () => 2);
    await a.run(async () => 3);
    const names = tracing.spans().map((s) => [s.name, s.attributes['gen_ai.agent.name']]);
    // The sanitized metric label differs from the raw name: the span keeps the raw one.
    expect(names).toEqual([['execute_tool search', 'alpha'], ['execute_tool line\nbreak', 'beta'], ['execute_tool search', 'alpha']]);
  });

  it('names models outside the allow-list in spans, while metrics fold them into _OTHER', async () => {
    tracing = installTestTracing();
    const obs = make({ cardinality: { models: ['allowed'] } });
    await obs.llm({ model: 'secret-finetune-7' }).run(async () => 1);
    expect(byName(tracing, 'chat secret-finetune-7').attributes['gen_ai.request.model']).toBe('secret-finetune-7');
    expect(findSamples(await om(obs), 'gen_ai_client_operation_duration_seconds_count').map((s) => s.labels.gen_ai_request_model)).toEqual(['_OTHER']);
  });

  it('stays transparent: sync stays sync, the same promise object and this come back', async () => {
    tracing = installTestTracing();
    const obs = make();
    const p = Promise.resolve(5);
    const same = obs.instrumentTool(() => p, { tool: 'p' });
    expect(same()).toBe(p);
    const self = { k: 3, get(this: { k: number }, x: number) { return this.k + x; } };
    self.get = obs.instrumentTool(self.get, { tool: 'this' });
    expect(self.get(1)).toBe(4);
    await p;
    expect(tracing.spans().map((s) => s.name).sort()).toEqual(['execute_tool p', 'execute_tool this']);
  });

  it('stays transparent for any value, error, this and arguments (property)', async () => {
    tracing = installTestTracing();
    const obs = make();
    await fc.assert(
      fc.asyncProperty(fc.anything(), fc.boolean(), fc.boolean(), fc.array(fc.anything(), { maxLength: 4 }), async (value, fail, async, args) => {
        const self = { tag: Symbol('this') };
        let seen: { self: unknown; args: unknown[] } | undefined;
        const fn = function (this: unknown, ...a: unknown[]): unknown {
          seen = { self: this, args: a };
          if (!async) {
            if (fail) throw value;
            return value;
          }
          return fail ? Promise.reject(value) : Promise.resolve(value);
        };
        const wrapped = obs.instrumentTool(fn, { tool: 'prop' });
        let out: unknown;
        let thrown: unknown;
        let threw = false;
        try {
          out = wrapped.apply(self, args);
          if (async) out = await out;
        } catch (e) {
          threw = true;
          thrown = e;
        }
        expect(seen?.self).toBe(self);
        expect(seen?.args).toEqual(args);
        expect(threw).toBe(fail);
        if (fail) expect(thrown).toBe(value);
        else expect(out).toBe(value);
      }),
      { numRuns: 200 },
    );
    expect(tracing.spans().length).toBe(200);
  });

  it('with tracing: false starts no span and adds no exemplar', async () => {
    tracing = installTestTracing();
    const obs = make({ tracing: false });
    await obs.agent('a').run(async () => 1);
    expect(tracing.spans()).toEqual([]);
    expect((await om(obs)).samples.filter((s) => s.exemplar !== undefined)).toEqual([]);
  });

  it('with spans: false takes the exemplar from the active span', async () => {
    tracing = installTestTracing();
    const obs = make({ tracing: { spans: false } });
    const outer = await trace.getTracer('app').startActiveSpan('request', async (s) => {
      await obs.agent('a').run(async () => 1);
      s.end();
      return s.spanContext().spanId;
    });
    expect(tracing.spans().map((s) => s.name)).toEqual(['request']);
    const ex = (await om(obs)).samples.filter((s) => s.exemplar !== undefined);
    expect(ex.map((s) => s.exemplar!.labels.span_id)).toEqual([outer]);
  });

  it('rejects bad tracing options with a ConfigError', () => {
    expect(() => make({ tracing: 'on' as never })).toThrow('tracing: expected an options object or false');
    expect(() => make({ tracing: { spans: 1 as never } })).toThrow('tracing.spans: expected a boolean');
    expect(() => make({ tracing: { correlationHeader: 'x bad' } })).toThrow('tracing.correlationHeader');
  });
});

describe('span text helpers', () => {
  it('cleanText cuts at a surrogate boundary and replaces control characters', () => {
    expect(cleanText('a\r\nb\u202ec', 100)).toBe('a  b c');
    const cut = cleanText(`${'x'.repeat(8)}😀😀`, 10);
    expect(cut).toBe(`${'x'.repeat(8)}…`);
  });

  it('exceptionType prefers the name, then the class, and survives hostile objects', () => {
    expect(exceptionType(new RangeError('x'))).toBe('RangeError');
    expect(exceptionType('text')).toBe('string');
    expect(exceptionType(null)).toBe('object');
    const hostile = new Proxy({}, { get: () => { throw new Error('no'); } });
    expect(exceptionType(hostile)).toBe('Error');
  });
});
