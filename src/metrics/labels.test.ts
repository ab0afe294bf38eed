import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createObservability } from '../observability.js';
import { ExpositionError, getValue, labelValues, parseExposition, sumValues, type ParsedExposition } from '../../test/helpers/exposition.js';
import { LabelGuard, OTHER, escapeLabelValue, labelKey, sanitizeLabelValue, type LabelPolicySettings } from './labels.js';

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_CHAR = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Strings rich in the characters the sanitizer and escaper care about. */
const hostileChar = fc.oneof(
  fc.constantFrom('"', '\\', '\n', '\r', '\t', ',', '=', '}', '{', '\u0000', '\u007f', '\u0085', '\u202e', '\u2066', '\u2028', '😀', '\ud800', '\udfff', 'é', 'n', '_'),
  fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
);
const hostileString = fc.oneof(
  fc.string({ unit: hostileChar, maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
);

describe('sanitizeLabelValue', () => {
  it('never leaves control characters, bidi controls or lone surrogates, and never exceeds maxLength', () => {
    fc.assert(
      fc.property(hostileString, fc.integer({ min: 1, max: 200 }), (raw, max) => {
        const out = sanitizeLabelValue(raw, max);
        expect(out.length).toBeLessThanOrEqual(max);
        expect(UNSAFE_CHAR.test(out)).toBe(false);
        expect(LONE_SURROGATE.test(out)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('returns the input itself when it is already safe and short enough', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), (raw) => {
        fc.pre(!UNSAFE_CHAR.test(raw));
        expect(sanitizeLabelValue(raw, 200)).toBe(raw);
      }),
    );
  });

  it('is idempotent and keeps the length of short values (one replacement per unsafe unit)', () => {
    fc.assert(
      fc.property(hostileString, (raw) => {
        const once = sanitizeLabelValue(raw, 1000);
        expect(sanitizeLabelValue(once, 1000)).toBe(once);
        expect(once.length).toBe(raw.length);
      }),
    );
  });

  it('replaces each unsafe unit with "_" and leaves the rest alone', () => {
    expect(sanitizeLabelValue('a\nb\rc\u0000d\u202ee\u2028f', 100)).toBe('a_b_c_d_e_f');
    expect(sanitizeLabelValue('x\ud800y\udc00z', 100)).toBe('x_y_z');
    expect(sanitizeLabelValue('emoji 😀 ok "quoted" \\ , = }', 100)).toBe('emoji 😀 ok "quoted" \\ , = }');
  });

  it('cuts long values without splitting a surrogate pair', () => {
    expect(sanitizeLabelValue('abcdef', 3)).toBe('abc');
    expect(sanitizeLabelValue('ab😀', 3)).toBe('ab');
    expect(sanitizeLabelValue('a😀', 3)).toBe('a😀');
  });
});

describe('labelKey', () => {
  // Small alphabets with the separator characters make near-collisions likely.
  const piece = fc.string({ unit: fc.constantFrom('1', '2', ':', 'a', ',', '\u0000', '='), maxLength: 6 });
  const tuple = fc.array(piece, { maxLength: 4 });

  it('is injective: two tuples share a key only when they are equal', () => {
    fc.assert(
      fc.property(tuple, tuple, (a, b) => {
        expect(labelKey(a) === labelKey(b)).toBe(a.length === b.length && a.every((v, i) => v === b[i]));
      }),
      { numRuns: 5000 },
    );
  });

  it('separates the tuples that break separator-joined keys', () => {
    expect(labelKey(['a,b', 'c'])).not.toBe(labelKey(['a', 'b,c']));
    expect(labelKey(['1:a'])).not.toBe(labelKey(['', 'a']));
    expect(labelKey(['', ''])).not.toBe(labelKey(['']));
    expect(labelKey([])).not.toBe(labelKey(['']));
  });
});

describe('escapeLabelValue', () => {
  it('round-trips through an exposition parser for every value without raw control characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', 'n', '}', ',', '=', ' ', '#', 'é', '😀'), maxLength: 30 }), (v) => {
        const exp = parseExposition(`m{l="${escapeLabelValue(v)}"} 1\n`, 'prometheus');
        expect(exp.samples[0]?.labels.l).toBe(v);
      }),
      { numRuns: 1000 },
    );
  });

  it('escapes backslash, double quote and newline, and nothing else', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeLabelValue('plain, = }')).toBe('plain, = }');
  });
});

