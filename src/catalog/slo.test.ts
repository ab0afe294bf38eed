import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isConfigError, type ConfigError } from '../errors.js';
import { formatDuration, humanDuration, parseDuration } from './duration.js';
import { agentDuration, CALL_DURATION_BUCKETS, toolDuration } from './metrics.js';
import { defineSlo, describeTarget, formatLe, loadSlos, resolveSlos, type SloSpec } from './slo.js';

/** The one ConfigError `fn` throws. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (isConfigError(e)) return e as ConfigError;
    throw e;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

const base = { name: 'search', target: { kind: 'tool', name: 'web_search' }, objective: 0.99, availability: {} } as const;

describe('durations', () => {
  it('parses Prometheus durations and prints them canonically', () => {
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('30d')).toBe(2_592_000_000);
    expect(parseDuration('1w')).toBe(604_800_000);
    expect(parseDuration('500ms')).toBe(500);
    for (const bad of ['', '0s', '5', 'm', '1.5h', '5m1h', '-5m', '5 m']) expect(parseDuration(bad)).toBeUndefined();
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(604_800_000)).toBe('7d');
    expect(humanDuration(180_000_000)).toBe('2d 2h');
  });
});

describe('defineSlo', () => {
  it('returns the spec, frozen, with nothing added', () => {
    const s = defineSlo(base);
    expect(s).toEqual(base);
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.target)).toBe(true);
  });

  it('accepts a latency SLO written as a percentile ("p95 <= T")', () => {
    const [r] = resolveSlos([defineSlo({ name: 'lat', target: { kind: 'agent', name: 'a' }, latency: { threshold: 0.4, percentile: 0.95 } })], 'slos');
    expect(r?.objective).toBe(0.95);
    expect(r?.latency).toEqual({ threshold: 0.4, thresholdIndex: 2, percentile: 0.95 });
    expect(r?.metric).toBe(agentDuration);
  });

  it('binds each target kind to its histogram and label matchers, in catalog label order', () => {
    const [r] = resolveSlos([{ ...base, target: { kind: 'llm', agent: 'support', name: 'gpt-x', provider: 'openai' } }], 'slos');
    expect(r?.metric.name).toBe('gen_ai_client_operation_duration_seconds');
    expect(r?.matchers).toEqual([
      { label: 'gen_ai_provider_name', value: 'openai' },
      { label: 'gen_ai_request_model', value: 'gpt-x' },
      { label: 'gen_ai_agent_name', value: 'support' },
    ]);
    const [all] = resolveSlos([{ ...base, target: { kind: 'workflow' } }], 'slos');
    expect(all?.matchers).toEqual([]);
  });

  it('applies the documented defaults', () => {
    const [r] = resolveSlos([base], 'slos');
    expect(r?.window.text).toBe('30d');
    expect(r?.evaluation.slice.text).toBe('1m');
    expect(r?.evaluation.shortWindow.text).toBe('5m');
    expect(r?.evaluation.longWindow.text).toBe('1h');
    expect(r?.evaluation.breachBurnRate).toBe(14.4);
    expect(r?.evaluation.recoverBurnRate).toBe(7.2);
    expect(r?.alerting.name).toBe('SloErrorBudgetBurn');
    expect(r?.bounds).toEqual(CALL_DURATION_BUCKETS);
  });
});

describe('bad specs: one clear error naming the path', () => {
  const cases: { what: string; spec: unknown; path: string; message: RegExp }[] = [
    { what: 'unknown target kind', spec: { ...base, target: { kind: 'database' } }, path: 'slos[0].target.kind', message: /expected one of agent, workflow, step, tool, llm, got "database"/ },
    { what: 'field the target kind does not have', spec: { ...base, target: { kind: 'agent', workflow: 'w' } }, path: 'slos[0].target.workflow', message: /no such key/ },
    { what: 'objective of 1', spec: { ...base, objective: 1 }, path: 'slos[0].objective', message: /strictly between 0 and 1.*got 1$/ },
    { what: 'objective of 0', spec: { ...base, objective: 0 }, path: 'slos[0].objective', message: /got 0$/ },
    { what: 'objective as a percentage', spec: { ...base, objective: 99.5 }, path: 'slos[0].objective', message: /got 99.5$/ },
    { what: 'objective missing', spec: { ...base, objective: undefined }, path: 'slos[0].objective', message: /got undefined/ },
    { what: 'window not a multiple of the budget slice', spec: { ...base, window: '36h30m' }, path: 'slos[0].window', message: /expected a multiple of evaluation\.budgetSlice \(1h\), got "1d12h30m"/ },
    { what: 'short window not a multiple of the slice', spec: { ...base, evaluation: { slice: '1m', shortWindow: '90s' } }, path: 'slos[0].evaluation.shortWindow', message: /multiple of evaluation\.slice \(1m\)/ },
    { what: 'short window not shorter than the long one', spec: { ...base, evaluation: { shortWindow: '1h' } }, path: 'slos[0].evaluation.shortWindow', message: /shorter than evaluation\.longWindow/ },
    { what: 'bad duration', spec: { ...base, window: '30 days' }, path: 'slos[0].window', message: /Prometheus duration/ },
    { what: 'both SLIs', spec: { ...base, latency: { threshold: 1.28 } }, path: 'slos[0].latency', message: /either availability or latency/ },
    { what: 'no SLI', spec: { name: 'x', target: { kind: 'agent' }, objective: 0.9 }, path: 'slos[0]', message: /expected an SLI/ },
    { what: 'typo in a key', spec: { ...base, objectve: 0.9 }, path: 'slos[0].objectve', message: /no such key/ },
    { what: 'negative threshold', spec: { ...base, availability: undefined, latency: { threshold: -1 } }, path: 'slos[0].latency.threshold', message: /> 0/ },
    { what: 'bad SLO name', spec: { ...base, name: 'has space' }, path: 'slos[0].name', message: /SLO name/ },
    { what: 'recover burn rate above breach', spec: { ...base, evaluation: { breachBurnRate: 2, recoverBurnRate: 3 } }, path: 'slos[0].evaluation.recoverBurnRate', message: /no higher than breachBurnRate/ },
    { what: 'alert name not CamelCase', spec: { ...base, alerting: { name: 'slo-burn' } }, path: 'slos[0].alerting.name', message: /CamelCase/ },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const e = configError(() => resolveSlos([c.spec], 'slos'));
      expect(e.path).toBe(c.path);
      expect(e.message).toMatch(c.message);
      expect(e.message.startsWith(`${c.path}: expected `)).toBe(true);
    });
  }

  it('threshold not a bucket boundary: lists the boundaries', () => {
    const specs = [base, { ...base, name: 'b' }, { name: 'c', target: { kind: 'agent' }, latency: { threshold: 2.2 }, objective: 0.95 }];
    const e = configError(() => resolveSlos(specs, 'slos'));
    expect(e.path).toBe('slos[2].latency.threshold');
    expect(e.message).toBe(
      "slos[2].latency.threshold: expected one of the histogram's bucket boundaries " +
        '[0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6] ' +
        '(gen_ai_invoke_agent_duration_seconds; add it with the `buckets` option), got 2.2',
    );
  });

  it('honours bucket overrides: 2.2 is fine once it is a boundary', () => {
    const spec = { name: 'c', target: { kind: 'agent' }, latency: { threshold: 2.2 }, objective: 0.95 };
    const [r] = resolveSlos([spec], 'slos', { buckets: (n) => (n === agentDuration.name ? [1, 2.2, 5] : undefined) });
    expect(r?.latency?.thresholdIndex).toBe(1);
    expect(r?.bounds).toEqual([1, 2.2, 5]);
  });

  it('a target name outside the allow-list could never match: rejected', () => {
    const allowed = new Map([['gen_ai_tool_name', new Set(['search'])]]);
    const e = configError(() => resolveSlos([base], 'slos', { allowed }));
    expect(e.path).toBe('slos[0].target.name');
    expect(e.message).toMatch(/gen_ai_tool_name allow-list \[search\]/);
  });

  it('duplicate names', () => {
    const e = configError(() => resolveSlos([base, base], 'slos'));
    expect(e.path).toBe('slos[1].name');
    expect(e.message).toMatch(/unique SLO name \(slos\[0\] has it too\)/);
  });

  it('defineSlo names the SLO in the path', () => {
    const e = configError(() => defineSlo({ ...base, objective: 2 }));
    expect(e.path).toBe('slo(search).objective');
  });

  it('createObservability-style list must be an array', () => {
    expect(configError(() => resolveSlos({ slos: [] }, 'slos')).path).toBe('slos');
  });
});

describe('loadSlos (YAML or JSON documents)', () => {
  const yaml = `
slos:
  - name: support-availability
    target: { kind: agent, name: support }
    objective: 0.995
    availability: {}
  - name: search-latency
    target: { kind: tool, name: web_search, agent: support }
    latency: { threshold: 2.56, percentile: 0.95 }
    window: 7d
  - name: plan-latency
    target: { kind: step, name: plan, workflow: answer }
    latency: { threshold: 2.2 }
    objective: 0.9
`;

  it('validates a parsed slo.yaml; the bucket check reports slos[2].latency.threshold', () => {
    const specs = loadSlos(parse(yaml));
    expect(specs.map((s) => s.name)).toEqual(['support-availability', 'search-latency', 'plan-latency']);
    const e = configError(() => resolveSlos(specs, 'slos'));
    expect(e.path).toBe('slos[2].latency.threshold');
    expect(e.message).toContain(`[${CALL_DURATION_BUCKETS.join(', ')}]`);
  });

  it('accepts a bare array and rejects YAML text and unknown top-level keys', () => {
    expect(loadSlos([base])).toHaveLength(1);
    expect(configError(() => loadSlos(yaml)).message).toMatch(/parse the YAML text first/);
    expect(configError(() => loadSlos({ slo: [] })).path).toBe('document.slo');
    expect(configError(() => loadSlos(parse('slos:\n  - name: x\n    target: { kind: agent }\n    objective: 1.5\n    availability: {}\n'))).path).toBe(
      'slos[0].objective',
    );
  });
});

describe('helpers shared with the rules', () => {
  it('formats le like the exposition does', () => {
    for (const b of [...CALL_DURATION_BUCKETS, ...toolDuration.buckets]) expect(formatLe(b)).toBe(String(b));
    expect(formatLe(Infinity)).toBe('+Inf');
  });

  it('describes targets for alert texts', () => {
    expect(describeTarget({ kind: 'tool', name: 'search', agent: 'support' })).toBe('tool "search" (agent "support")');
    expect(describeTarget({ kind: 'llm' })).toBe('every llm call');
  });

  it('SloSpec is a discriminated union (type-level)', () => {
    const ok: SloSpec = { name: 'a', target: { kind: 'step', name: 's', workflow: 'w' }, latency: { threshold: 1 } };
    // @ts-expect-error: availability SLOs need an objective
    const noObjective: SloSpec = { name: 'a', target: { kind: 'agent' }, availability: {} };
    // @ts-expect-error: agents have no workflow
    const badTarget: SloSpec = { name: 'a', target: { kind: 'agent', workflow: 'w' }, objective: 0.9, availability: {} };
    expect([ok, noObjective, badTarget]).toHaveLength(3);
  });
});
