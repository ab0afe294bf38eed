import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  findSamples, getHistogram, getValue, labelSetKey, parseExposition, type ParsedExposition,
} from '../../test/helpers/exposition.js';
import { createObservability, type Observability, type ObservabilityOptions } from '../observability.js';
import type { HistogramFamily } from '../metrics/store.js';
import { CONTENT_TYPES, serializeRegistry } from './format.js';

const created: Observability[] = [];
function make(options: ObservabilityOptions = {}): Observability {
  const obs = createObservability({ runtimeMetrics: false, logger: false, ...options });
  created.push(obs);
  return obs;
}
afterEach(async () => {
  await Promise.all(created.splice(0).map((o) => o.shutdown()));
});

const OM_ACCEPT = 'application/openmetrics-text;version=1.0.0';
async function bodies(obs: Observability): Promise<{ text: string; om: string }> {
  const text = await obs.metrics('text/plain');
  const om = await obs.metrics(OM_ACCEPT);
  expect(text.contentType).toBe(CONTENT_TYPES.prometheus);
  expect(om.contentType).toBe(CONTENT_TYPES.openmetrics);
  return { text: text.body, om: om.body };
}
async function both(obs: Observability): Promise<{ text: ParsedExposition; om: ParsedExposition }> {
  const b = await bodies(obs);
  return { text: parseExposition(b.text, 'prometheus'), om: parseExposition(b.om, 'openmetrics') };
}

const TOOL = 'gen_ai_execute_tool_duration_seconds';
const toolLabels = (tool: string, error_type = '') => ({ gen_ai_tool_name: tool, gen_ai_agent_name: '', error_type });