function guard(settings: Partial<LabelPolicySettings> = {}, labels = ['tool']) {
  const events: string[] = [];
  const g = new LabelGuard(
    'm',
    labels,
    { maxValuesPerLabel: 3, maxValueLength: 8, maxSeriesPerMetric: 100, allow: new Map(), ...settings },
    { overflow: (m, l) => events.push(`overflow ${m} ${l}`), sanitized: (m, l) => events.push(`sanitized ${m} ${l}`) },
  );
  return { g, events };
}

describe('LabelGuard', () => {
  it('admits the first maxValuesPerLabel distinct values and folds later ones into _OTHER, counting each fold', () => {
    const { g, events } = guard();
    expect(['a', 'b', 'a', 'c', 'd', 'b', 'e'].map((v) => g.resolve(0, v))).toEqual(['a', 'b', 'a', 'c', OTHER, 'b', OTHER]);
    expect(events).toEqual(['overflow m tool', 'overflow m tool']);
  });

  it('always admits "" and _OTHER without counting them against the cap', () => {
    const { g, events } = guard({ maxValuesPerLabel: 1 });
    expect(g.resolve(0, '')).toBe('');
    expect(g.resolve(0, OTHER)).toBe(OTHER);
    expect(g.resolve(0, 'a')).toBe('a');
    expect(g.resolve(0, '')).toBe('');
    expect(events).toEqual([]);
  });

  it('sanitizes before capping and counts the rewrite', () => {
    const { g, events } = guard();
    expect(g.resolve(0, 'a\nb')).toBe('a_b');
    expect(g.resolve(0, 'a_b')).toBe('a_b');
    expect(g.resolve(0, 'toolong-value')).toBe('toolong-');
    expect(events).toEqual(['sanitized m tool', 'sanitized m tool']);
  });

  it('applies an allow-list instead of the cap for its label only', () => {
    const { g, events } = guard({ allow: new Map([['tool', new Set(['x', 'y'])]]) }, ['tool', 'agent']);
    expect(g.resolve(0, 'x')).toBe('x');
    expect(g.resolve(0, 'z')).toBe(OTHER);
    expect(g.resolve(1, 'z')).toBe('z');
    expect(events).toEqual(['overflow m tool']);
  });

  it('keeps a separate admitted set per label, and clear() forgets them', () => {
    const { g } = guard({ maxValuesPerLabel: 1 }, ['a', 'b']);
    expect(g.resolve(0, 'x')).toBe('x');
    expect(g.resolve(1, 'y')).toBe('y');
    expect(g.resolve(0, 'y')).toBe(OTHER);
    g.clear();
    expect(g.resolve(0, 'y')).toBe('y');
  });
});

// ── The guard end to end: hostile, unbounded tool names through the public API ──────────

const TOOL = 'gen_ai_execute_tool_duration_seconds';
const PIECES = [
  '"', '\\', '\n', '\r', ',', '=', '}', '{', '\u0000', '\u202e', '\u2028', '\u0085', '😀', '\ud800', '\udc00', 'é', '\t',
  'x'.repeat(300), 'le="1"', '_OTHER', '\\n', '"}\nfake_metric 1\n', '#', ' ', '\u2066',
];

/** 10,000 distinct names: some purely hostile, the rest an index plus hostile pieces (some long). */
function hostileNames(): string[] {
  const names = new Set<string>();
  for (const a of PIECES) {
    for (const b of PIECES) {
      const n = `${a}${b}`;
      if (n.trim() !== '') names.add(n); // blank names are a ConfigError, tested with the handles
    }
  }
  for (let i = 0; names.size < 10_000; i++) {
    names.add(`${PIECES[i % PIECES.length]}t${i}${PIECES[(i * 7) % PIECES.length]}${PIECES[(i * 13) % PIECES.length]}`);
  }
  return [...names];
}

/** What the guard's contract predicts for binding `names` in order with cap `cap`. */
function expected(names: readonly string[], cap: number, maxLength: number) {
  const admitted: string[] = [];
  let overflow = 0;
  let sanitized = 0;
  for (const raw of names) {
    if (raw === '' || raw === OTHER) continue;
    const v = sanitizeLabelValue(raw, maxLength);
    if (v !== raw) sanitized++;
    if (admitted.includes(v)) continue;
    if (admitted.length >= cap) overflow++;
    else admitted.push(v);
  }
  return { admitted, overflow, sanitized };
}

