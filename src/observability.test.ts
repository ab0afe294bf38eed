import { request } from 'node:http';
import { Counter, Registry, collectDefaultMetrics, type OpenMetricsContentType } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { findSamples, getValue, parseExposition, type ParsedExposition } from '../test/helpers/exposition.js';
import { isConfigError, type ConfigError } from './errors.js';
import { createObservability, type Observability, type ObservabilityOptions } from './observability.js';
import { VERSION } from './version.js';

const created: Observability[] = [];
function make(options: ObservabilityOptions = {}): Observability {
  const obs = createObservability({ runtimeMetrics: false, logger: false, ...options });
  created.push(obs);
  return obs;
}
afterEach(async () => {
  await Promise.all(created.splice(0).map((o) => o.shutdown()));
});

async function scrape(obs: Observability, format: 'prometheus' | 'openmetrics' = 'prometheus'): Promise<ParsedExposition> {
  const { body } = await obs.metrics(format === 'openmetrics' ? 'application/openmetrics-text' : undefined);
  return parseExposition(body, format);
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (isConfigError(e)) return e;
    throw new Error(`expected a ConfigError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

const TOOL_HIST = 'gen_ai_execute_tool_duration_seconds';

describe('createObservability option validation', () => {
  it.each<[string, unknown, string]>([
    ['an invalid label name in cardinality.labels', { cardinality: { labels: { 'bad-label': ['x'] } } }, 'cardinality.labels.bad-label'],
    ['a reserved label name in cardinality.labels', { cardinality: { labels: { __name__: ['x'] } } }, 'cardinality.labels.__name__'],
    ['a non-array allow-list', { cardinality: { tools: 'web_search' } }, 'cardinality.tools'],
    ['an empty string in an allow-list', { cardinality: { models: ['gpt-4o', ''] } }, 'cardinality.models[1]'],
    ['a non-string in an allow-list', { cardinality: { agents: [1] } }, 'cardinality.agents[0]'],
    ['maxValuesPerLabel 0', { cardinality: { maxValuesPerLabel: 0 } }, 'cardinality.maxValuesPerLabel'],
    ['maxValuesPerLabel 2.5', { cardinality: { maxValuesPerLabel: 2.5 } }, 'cardinality.maxValuesPerLabel'],
    ['maxValuesPerLabel as a string', { cardinality: { maxValuesPerLabel: '100' } }, 'cardinality.maxValuesPerLabel'],
    ['maxSeriesPerMetric -1', { cardinality: { maxSeriesPerMetric: -1 } }, 'cardinality.maxSeriesPerMetric'],
    ['maxValueLength NaN', { cardinality: { maxValueLength: NaN } }, 'cardinality.maxValueLength'],
    ['non-object cardinality', { cardinality: 5 }, 'cardinality'],
    ['a negative bucket', { buckets: { gen_ai_execute_tool_duration_seconds: [-1, 1] } }, 'buckets.gen_ai_execute_tool_duration_seconds[0]'],
    ['non-increasing buckets', { buckets: { gen_ai_execute_tool_duration_seconds: [0.1, 0.5, 0.5] } }, 'buckets.gen_ai_execute_tool_duration_seconds[2]'],
    ['decreasing buckets', { buckets: { gen_ai_invoke_agent_duration_seconds: [2, 1] } }, 'buckets.gen_ai_invoke_agent_duration_seconds[1]'],
    ['a NaN bucket', { buckets: { gen_ai_client_token_usage: [1, NaN] } }, 'buckets.gen_ai_client_token_usage[1]'],
    ['an explicit +Inf bucket', { buckets: { gen_ai_client_token_usage: [1, Infinity] } }, 'buckets.gen_ai_client_token_usage[1]'],
    ['empty buckets', { buckets: { gen_ai_client_token_usage: [] } }, 'buckets.gen_ai_client_token_usage'],
    ['an unknown histogram in buckets', { buckets: { gen_ai_nope_seconds: [1] } }, 'buckets.gen_ai_nope_seconds'],
    ['a counter in buckets', { buckets: { agentobs_internal_errors_total: [1] } }, 'buckets.agentobs_internal_errors_total'],
    ['non-object buckets', { buckets: [1, 2] }, 'buckets'],
    ['a non-function clock', { clock: 123 }, 'clock'],
    ['a non-function errorType', { errorType: 'TypeError' }, 'errorType'],
    ['a logger without warn()', { logger: { info: () => {} } }, 'logger'],
    ['logger: true', { logger: true }, 'logger'],
    ['a non-boolean runtimeMetrics', { runtimeMetrics: 'yes' }, 'runtimeMetrics'],
    ['a registry that is not a prom-client Registry', { registry: {} }, 'registry'],
    ['a registry that is a string', { registry: 'default' }, 'registry'],
  ])('rejects %s with a ConfigError', (_what, options, path) => {
    const e = configError(() => createObservability({ runtimeMetrics: false, logger: false, ...(options as object) } as ObservabilityOptions));
    expect(e.code).toBe('ERR_AGENTOBS_CONFIG');
    expect(e.path).toBe(path);
    expect(e.message).toContain('expected');
    expect(e.message).toContain('got');
    expect(e.message.startsWith(`${path}: `)).toBe(true);
  });

  it('rejects non-object options at the top level', () => {
    expect(configError(() => createObservability('nope' as never)).path).toBe('options');
  });

  it('names the catalog histograms when a bucket override targets an unknown one', () => {
    const e = configError(() => make({ buckets: { nope: [1] } as never }));
    expect(e.message).toContain('gen_ai_execute_tool_duration_seconds');
  });

  it('refuses a registry that already holds one of our metrics (e.g. a second handle on it)', () => {
    const registry = new Registry();
    make({ registry });
    const e = configError(() => createObservability({ registry, runtimeMetrics: false, logger: false }));
    expect(e.path).toMatch(/^registry\./);
  });

  it('rejects a bad listen port, host or path', async () => {
    const obs = make();
    for (const [options, path] of [
      [{ port: -1 }, 'listen.port'],
      [{ port: 65536 }, 'listen.port'],
      [{ port: 1.5 }, 'listen.port'],
      [{ port: '9464' }, 'listen.port'],
      [{ port: 0, host: '' }, 'listen.host'],
      [{ port: 0, path: 'metrics' }, 'listen.path'],
    ] as const) {
      const err = await obs.listen(options as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isConfigError(err), JSON.stringify(options)).toBe(true);
      expect((err as ConfigError).path).toBe(path);
    }
  });

  it('applies valid bucket overrides', async () => {
    const obs = make({ buckets: { gen_ai_execute_tool_duration_seconds: [0.5, 5] } });
    obs.tool('t').record(1);
    const exp = await scrape(obs);
    expect(findSamples(exp, `${TOOL_HIST}_bucket`).map((s) => [s.labels.le, s.value])).toEqual([['0.5', 0], ['5', 1], ['+Inf', 1]]);
  });
});

describe('self-metrics', () => {
  it('exports agentobs_build_info{version} = 1', async () => {
    for (const format of ['prometheus', 'openmetrics'] as const) {
      expect(getValue(await scrape(make(), format), 'agentobs_build_info', { version: VERSION })).toBe(1);
    }
  });
});

describe('user registry', () => {
  it('shares a user registry: user metrics and ours come out of one scrape', async () => {
    const registry = new Registry();
    const mine = new Counter({ name: 'app_jobs_total', help: 'Jobs.', registers: [registry] });
    mine.inc(3);
    const obs = make({ registry });
    expect(obs.registry).toBe(registry);
    const exp = await scrape(obs);
    expect(getValue(exp, 'app_jobs_total')).toBe(3);
    expect(getValue(exp, 'agentobs_build_info', { version: VERSION })).toBe(1);
  });

  it('works with prom-client\'s own serializer, in an OpenMetrics registry too (counter families without _total)', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    // The option is typed as a text-format Registry, so an OpenMetrics one needs a cast (reported).
    const obs = make({ registry: registry as unknown as Registry, cardinality: { tools: ['a'] } });
    obs.tool('other').run(() => 1);
    const exp = parseExposition(await registry.metrics(), 'openmetrics');
    expect(exp.families.get('agentobs_label_overflow')?.type).toBe('counter');
    expect(getValue(exp, 'agentobs_label_overflow_total', { metric: TOOL_HIST, label: 'gen_ai_tool_name' })).toBe(1);
    // And our own serializer is unaffected by prom-client renaming the family object.
    const again = await scrape(obs, 'openmetrics');
    expect(getValue(again, 'agentobs_label_overflow_total', { metric: TOOL_HIST, label: 'gen_ai_tool_name' })).toBe(1);
    const text = await scrape(obs, 'prometheus');
    expect(getValue(text, 'agentobs_label_overflow_total', { metric: TOOL_HIST, label: 'gen_ai_tool_name' })).toBe(1);
  });
});

describe('shutdown()', () => {
  it('removes our metrics from a user registry and leaves the user\'s own', async () => {
    const registry = new Registry();
    const mine = new Counter({ name: 'app_jobs_total', help: 'Jobs.', registers: [registry] });
    mine.inc();
    const obs = createObservability({ registry, logger: false });
    obs.tool('t').run(() => 1);
    expect(registry.getSingleMetric(TOOL_HIST)).toBeDefined();
    expect(registry.getSingleMetric('process_cpu_user_seconds_total')).toBeDefined();
    await obs.shutdown();
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['app_jobs_total']);
    expect(registry.getSingleMetric('app_jobs_total')).toBe(mine);
    const exp = parseExposition(await registry.metrics(), 'prometheus');
    expect([...exp.families.keys()]).toEqual(['app_jobs_total']);
  });

  it('leaves a user registry\'s own default metrics in place', async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const before = registry.getMetricsAsArray().map((m) => m.name).sort();
    const obs = createObservability({ registry, logger: false });
    await obs.shutdown();
    expect(registry.getMetricsAsArray().map((m) => m.name).sort()).toEqual(before);
  });

  it('is idempotent and lets a new handle bind the same registry afterwards', async () => {
    const registry = new Registry();
    const obs = createObservability({ registry, runtimeMetrics: false, logger: false });
    const first = obs.shutdown();
    expect(obs.shutdown()).toBe(first);
    await first;
    await obs.shutdown();
    const again = make({ registry });
    again.tool('t').run(() => 1);
    expect(getValue(await scrape(again), `${TOOL_HIST}_count`, { gen_ai_tool_name: 't', gen_ai_agent_name: '', error_type: '' })).toBe(1);
  });

  it('leaves wrapped functions working (unrecorded) after shutdown', async () => {
    const obs = createObservability({ runtimeMetrics: false, logger: false });
    const sync = obs.instrumentTool((x: number) => x * 2, { tool: 't' });
    const failing = obs.instrumentTool(() => {
      throw new TypeError('still thrown');
    }, { tool: 't' });
    const asyncFn = obs.instrumentLlmCall(async () => 'r', { model: 'm', usage: () => ({ input: 1 }) });
    await obs.shutdown();
    expect(sync(21)).toBe(42);
    expect(() => failing()).toThrow(TypeError);
    expect(await asyncFn()).toBe('r');
    expect(obs.tool('new-after-shutdown').run(() => 'ok')).toBe('ok');
    expect(obs.registry.getMetricsAsArray()).toEqual([]);
  });

  it('closes the servers it started', async () => {
    const obs = createObservability({ runtimeMetrics: false, logger: false });
    const server = await obs.listen({ port: 0 });
    await obs.shutdown();
    const err = await new Promise<unknown>((resolve) => {
      const req = request(server.url, { agent: false }, (res) => {
        res.resume();
        resolve(undefined);
      });
      req.on('error', resolve);
      req.end();
    });
    expect((err as NodeJS.ErrnoException | undefined)?.code).toBe('ECONNREFUSED');
  });

  it('leaves no handles behind after create + listen + scrape + shutdown', async () => {
    const count = (): Map<string, number> => {
      const m = new Map<string, number>();
      for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
      return m;
    };
    const leaked = (before: Map<string, number>): string[] =>
      [...count()].filter(([type, n]) => n > (before.get(type) ?? 0)).map(([type, n]) => `${type}: ${before.get(type) ?? 0} -> ${n}`);
    const before = count();
    const obs = createObservability({ logger: false });
    const server = await obs.listen({ port: 0 });
    await new Promise<void>((resolve, reject) => {
      request(server.url, { agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    await obs.shutdown();
    // Closed handles leave the list when libuv runs their close callbacks, a few turns later.
    for (let i = 0; i < 50 && leaked(before).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(leaked(before)).toEqual([]);
  });
});

describe('runtime metrics', () => {
  it('are on by default: CPU, heap and event-loop utilization within [0, 1]', async () => {
    const obs = createObservability({ logger: false });
    created.push(obs);
    // Keep the loop a little busy so utilization has something to measure.
    await new Promise((r) => setTimeout(r, 5));
    for (const format of ['prometheus', 'openmetrics'] as const) {
      const exp = await scrape(obs, format);
      expect(getValue(exp, 'process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
      expect(getValue(exp, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
      const elu = getValue(exp, 'nodejs_eventloop_utilization_ratio');
      expect(elu).toBeGreaterThanOrEqual(0);
      expect(elu).toBeLessThanOrEqual(1);
    }
    expect((await scrape(obs, 'openmetrics')).families.get('nodejs_eventloop_utilization_ratio')?.unit).toBe('ratio');
  });

  it('are omitted with runtimeMetrics: false', async () => {
    const exp = await scrape(make());
    for (const name of ['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_utilization_ratio']) {
      expect(exp.families.has(name), name).toBe(false);
    }
  });

  it('do not clash with prom-client defaults already in a user registry', async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const obs = createObservability({ registry, logger: false });
    created.push(obs);
    const exp = await scrape(obs);
    expect(findSamples(exp, 'process_cpu_user_seconds_total')).toHaveLength(1);
    expect(exp.families.has('nodejs_eventloop_utilization_ratio')).toBe(true);
  });

  it('count a failed install as an internal error instead of throwing', async () => {
    const registry = new Registry();
    // Squat on our ELU gauge's name so the runtime install fails.
    new Counter({ name: 'nodejs_eventloop_utilization_ratio', help: 'squatter', registers: [registry] });
    const obs = createObservability({ registry, logger: false });
    created.push(obs);
    const exp = await scrape(obs);
    expect(getValue(exp, 'agentobs_internal_errors_total', { component: 'runtime' })).toBe(1);
  });
});
