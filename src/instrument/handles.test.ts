import { afterEach, describe, expect, it } from 'vitest';
import { getHistogram, getValue, parseExposition, sumValues } from '../../test/helpers/exposition.js';
import { isConfigError, type ConfigError } from '../errors.js';
import { createObservability, type Observability } from '../observability.js';
import { OPERATION_KINDS } from './handles.js';

const created: Observability[] = [];
function make(): Observability {
  const obs = createObservability({ runtimeMetrics: false, logger: false });
  created.push(obs);
  return obs;
}
afterEach(async () => {
  await Promise.all(created.splice(0).map((o) => o.shutdown()));
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (isConfigError(e)) return e;
    throw new Error(`expected a ConfigError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

async function scrape(obs: Observability) {
  return parseExposition((await obs.metrics()).body, 'prometheus');
}

const noop = (): number => 1;

describe('handle configuration errors', () => {
  it.each<[string, (o: Observability) => unknown, string]>([
    ['an empty tool name', (o) => o.tool(''), 'tool'],
    ['a blank tool name', (o) => o.tool(' \n\t'), 'tool'],
    ['a non-string tool name', (o) => o.tool(42 as unknown as string), 'tool'],
    ['a missing tool in instrumentTool', (o) => o.instrumentTool(noop, {} as { tool: string }), 'tool'],
    ['an empty agent name', (o) => o.agent(''), 'agent'],
    ['an empty workflow name', (o) => o.workflow(''), 'workflow'],
    ['an empty step name', (o) => o.step(''), 'step'],
    ['a non-string step workflow', (o) => o.step('s', { workflow: 1 as unknown as string }), 'step options.workflow'],
    ['non-object step options', (o) => o.step('s', 'w' as never), 'step options'],
    ['a non-string tool agent', (o) => o.tool('t', { agent: null as unknown as string }), 'tool options.agent'],
    ['a missing llm model', (o) => o.llm({} as { model: string }), 'llm options.model'],
    ['an empty llm model', (o) => o.instrumentLlmCall(noop, { model: '' }), 'llm options.model'],
    ['missing llm options', (o) => o.llm(undefined as never), 'llm options.model'],
    ['a non-string provider', (o) => o.llm({ model: 'm', provider: 5 as unknown as string }), 'llm options.provider'],
    ['a non-function usage mapper', (o) => o.llm({ model: 'm', usage: 'x' as never }), 'llm options.usage'],
    ['wrapping a non-function', (o) => o.tool('t').wrap('nope' as never), 'tool(t).wrap'],
    ['an unknown kind', (o) => o.instrument('nope' as never, noop, {}), 'kind'],
    ['instrument without options', (o) => o.instrument('tool', noop, null as never), 'instrument options'],
    ['instrument(agent) without an agent name', (o) => o.instrument('agent', noop, {}), 'agent'],
    ['instrument(llm) without a model', (o) => o.instrument('llm', noop, { provider: 'openai' }), 'llm options.model'],
  ])('%s throws a ConfigError at the offending path', (_what, call, path) => {
    const e = configError(() => call(make()));
    expect(e.code).toBe('ERR_AGENTOBS_CONFIG');
    expect(e.path).toBe(path);
    expect(e.message).toMatch(/expected .+, got /);
  });

  it('names the valid kinds in the unknown-kind message', () => {
    const e = configError(() => make().instrument('nope' as never, noop, {}));
    for (const k of OPERATION_KINDS) expect(e.message).toContain(k);
    expect(e.message).toContain('"nope"');
  });
});

describe('handles', () => {
  it('are cached per name tuple', () => {
    const obs = make();
    expect(obs.tool('t')).toBe(obs.tool('t'));
    expect(obs.tool('t', { agent: 'a' })).not.toBe(obs.tool('t'));
    expect(obs.step('s', { workflow: 'w' })).toBe(obs.workflow('w').step('s'));
    expect(obs.llm({ model: 'm' })).toBe(obs.llm({ model: 'm', operation: 'chat', provider: '' }));
    // Handles with a usage mapper are cached per mapper identity.
    const usage = () => ({ input: 1 });
    expect(obs.llm({ model: 'm', usage })).toBe(obs.llm({ model: 'm', usage }));
    expect(obs.llm({ model: 'm', usage })).not.toBe(obs.llm({ model: 'm', usage: () => ({ input: 1 }) }));
    expect(obs.llm({ model: 'm', usage })).not.toBe(obs.llm({ model: 'm' }));
  });

  it('never hands out the handle of a different name tuple (cache keys are injective)', async () => {
    const obs = make();
    // With separator-joined keys these pairs collide: t\0a\0b\0x both times.
    obs.tool('x', { agent: 'a\u0000b' }).run(noop);
    obs.tool('b\u0000x', { agent: 'a' }).run(noop);
    obs.step('s', { workflow: 'w\u0000v' }).run(noop);
    obs.step('v\u0000s', { workflow: 'w' }).run(noop);
    obs.llm({ model: 'm', provider: 'p\u0000q' }).run(noop);
    obs.llm({ model: 'q\u0000m', provider: 'p' }).run(noop);
    const exp = await scrape(obs);
    expect(getValue(exp, 'gen_ai_execute_tool_duration_seconds_count', { gen_ai_tool_name: 'x', gen_ai_agent_name: 'a_b', error_type: '' })).toBe(1);
    expect(getValue(exp, 'gen_ai_execute_tool_duration_seconds_count', { gen_ai_tool_name: 'b_x', gen_ai_agent_name: 'a', error_type: '' })).toBe(1);
    expect(getValue(exp, 'agentobs_workflow_step_duration_seconds_count', { gen_ai_workflow_name: 'w_v', step: 's', error_type: '' })).toBe(1);
    expect(getValue(exp, 'agentobs_workflow_step_duration_seconds_count', { gen_ai_workflow_name: 'w', step: 'v_s', error_type: '' })).toBe(1);
    const llm = (provider: string, model: string) => ({
      gen_ai_operation_name: 'chat', gen_ai_provider_name: provider, gen_ai_request_model: model, gen_ai_agent_name: '', error_type: '',
    });
    expect(getValue(exp, 'gen_ai_client_operation_duration_seconds_count', llm('p_q', 'm'))).toBe(1);
    expect(getValue(exp, 'gen_ai_client_operation_duration_seconds_count', llm('p', 'q_m'))).toBe(1);
  });

  it('expose their kind and primary name', () => {
    const obs = make();
    expect([obs.agent('a'), obs.workflow('w'), obs.step('s'), obs.tool('t'), obs.llm({ model: 'm' })].map((h) => [h.kind, h.name])).toEqual([
      ['agent', 'a'], ['workflow', 'w'], ['step', 's'], ['tool', 't'], ['llm', 'm'],
    ]);
  });

  it('record to the catalog metric of their kind, with their labels', async () => {
    const obs = make();
    obs.instrument('agent', noop, { agent: 'A' })();
    obs.instrument('workflow', noop, { workflow: 'W' })();
    obs.instrument('step', noop, { step: 'S', workflow: 'W' })();
    obs.instrument('tool', noop, { tool: 'T', agent: 'A' })();
    obs.instrument('llm', noop, { model: 'M', provider: 'anthropic', operation: 'embeddings', agent: 'A' })();
    obs.workflow('W').step('S2').run(noop);
    const exp = await scrape(obs);
    expect(getValue(exp, 'gen_ai_invoke_agent_duration_seconds_count', { gen_ai_agent_name: 'A', error_type: '' })).toBe(1);
    expect(getValue(exp, 'gen_ai_invoke_workflow_duration_seconds_count', { gen_ai_workflow_name: 'W', error_type: '' })).toBe(1);
    expect(getValue(exp, 'agentobs_workflow_step_duration_seconds_count', { gen_ai_workflow_name: 'W', step: 'S', error_type: '' })).toBe(1);
    expect(getValue(exp, 'agentobs_workflow_step_duration_seconds_count', { gen_ai_workflow_name: 'W', step: 'S2', error_type: '' })).toBe(1);
    expect(getValue(exp, 'gen_ai_execute_tool_duration_seconds_count', { gen_ai_tool_name: 'T', gen_ai_agent_name: 'A', error_type: '' })).toBe(1);
    expect(getValue(exp, 'gen_ai_client_operation_duration_seconds_count', {
      gen_ai_operation_name: 'embeddings', gen_ai_provider_name: 'anthropic', gen_ai_request_model: 'M', gen_ai_agent_name: 'A', error_type: '',
    })).toBe(1);
    for (const [kind, name] of [['agent', 'A'], ['workflow', 'W'], ['step', 'S'], ['tool', 'T'], ['llm', 'M']]) {
      expect(getValue(exp, 'agentobs_operation_active', { kind: kind as string, name: name as string })).toBe(0);
    }
  });

  it('defaults: llm operation "chat", empty provider/agent/workflow', async () => {
    const obs = make();
    obs.llm({ model: 'M' }).run(noop);
    obs.step('S').run(noop);
    obs.tool('T').run(noop);
    const exp = await scrape(obs);
    expect(getValue(exp, 'gen_ai_client_operation_duration_seconds_count', {
      gen_ai_operation_name: 'chat', gen_ai_provider_name: '', gen_ai_request_model: 'M', gen_ai_agent_name: '', error_type: '',
    })).toBe(1);
    expect(getValue(exp, 'agentobs_workflow_step_duration_seconds_count', { gen_ai_workflow_name: '', step: 'S', error_type: '' })).toBe(1);
    expect(getValue(exp, 'gen_ai_execute_tool_duration_seconds_count', { gen_ai_tool_name: 'T', gen_ai_agent_name: '', error_type: '' })).toBe(1);
  });

  it('record() adds a call measured elsewhere, success or error', async () => {
    const obs = make();
    const h = obs.tool('T');
    h.record(0.03);
    h.record(2, { code: 'ETIMEDOUT' });
    const exp = await scrape(obs);
    expect(getHistogram(exp, 'gen_ai_execute_tool_duration_seconds', { gen_ai_tool_name: 'T', gen_ai_agent_name: '', error_type: '' })).toMatchObject({ sum: 0.03, count: 1 });
    expect(getValue(exp, 'gen_ai_execute_tool_duration_seconds_count', { gen_ai_tool_name: 'T', gen_ai_agent_name: '', error_type: 'ETIMEDOUT' })).toBe(1);
    expect(sumValues(exp, 'gen_ai_execute_tool_duration_seconds_count')).toBe(2);
  });
});
