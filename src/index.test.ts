import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as aiSdk from './ai-sdk/index.js';
import * as tracingSdk from './tracing/sdk.js';
import * as generate from './generate/index.js';
import * as api from './index.js';

/** docs/api.md's `### \`name\` (kind)` headings of one entry point's section. */
function reported(specifier: string): Map<string, string> {
  const doc = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8');
  const section = doc.split(`\n## \`${specifier}\`\n`)[1]?.split('\n## ')[0];
  if (section === undefined) throw new Error(`docs/api.md has no section for ${specifier}`);
  return new Map([...section.matchAll(/^### `([^`]+)` \(([a-z]+)\)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The names a module exports at run time, namespace members as `ns.name`. */
function runtimeNames(module: object): string[] {
  return Object.entries(module).flatMap(([name, value]) =>
    // A namespace object (`export * as ns`) has a null prototype; its members are listed too.
    typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === null && Symbol.toStringTag in value
      ? [name, ...Object.keys(value).map((member) => `${name}.${member}`)]
      : [name],
  ).sort();
}

const VALUE_KINDS = new Set(['function', 'const', 'class', 'namespace', 'enum']);

describe('public surface', () => {
  // A change here is a change to the public API: run `npm run api:report` and note renames or removals in the CHANGELOG.
  it('exports exactly these run-time values', () => {
    expect(Object.keys(api).sort()).toEqual([
      'AgentObservabilityError',
      'BREAKER_STATES',
      'CONTENT_TYPES',
      'CircuitCapacityError',
      'CircuitOpenError',
      'ConfigError',
      'OPERATION_KINDS',
      'OTHER',
      'PoolRejectedError',
      'SLO_TARGET_KINDS',
      'SPAN_ATTRIBUTES',
      'TimeoutError',
      'TokenBudgetExceededError',
      'VERSION',
      'anthropicUsage',
      'catalog',
      'createObservability',
      'defaultErrorType',
      'defaultRetryable',
      'defineSlo',
      'isAgentObservabilityError',
      'isCircuitCapacityError',
      'isCircuitOpenError',
      'isConfigError',
      'isPoolRejectedError',
      'isTimeoutError',
      'isTokenBudgetExceededError',
      'isValidCorrelationId',
      'loadSlos',
      'openaiUsage',
      'retryAfterMs',
    ]);
  });

  it.each([
    ['agent-observability', api],
    ['agent-observability/generate', generate],
    ['agent-observability/tracing-sdk', tracingSdk],
    ['agent-observability/ai-sdk', aiSdk],
  ] as const)('docs/api.md lists exactly the run-time values of %s', (specifier, module) => {
    const doc = reported(specifier);
    const values = [...doc].filter(([, kind]) => VALUE_KINDS.has(kind)).map(([name]) => name).sort();
    expect(values, 'run `npm run api:report`').toEqual(runtimeNames(module));
  });

  it('docs/api.md lists the types of the root entry point that the examples and docs name', () => {
    const doc = reported('agent-observability');
    for (const name of ['Observability', 'ObservabilityOptions', 'OperationHandle', 'WorkflowHandle', 'SloSpec', 'MetricsHandler', 'HealthHandler']) {
      expect(['interface', 'type']).toContain(doc.get(name));
    }
  });

  it('exposes the catalog namespace with METRICS and the naming rules', () => {
    expect(Array.isArray(api.catalog.METRICS)).toBe(true);
    expect(typeof api.catalog.namingProblems).toBe('function');
    expect(generate.catalog.METRICS).toBe(api.catalog.METRICS);
    expect(api.OTHER).toBe('_OTHER');
    expect(api.OPERATION_KINDS).toEqual(['agent', 'workflow', 'step', 'tool', 'llm']);
    expect(Object.isFrozen(api.CONTENT_TYPES)).toBe(true);
  });

  it('keeps the PromQL builders under the promql namespace of ./generate', () => {
    expect(generate.promql.callRate(generate.catalog.toolDuration, '5m')).toContain('rate(gen_ai_execute_tool_duration_seconds_count');
    expect('eq' in generate).toBe(false);
  });

  it('creates a working handle from the package entry point', async () => {
    const obs = api.createObservability({ runtimeMetrics: false, logger: false });
    expect(obs.instrumentTool((x: number) => x + 1, { tool: 't' })(1)).toBe(2);
    expect((await obs.metrics()).body).toContain('gen_ai_execute_tool_duration_seconds_count{gen_ai_tool_name="t",gen_ai_agent_name="",error_type=""} 1\n');
    await obs.shutdown();
  });

  it('offers step() on workflow handles only (a type error elsewhere)', async () => {
    const obs = api.createObservability({ runtimeMetrics: false, logger: false });
    expectTypeOf(obs.workflow('w')).toHaveProperty('step');
    expectTypeOf(obs.tool('x')).not.toHaveProperty('step');
    expectTypeOf(obs.agent('a')).not.toHaveProperty('step');
    expectTypeOf(obs.step('s')).not.toHaveProperty('step');
    expectTypeOf(obs.llm({ model: 'm' })).not.toHaveProperty('step');
    // @ts-expect-error: a tool handle has no steps (checked by `npm run typecheck`)
    expect(() => obs.tool('x').step('s')).toThrow(api.ConfigError);
    await obs.shutdown();
  });
});