async function scrapeBoth(obs: ReturnType<typeof createObservability>): Promise<{ text: ParsedExposition; om: ParsedExposition; raw: string[] }> {
  const text = await obs.metrics('text/plain');
  const om = await obs.metrics('application/openmetrics-text;version=1.0.0');
  expect(text.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(om.contentType).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
  let parsedText: ParsedExposition;
  let parsedOm: ParsedExposition;
  try {
    parsedText = parseExposition(text.body, 'prometheus');
    parsedOm = parseExposition(om.body, 'openmetrics');
  } catch (e) {
    throw e instanceof ExpositionError ? new Error(e.message) : e;
  }
  return { text: parsedText, om: parsedOm, raw: [text.body, om.body] };
}

describe('cardinality guard, end to end', () => {
  it.each([
    { name: 'default cap (100) and length (128)', cardinality: {}, cap: 100, maxLength: 128 },
    { name: 'custom cap (7) and length (16)', cardinality: { maxValuesPerLabel: 7, maxValueLength: 16 }, cap: 7, maxLength: 16 },
  ])('bounds 10,000 hostile tool names: $name', async ({ cardinality, cap, maxLength }) => {
    const obs = createObservability({ runtimeMetrics: false, logger: false, cardinality });
    const names = hostileNames();
    expect(names).toHaveLength(10_000);
    for (const n of names) expect(obs.tool(n).run(() => 1)).toBe(1);

    const want = expected(names, cap, maxLength);
    expect(want.overflow).toBeGreaterThan(9_000); // the fixture really overflows
    expect(want.sanitized).toBeGreaterThan(1_000); // … and really is hostile

    const { text, om, raw } = await scrapeBoth(obs);
    for (const body of raw) {
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      expect(body).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
      expect(LONE_SURROGATE.test(body)).toBe(false);
      expect(body).not.toMatch(/^fake_metric/m);
    }
    for (const exp of [text, om]) {
      const tools = labelValues(exp, `${TOOL}_count`, 'gen_ai_tool_name');
      const kept = [...tools].filter((t) => t !== OTHER);
      expect(kept.length).toBeLessThanOrEqual(cap);
      expect(new Set(kept)).toEqual(new Set(want.admitted));
      expect(tools.has(OTHER)).toBe(true);
      for (const t of tools) expect(t.length).toBeLessThanOrEqual(maxLength);
      // Nothing recorded is lost: every call is in some series.
      expect(sumValues(exp, `${TOOL}_count`)).toBe(10_000);
      expect(sumValues(exp, `${TOOL}_bucket`, { le: '+Inf' })).toBe(10_000);
      // The in-flight gauge is keyed by the same names and bounded the same way.
      expect(labelValues(exp, 'agentobs_operation_active', 'name').size).toBeLessThanOrEqual(cap + 1);
    }
    for (const exp of [text, om]) {
      // Same sample name in both formats; OpenMetrics names the family without _total.
      expect(getValue(exp, 'agentobs_label_overflow_total', { metric: TOOL, label: 'gen_ai_tool_name' })).toBe(want.overflow);
      expect(getValue(exp, 'agentobs_label_values_sanitized_total', { metric: TOOL, label: 'gen_ai_tool_name' })).toBe(want.sanitized);
    }
    expect(om.families.get('agentobs_label_values_sanitized')?.type).toBe('counter');
    expect(text.families.get('agentobs_label_values_sanitized_total')?.type).toBe('counter');
    await obs.shutdown();
  });

  it('folds everything outside an allow-list into _OTHER and counts it', async () => {
    const obs = createObservability({
      runtimeMetrics: false,
      logger: false,
      cardinality: { tools: ['a', 'b'], agents: ['support'], models: ['gpt-4o'], labels: { step: ['plan'] } },
    });
    for (const t of ['a', 'b', 'c', 'd\n', 'a']) obs.tool(t, { agent: 'support' }).run(() => 1);
    obs.tool('a', { agent: 'sales' }).run(() => 1);
    obs.llm({ model: 'gpt-4o' }).run(() => 1);
    obs.llm({ model: 'claude' }).run(() => 1);
    obs.step('plan', { workflow: 'w' }).run(() => 1);
    obs.step('act', { workflow: 'w' }).run(() => 1);
    const { text } = await scrapeBoth(obs);
    expect(labelValues(text, `${TOOL}_count`, 'gen_ai_tool_name')).toEqual(new Set(['a', 'b', OTHER]));
    expect(getValue(text, `${TOOL}_count`, { gen_ai_tool_name: OTHER, gen_ai_agent_name: 'support', error_type: '' })).toBe(2);
    expect(getValue(text, `${TOOL}_count`, { gen_ai_tool_name: 'a', gen_ai_agent_name: OTHER, error_type: '' })).toBe(1);
    expect(getValue(text, 'agentobs_label_overflow_total', { metric: TOOL, label: 'gen_ai_tool_name' })).toBe(2);
    expect(getValue(text, 'agentobs_label_overflow_total', { metric: TOOL, label: 'gen_ai_agent_name' })).toBe(1);
    expect(labelValues(text, 'gen_ai_client_operation_duration_seconds_count', 'gen_ai_request_model')).toEqual(new Set(['gpt-4o', OTHER]));
    expect(labelValues(text, 'agentobs_workflow_step_duration_seconds_count', 'step')).toEqual(new Set(['plan', OTHER]));
    await obs.shutdown();
  });

  it('folds new label tuples past maxSeriesPerMetric into the all-_OTHER series', async () => {
    const obs = createObservability({ runtimeMetrics: false, logger: false, cardinality: { maxSeriesPerMetric: 3 } });
    for (let i = 0; i < 10; i++) obs.agent(`agent${i}`).run(() => 1);
    const { text } = await scrapeBoth(obs);
    const agents = labelValues(text, 'gen_ai_invoke_agent_duration_seconds_count', 'gen_ai_agent_name');
    expect(agents).toEqual(new Set(['agent0', 'agent1', 'agent2', OTHER]));
    expect(getValue(text, 'gen_ai_invoke_agent_duration_seconds_count', { gen_ai_agent_name: OTHER, error_type: OTHER })).toBe(7);
    expect(sumValues(text, 'gen_ai_invoke_agent_duration_seconds_count')).toBe(10);
    await obs.shutdown();
  });
});

describe('label slots of removed series', () => {
  it('come back when no series holds the value any more, once per holder', async () => {
    const obs = createObservability({ runtimeMetrics: false, logger: false, cardinality: { maxValuesPerLabel: 3 } });
    const exp = async (): Promise<ParsedExposition> => parseExposition((await obs.metrics()).body, 'prometheus');
    // Breakers created and disposed per tenant (each binds several series per family).
    for (let i = 0; i < 150; i++) {
      const b = obs.circuitBreaker(async () => i, { name: `tenant "${i}"\n` });
      expect(await b.fire()).toBe(i);
      b.dispose();
    }
    const next = obs.circuitBreaker(async () => 'ok', { name: 'tenant-new' });
    await next.fire();
    const breakers = labelValues(await exp(), 'agentobs_circuit_breaker_calls_total', 'breaker');
    expect([...breakers]).toEqual(['tenant-new']);
    // Pools too.
    for (let i = 0; i < 20; i++) obs.pool(`pool-${i}`, { concurrency: 1 }).dispose();
    await obs.pool('pool-new', { concurrency: 1 }).run(() => 1);
    const pools = [...labelValues(await exp(), 'agentobs_pool_limit', 'pool')];
    expect(pools).toEqual(['pool-new']);
    // A slot is freed only by the last series holding the value: `outcome` values stay, a
    // disposed breaker's name goes, and the next name takes its place.
    const a = obs.circuitBreaker(async () => 1, { name: 'x1' });
    obs.circuitBreaker(async () => 1, { name: 'x2' });
    a.dispose();
    obs.circuitBreaker(async () => 1, { name: 'x3' });
    obs.circuitBreaker(async () => 1, { name: 'x4' });
    const names = labelValues(await exp(), 'agentobs_circuit_breaker_calls_total', 'breaker');
    expect(new Set(names)).toEqual(new Set(['tenant-new', 'x2', 'x3', OTHER]));
    await obs.shutdown();
  });
});