describe('exact values', () => {
  it('3 successful and 2 failing tool calls of 0.05 s each land in the right buckets with exact _sum and _count', async () => {
    let now = 0;
    const obs = make({ clock: () => now });
    const search = obs.instrumentTool((fail: boolean) => {
      now += 50; // ms
      if (fail) throw new TypeError('upstream');
      return 'ok';
    }, { tool: 'web_search' });
    for (const fail of [false, true, false, true, false]) {
      try {
        search(fail);
      } catch {
        // counted
      }
    }
    const { text, om } = await both(obs);
    for (const exp of [text, om]) {
      const ok = getHistogram(exp, TOOL, toolLabels('web_search'));
      const ko = getHistogram(exp, TOOL, toolLabels('web_search', 'TypeError'));
      // Buckets 0.01, 0.02, 0.04 | 0.08 … : 0.05 s is in le="0.08" and every bucket above it.
      expect(ok.buckets.map((b) => b.count)).toEqual([0, 0, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
      expect(ko.buckets.map((b) => b.count)).toEqual([0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
      expect(ok.buckets.map((b) => b.le)).toEqual([0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, Infinity]);
      expect(ok.count).toBe(3);
      expect(ko.count).toBe(2);
      expect(ok.sum).toBeCloseTo(0.15, 12);
      expect(ko.sum).toBeCloseTo(0.1, 12);
    }
  });

  it('puts a value equal to a bound into that bucket (le is inclusive)', async () => {
    let now = 0;
    const obs = make({ clock: () => now });
    obs.tool('t').run(() => {
      now += 80;
    });
    const h = getHistogram((await both(obs)).text, TOOL, toolLabels('t'));
    expect(h.buckets.find((b) => b.le === 0.08)?.count).toBe(1);
    expect(h.buckets.find((b) => b.le === 0.04)?.count).toBe(0);
  });
});

describe('OpenMetrics vs text', () => {
  it('names counter families without _total in OpenMetrics and samples them with it in both', async () => {
    const obs = make({ cardinality: { tools: ['a'] } });
    obs.tool('b').run(() => 1);
    const { text, om } = await bodies(obs);
    expect(om).toContain('# TYPE agentobs_label_overflow counter\n');
    expect(om).toContain('# HELP agentobs_label_overflow ');
    expect(om).toMatch(/^agentobs_label_overflow_total\{metric="gen_ai_execute_tool_duration_seconds",label="gen_ai_tool_name"\} 1$/m);
    expect(text).toContain('# TYPE agentobs_label_overflow_total counter\n');
    expect(text).toMatch(/^agentobs_label_overflow_total\{metric="gen_ai_execute_tool_duration_seconds",label="gen_ai_tool_name"\} 1$/m);
  });

  it('writes # UNIT for families with a unit, in OpenMetrics only, and # EOF last', async () => {
    const obs = make();
    obs.tool('t').run(() => 1);
    const { text, om } = await bodies(obs);
    expect(om).toContain(`# UNIT ${TOOL} seconds\n`);
    expect(om).not.toContain('# UNIT agentobs_operation_active');
    expect(om.endsWith('\n# EOF\n')).toBe(true);
    expect(om.match(/# EOF/g)).toHaveLength(1);
    expect(text).not.toContain('# UNIT');
    expect(text).not.toContain('# EOF');
    const parsed = parseExposition(om, 'openmetrics');
    expect(parsed.families.get(TOOL)?.unit).toBe('seconds');
  });

  it('writes nothing for families that have no series yet', async () => {
    const { text, om } = await both(make());
    // Build info and the scrape counter (bound up front so rate() sees it from the first scrape) only.
    expect([...text.families.keys()]).toEqual(['agentobs_build_info', 'agentobs_scrapes_total']);
    expect([...om.families.keys()]).toEqual(['agentobs_build_info', 'agentobs_scrapes']);
  });

  it('writes exemplars on histogram buckets in OpenMetrics only', async () => {
    const obs = make();
    obs.tool('t').run(() => 1);
    const family = obs.registry.getSingleMetric(TOOL) as unknown as HistogramFamily;
    family.child(['t', '', '']).observeWithExemplar(0.05, { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' }, 1700000000.123);
    const { text, om } = await bodies(obs);
    expect(text).not.toContain(' # {');
    const exp = parseExposition(om, 'openmetrics');
    const bucket = getHistogram(exp, TOOL, toolLabels('t')).buckets.find((b) => b.le === 0.08);
    expect(bucket?.exemplar).toEqual({
      labels: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' },
      value: 0.05,
      timestamp: 1700000000.123,
    });
    expect(findSamples(exp, `${TOOL}_bucket`).filter((s) => s.exemplar !== undefined)).toHaveLength(1);
    expect(parseExposition(text, 'prometheus').samples.every((s) => s.exemplar === undefined)).toBe(true);
  });

  it('escapes label values so they parse back to the original in both formats', async () => {
    const obs = make();
    const nasty = 'a"b\\c,d=e}f{g #h 😀';
    obs.tool(nasty).run(() => 1);
    const { text, om } = await both(obs);
    for (const exp of [text, om]) expect(getValue(exp, `${TOOL}_count`, toolLabels(nasty))).toBe(1);
  });

  it('writes the same samples in both formats, whatever was recorded', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ tool: fc.string({ minLength: 1, maxLength: 8 }), ms: fc.nat({ max: 100_000 }), fail: fc.boolean() }), { maxLength: 20 }),
        async (calls) => {
          let now = 0;
          const obs = createObservability({ runtimeMetrics: false, logger: false, clock: () => now, cardinality: { maxValuesPerLabel: 5 } });
          for (const c of calls) {
            if (c.tool.trim() === '') continue;
            try {
              obs.tool(c.tool).run(() => {
                now += c.ms;
                if (c.fail) throw new RangeError('x');
              });
            } catch {
              // counted
            }
          }
          const { text, om } = await both(obs);
          const key = (e: ParsedExposition) => e.samples.map((s) => `${s.name}${labelSetKey(s.labels)} ${s.value}`).sort();
          expect(key(om)).toEqual(key(text));
          await obs.shutdown();
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('user metrics in a user-supplied registry', () => {
  function userRegistry() {
    const registry = new Registry();
    const requests = new Counter({ name: 'app_requests_total', help: 'Requests.', labelNames: ['route', 'code'], registers: [registry] });
    const legacy = new Counter({ name: 'app_legacy_events', help: 'A counter named without _total.', registers: [registry] });
    const queue = new Gauge({ name: 'app_queue_depth', help: 'Queue depth with a "quote", a \\ and a\nnewline.', registers: [registry] });
    const latency = new Histogram({ name: 'app_latency_seconds', help: 'Latency.', labelNames: ['route'], buckets: [0.1, 1], registers: [registry] });
    const size = new Summary({ name: 'app_payload_bytes', help: 'Payload size.', percentiles: [0.5, 0.9], registers: [registry] });
    requests.inc({ route: '/a"b\\c\nd', code: '200' }, 3);
    requests.inc({ route: '/x', code: '500' });
    legacy.inc(2);
    queue.set(-4.5);
    latency.observe({ route: '/x' }, 0.05);
    latency.observe({ route: '/x' }, 0.5);
    latency.observe({ route: '/x' }, 5);
    for (const v of [10, 20, 30, 40]) size.observe(v);
    return registry;
  }

  it('come out correctly in both formats next to ours', async () => {
    const obs = make({ registry: userRegistry() });
    obs.tool('t').run(() => 1);
    const { text, om } = await both(obs);
    for (const exp of [text, om]) {
      expect(getValue(exp, 'app_requests_total', { route: '/a"b\\c\nd', code: '200' })).toBe(3);
      expect(getValue(exp, 'app_requests_total', { route: '/x', code: '500' })).toBe(1);
      expect(getValue(exp, 'app_queue_depth')).toBe(-4.5);
      expect(getHistogram(exp, 'app_latency_seconds', { route: '/x' })).toEqual({
        buckets: [{ le: 0.1, count: 1 }, { le: 1, count: 2 }, { le: Infinity, count: 3 }],
        sum: 5.55,
        count: 3,
      });
      expect(getValue(exp, 'app_payload_bytes', { quantile: '0.5' })).toBe(25);
      expect(getValue(exp, 'app_payload_bytes_count')).toBe(4);
      expect(getValue(exp, 'app_payload_bytes_sum')).toBe(100);
      expect(getValue(exp, `${TOOL}_count`, toolLabels('t'))).toBe(1);
    }
    expect(text.families.get('app_queue_depth')?.help).toBe('Queue depth with a "quote", a \\ and a\nnewline.');
    expect(om.families.get('app_queue_depth')?.help).toBe('Queue depth with a "quote", a \\ and a\nnewline.');
    expect(text.families.get('app_requests_total')?.type).toBe('counter');
    expect(om.families.get('app_requests')?.type).toBe('counter');
    expect(om.families.get('app_payload_bytes')?.type).toBe('summary');
    // A counter named without _total keeps its name in text and gains the suffix in OpenMetrics.
    expect(getValue(text, 'app_legacy_events')).toBe(2);
    expect(getValue(om, 'app_legacy_events_total')).toBe(2);
    expect(om.families.get('app_legacy_events')?.type).toBe('counter');
  });

  it('appear in prom-client\'s own serializer together with our series', async () => {
    const obs = make({ registry: userRegistry() });
    obs.tool('t').run(() => 1);
    const exp = parseExposition(await obs.registry.metrics(), 'prometheus');
    expect(getValue(exp, `${TOOL}_count`, toolLabels('t'))).toBe(1);
    expect(getValue(exp, 'app_requests_total', { route: '/x', code: '500' })).toBe(1);
    expect(getValue(exp, 'agentobs_operation_active', { kind: 'tool', name: 't' })).toBe(0);
    const json = await obs.registry.getMetricsAsJSON();
    expect(json.find((m) => m.name === TOOL)?.values.length).toBeGreaterThan(0);
  });

  it('prom-client\'s own serializer, reading our get(), sees every sample our stream writes (both formats, escaped labels, exemplars)', async () => {
    const obs = make({ cardinality: { maxValueLength: 1000 } });
    obs.tool('we"b\\search', { agent: 'a\nb' }).record(0.3, new TypeError('x'));
    obs.tool('plain').record(2);
    obs.llm({ model: 'gpt', provider: 'openai' }).recordUsage({ input: 10, output: 3 });
    const family = obs.registry.getSingleMetric(TOOL) as unknown as HistogramFamily;
    family.child(['plain', '', '']).observeWithExemplar(0.05, { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' }, 1700000000.5);
    const ours = (exp: ParsedExposition) =>
      exp.samples
        .filter((x) => x.name.startsWith('gen_ai_') || x.name.startsWith('agentobs_'))
        .map((x) => ({ name: x.name, labels: labelSetKey(x.labels), value: x.value, exemplar: x.exemplar }))
        .sort((a, b) => (a.name + a.labels < b.name + b.labels ? -1 : 1));
    const { text, om } = await both(obs);
    expect(ours(parseExposition(await obs.registry.metrics(), 'prometheus'))).toEqual(ours(text));
    obs.registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    const promOm = ours(parseExposition(await obs.registry.metrics(), 'openmetrics'));
    expect(promOm).toEqual(ours(om));
    expect(promOm.filter((x) => x.exemplar !== undefined)).toHaveLength(1);
  });

  it('a broken foreign metric is skipped and counted; the rest of the scrape survives', async () => {
    const registry = new Registry();
    registry.registerMetric({
      name: 'broken_metric',
      get: () => {
        throw new Error('collector bug');
      },
    } as never);
    new Gauge({ name: 'after_broken', help: 'Still here.', registers: [registry] }).set(1);
    const obs = make({ registry });
    const { text, om } = await both(obs);
    for (const exp of [text, om]) {
      expect(getValue(exp, 'after_broken')).toBe(1);
      expect(exp.families.has('broken_metric')).toBe(false);
    }
    expect(getValue(parseExposition((await obs.metrics()).body, 'prometheus'), 'agentobs_internal_errors_total', { component: 'exposition' })).toBe(3);
  });

  it('writes a foreign metric of an unknown type as untyped (text) / unknown (OpenMetrics)', async () => {
    const registry = new Registry();
    registry.registerMetric({ name: 'odd', get: () => ({ name: 'odd', help: 'Odd.', type: 'weird', values: [{ value: 1, labels: {} }], aggregator: 'sum' }) } as never);
    const text = await serializeRegistry(registry, 'prometheus', () => {});
    const om = await serializeRegistry(registry, 'openmetrics', () => {});
    expect(parseExposition(text, 'prometheus').families.get('odd')?.type).toBe('untyped');
    expect(parseExposition(om, 'openmetrics').families.get('odd')?.type).toBe('unknown');
  });
});

describe('slices', () => {
  /** Turns of the event loop (setImmediate ticks) while `work` runs. */
  async function turnsDuring<T>(work: () => Promise<T>, onTurn: () => void = () => {}): Promise<{ result: T; turns: number }> {
    let turns = 0;
    let on = true;
    const tick = (): void => {
      turns++;
      onTurn();
      if (on) setImmediate(tick);
    };
    setImmediate(tick);
    const result = await work();
    on = false;
    return { result, turns };
  }

  it('a family big enough to be sliced comes out exactly as in one go, and the event loop runs between its slices', async () => {
    const obs = make({ cardinality: { maxSeriesPerMetric: 5_000, maxValuesPerLabel: 5_000 } });
    for (let i = 0; i < 2_000; i++) obs.tool(`tool_${i}`, { agent: 'a' }).record((i % 50) / 10, i % 5 === 0 ? new TypeError('x') : undefined);
    const family = obs.registry.getSingleMetric(TOOL) as unknown as HistogramFamily;
    expect(family.size).toBe(2_400);
    family.child(['tool_7', 'a', '']).observeWithExemplar(0.05, { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' }, 1700000000.5);
    for (const format of ['prometheus', 'openmetrics'] as const) {
      const whole = await serializeRegistry(obs.registry, format, () => {}, Infinity);
      // A zero budget yields at every check (every 64 series): the histogram family alone is cut into ~37 slices.
      const { result: sliced, turns } = await turnsDuring(() => serializeRegistry(obs.registry, format, () => {}, 0));
      expect(sliced).toBe(whole);
      expect(turns).toBeGreaterThanOrEqual(30);
      expect(getValue(parseExposition(sliced, format), `${TOOL}_count`, { gen_ai_tool_name: 'tool_0', gen_ai_agent_name: 'a', error_type: 'TypeError' })).toBe(1);
    }
  });

  it('calls recorded and series bound while a scrape is between slices leave every series whole and parseable', async () => {
    const obs = make({ cardinality: { maxSeriesPerMetric: 5_000, maxValuesPerLabel: 5_000 } });
    const handles = Array.from({ length: 1_000 }, (_, i) => obs.tool(`tool_${i}`));
    for (const h of handles) h.record(0.05);
    let extra = 0;
    const { result: body, turns } = await turnsDuring(
      () => serializeRegistry(obs.registry, 'prometheus', () => {}, 0),
      () => {
        for (const h of handles) h.record(0.3);
        obs.tool(`late_${extra++}`).record(1);
      },
    );
    expect(turns).toBeGreaterThan(10);
    const exp = parseExposition(body, 'prometheus');
    for (const i of [0, 499, 999]) {
      const h = getHistogram(exp, TOOL, toolLabels(`tool_${i}`));
      // Each series is written in one go: its +Inf bucket is its count, whatever was recorded between slices.
      expect(h.buckets.at(-1)?.count).toBe(h.count);
      expect(h.count).toBeGreaterThanOrEqual(1);
    }
    // Series bound during the scrape are written whole or not at all (a Map iteration sees later insertions).
    for (const s of findSamples(exp, `${TOOL}_count`).filter((x) => x.labels.gen_ai_tool_name?.startsWith('late_'))) {
      expect(getHistogram(exp, TOOL, toolLabels(s.labels.gen_ai_tool_name as string)).count).toBe(s.value);
    }
  });
});
