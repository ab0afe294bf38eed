/**
 * Fuzzing SLO specs and generator configs (issue 12, part 4): `defineSlo`, `loadSlos`,
 * `createObservability({ slos })`, `resolveGenerateConfig`/`generateArtifacts` and the CLI on
 * config files either accept the input or throw our typed ConfigError (the CLI: exit 2), never
 * another error (TypeError, DataCloneError, RangeError…). Inputs: arbitrary values
 * (fc.anything, fc.jsonValue) and near-valid ones, a valid spec or config with one to three
 * fields replaced by anything. On a sample of the accepted configs, `promtool check rules`
 * reads every rule file the generator writes.
 *
 * Reproduce or widen: FUZZ_SEED=<n> (default fixed) and FUZZ_RUNS=<cases per property>.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { catalog, createObservability, defineSlo, isConfigError, loadSlos } from 'agent-observability';
import { generateArtifacts, resolveGenerateConfig } from 'agent-observability/generate';
import { runCli } from '../../../src/cli/generate.js';
import { fuzzParams, nastyString, promtoolCheckRules } from '../../helpers/fuzz.js';

const SPEC_RUNS = fuzzParams(2000);
const CONFIG_RUNS = fuzzParams(600);
/** The CLI reads a file and imports yaml per case (some 50 ms): a tenth of FUZZ_RUNS. */
const CLI_RUNS = { ...fuzzParams(1000), numRuns: Math.max(1, Math.round(fuzzParams(1000).numRuns / 10)) };
/** Every RULES_EVERY-th eligible accepted config goes to promtool (about a fifth of the runs are eligible: some 20 at the default). */
const RULES_EVERY = Math.max(1, Math.round(CONFIG_RUNS.numRuns / 100));

const stats = { specs: 0, specsAccepted: 0, configs: 0, configsAccepted: 0, eligible: 0, cli: 0, rulesChecked: 0, ruleFiles: 0 };

afterAll(() => {
  console.log(
    `fuzz specs: ${stats.specs + stats.configs + stats.cli} cases (${stats.specs} SLO specs, ${stats.specsAccepted} accepted; ` +
      `${stats.configs} generate configs, ${stats.configsAccepted} accepted; ` +
      `${stats.cli} CLI config files), ` +
      `${stats.rulesChecked} accepted configs (${stats.ruleFiles} rule files) checked by promtool check rules (seed ${SPEC_RUNS.seed})`,
  );
});

/** Runs `fn`: true when it returned, false when it threw our ConfigError; anything else fails the property. */
function acceptsOrConfigError(fn: () => unknown, what: string): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (isConfigError(e)) return false;
    throw new Error(`${what} threw ${(e as Error)?.name ?? typeof e} (not a ConfigError): ${String((e as Error)?.message ?? e)}`, { cause: e });
  }
}

const DURATIONS = ['1m', '5m', '1h', '30d', '0s', '1h30m', '2w', '1y', '90s', '500ms', '1.5h', '-5m', '5M', '999999999999d', '', ' 5m'];
/** A value for a field: anything, or something that looks like what the field wants. */
const fieldValue = fc.oneof(
  { weight: 3, arbitrary: fc.anything({ maxDepth: 2, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withSparseArray: true, withTypedArray: true, withDate: true }) },
  { weight: 2, arbitrary: fc.constantFrom(...DURATIONS) },
  { weight: 2, arbitrary: fc.oneof(fc.double(), fc.constantFrom(0, 1, 0.5, 0.99, 1e-300, -0, NaN, Infinity, 2.56, 0.256, 25.6, 60)) },
  { weight: 2, arbitrary: nastyString(20) },
  { weight: 1, arbitrary: fc.constantFrom('agent', 'tool', 'llm', 'step', 'workflow', 'SloBurn', 'lowercase', {}, [], null, undefined) },
  // Values structuredClone cannot copy: a spec is copied when accepted.
  { weight: 1, arbitrary: fc.constantFrom<unknown>(Promise.resolve(1), new WeakMap(), () => 1, Symbol('s')) },
);

const SPEC_PATHS: readonly (readonly string[])[] = [
  ['name'], ['description'], ['target'], ['target', 'kind'], ['target', 'name'], ['target', 'agent'], ['target', 'workflow'],
  ['target', 'provider'], ['target', 'operation'], ['objective'], ['window'], ['availability'], ['latency'], ['latency', 'threshold'],
  ['latency', 'percentile'], ['evaluation'], ['evaluation', 'slice'], ['evaluation', 'shortWindow'], ['evaluation', 'longWindow'],
  ['evaluation', 'budgetSlice'], ['evaluation', 'minRequests'], ['evaluation', 'breachBurnRate'], ['evaluation', 'recoverBurnRate'],
  ['evaluation', 'warningBurnRate'], ['alerting'], ['alerting', 'name'], ['alerting', 'latencyName'], ['alerting', 'minRequestRate'],
  ['alerting', 'latencyFor'], ['alerting', 'latencyWindow'], ['unknownKey'], ['evaluation', 'typo'],
];

/** Each target kind's histogram: a latency threshold must be one of its bucket bounds. */
const BUCKETS = {
  agent: catalog.agentDuration.buckets, workflow: catalog.workflowDuration.buckets, step: catalog.stepDuration.buckets,
  tool: catalog.toolDuration.buckets, llm: catalog.llmCallDuration.buckets,
} as const;

const validSpec = fc.record({
  name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/),
  kind: fc.constantFrom('agent', 'workflow', 'step', 'tool', 'llm'),
  targetName: fc.option(fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim() !== ''), { nil: undefined }),
  latency: fc.boolean(),
  bucket: fc.nat(),
}).map((v): Record<string, unknown> => {
  const target: Record<string, unknown> = { kind: v.kind };
  if (v.targetName !== undefined) target.name = v.targetName;
  const bounds = BUCKETS[v.kind];
  return v.latency
    ? { name: v.name, target, latency: { threshold: bounds[v.bucket % bounds.length], percentile: 0.95 } }
    : { name: v.name, target, objective: 0.995, availability: {}, window: '30d', evaluation: { slice: '1m', shortWindow: '5m', longWindow: '1h' } };
});

/** Sets `value` at `keys` in a structured copy, creating objects on the way (a non-object on the way is replaced). */
function setPath(base: Record<string, unknown>, keys: readonly string[], value: unknown): Record<string, unknown> {
  const root: Record<string, unknown> = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  let o = root;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) {
      o[k] = value;
      return;
    }
    const next = o[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) o[k] = {};
    o = o[k] as Record<string, unknown>;
  });
  return root;
}

function mutated(base: fc.Arbitrary<Record<string, unknown>>, paths: readonly (readonly string[])[]): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(base, fc.array(fc.tuple(fc.constantFrom(...paths), fieldValue), { minLength: 1, maxLength: 3 }))
    .map(([b, edits]) => edits.reduce((acc, [p, v]) => setPath(acc, p, v), b));
}

const anySpec: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: validSpec },
  { weight: 5, arbitrary: mutated(validSpec, SPEC_PATHS) },
);

describe('fuzz: SLO specs', () => {
  it('defineSlo, loadSlos and createObservability({ slos }) accept or throw ConfigError, and agree', async () => {
    await fc.assert(
      fc.asyncProperty(anySpec, async (spec) => {
        stats.specs++;
        const defined = acceptsOrConfigError(() => defineSlo(spec as never), 'defineSlo');
        const loaded = acceptsOrConfigError(() => loadSlos([spec]), 'loadSlos([spec])');
        acceptsOrConfigError(() => loadSlos(spec), 'loadSlos(spec)');
        acceptsOrConfigError(() => loadSlos({ slos: [spec, spec] }), 'loadSlos({ slos: [spec, spec] })');
        // loadSlos adds only the document's shape, so on one spec the two agree.
        expect(loaded, JSON.stringify(spec)?.slice(0, 300)).toBe(defined);
        if (!defined) return;
        stats.specsAccepted++;
        const frozen = defineSlo(spec as never);
        expect(Object.isFrozen(frozen)).toBe(true);
        // The bucket and allow-list checks come on top: still either accepted or a ConfigError.
        let obs: ReturnType<typeof createObservability> | undefined;
        acceptsOrConfigError(() => (obs = createObservability({ runtimeMetrics: false, logger: false, slos: [frozen] })), 'createObservability({ slos })');
        if (obs !== undefined) {
          obs.sla.check();
          await obs.shutdown();
        }
      }),
      SPEC_RUNS,
    );
  }, 60_000);
});

describe('findings in spec validation', () => {
  const base = { name: 'answer', target: { kind: 'agent' }, objective: 0.99 };

  // Fixed finding: `unbound()` in src/catalog/slo.ts copied and froze the spec
  // (`deepFreeze({ ...structuredClone(o), target })`) before it validates `alerting.name`,
  // `alerting.latencyName`, `alerting.latencyFor` and `alerting.latencyWindow` (those run in the
  // return statement), and `object()` takes any non-array object as `availability`/`evaluation`/
  // `alerting`. So a function, Promise or WeakMap there throws DataCloneError, and a typed array
  // throws TypeError ("Cannot freeze array buffer views with elements"), not a ConfigError naming the path.
  // Fix: unbound() validates the alerting values before `const spec = …`, and `object()` in
  // src/catalog/validate.ts takes plain objects only (options objects may still be class instances).
  it('defineSlo throws ConfigError (was DataCloneError) for a function as alerting.name', () => {
    expect(() => defineSlo({ ...base, availability: {}, alerting: { name: () => 'X' } } as never)).toThrow(expect.objectContaining({ code: 'ERR_AGENTOBS_CONFIG' }));
  });
  it('defineSlo throws ConfigError (was DataCloneError) for a Promise as availability', () => {
    expect(() => defineSlo({ ...base, availability: Promise.resolve() } as never)).toThrow(expect.objectContaining({ code: 'ERR_AGENTOBS_CONFIG' }));
  });
  it('defineSlo throws ConfigError (was TypeError) for a typed array as alerting.latencyName', () => {
    expect(() => defineSlo({ ...base, availability: {}, alerting: { latencyName: new Int32Array([1]) } } as never)).toThrow(expect.objectContaining({ code: 'ERR_AGENTOBS_CONFIG' }));
  });
  // Fixed finding: generateArtifacts(config) tested `'selectorText' in config` before validating, so null or
  // a string (a YAML file holding a scalar, handed over directly) threw TypeError instead of what
  // resolveGenerateConfig does (null: the defaults; a string: "config: expected an object"). Fixed in
  // src/generate/artifacts.ts, resolved(): it checks for an object first.
  // Fixed finding: array options were validated with forEach/map, which skip holes, so a sparse array
  // passes validation with an undefined element: `buckets: { h: [0.1, , 0.5] }` is accepted and the
  // exposition gets a `le="NaN"` bucket (invalid: not increasing, not numeric); `groupBy: [, 'cluster']`
  // renders `by (, cluster, …)` (invalid PromQL); `slos: [,]` throws TypeError in the generator.
  // Fix: validateBuckets (src/catalog/naming.ts), stringSet (src/catalog/validate.ts),
  // stringList/burnWindows (src/generate/config.ts) and sloList (src/catalog/slo.ts) iterate by
  // index, so a hole is seen as undefined and rejected with a ConfigError naming `path[i]`.
  it('a sparse bucket array is rejected with ConfigError (was accepted, with le="NaN" on the wire)', async () => {
    // eslint-disable-next-line no-sparse-arrays -- the hole is the point
    const buckets = [0.1, , 0.5] as number[];
    let obs: ReturnType<typeof createObservability> | undefined;
    try {
      expect(() => (obs = createObservability({ runtimeMetrics: false, logger: false, buckets: { gen_ai_execute_tool_duration_seconds: buckets } }))).toThrow(
        expect.objectContaining({ code: 'ERR_AGENTOBS_CONFIG' }),
      );
    } finally {
      await obs?.shutdown();
    }
  });
  it('generateArtifacts on a non-object agrees with resolveGenerateConfig (was TypeError): a string or number is a ConfigError, null the defaults', () => {
    expect(() => generateArtifacts('selector: x' as never)).toThrow(expect.objectContaining({ code: 'ERR_AGENTOBS_CONFIG' }));
    expect(() => generateArtifacts(42 as never)).toThrow(expect.objectContaining({ code: 'ERR_AGENTOBS_CONFIG' }));
    // resolveGenerateConfig reads null (an empty YAML document) as no config: so does generateArtifacts now.
    expect(generateArtifacts(null as never)).toEqual(generateArtifacts({}));
  });
  it('sparse groupBy, slos, dashboardTags, burnRateWindows and cardinality lists are rejected with ConfigError naming the hole', async () => {
    /* eslint-disable no-sparse-arrays -- the holes are the point */
    expect(() => resolveGenerateConfig({ groupBy: [, 'cluster'] as string[] })).toThrow(/groupBy\[0\]/);
    expect(() => resolveGenerateConfig({ dashboardTags: ['a', , 'b'] as string[] })).toThrow(/dashboardTags\[1\]/);
    expect(() => resolveGenerateConfig({ slos: [,] as never })).toThrow(/slos\[0\]/);
    expect(() => loadSlos([, { ...base, availability: {} }])).toThrow(/slos\[0\]/);
    expect(() => resolveGenerateConfig({ burnRateWindows: [, { severity: 'critical', burnFactor: 14.4, longWindow: '1h', shortWindow: '5m' }] as never })).toThrow(/burnRateWindows\[0\]/);
    expect(() => createObservability({ runtimeMetrics: false, logger: false, cardinality: { tools: ['a', , 'b'] as string[] } })).toThrow(/cardinality\.tools\[1\]/);
    /* eslint-enable no-sparse-arrays */
  });
});

const CONFIG_PATHS: readonly (readonly string[])[] = [
  ['selector'], ['groupBy'], ['rateInterval'], ['service'], ['slos'], ['runbookUrl'], ['dashboardTags'], ['dashboardUidPrefix'],
  ['dashboardRefresh'], ['dashboardTimeFrom'], ['minRequestRate'], ['thresholds'], ['thresholds', 'toolErrorRatio'],
  ['thresholds', 'latencyQuantile'], ['thresholds', 'agentLatencySeconds'], ['for'], ['for', 'errorRatio'], ['for', 'latency'],
  ['burnRateWindows'], ['buckets'], ['buckets', 'gen_ai_invoke_agent_duration_seconds'], ['buckets', 'not_a_histogram'], ['$schema'], ['typo'],
];

/**
 * Label values a selector may hold: quotes, backslashes and escapes, but no template braces.
 * Template braces included: user text in annotations is written as a Go template literal (fixed finding).
 */
const selectorValue = fc.string({ unit: fc.constantFrom(...'ab\\"\'|.*-_ é\n\t'), maxLength: 12 });
const serviceText = nastyString(16).filter((s) => s.trim() !== '');

const validConfig = fc.record({
  selectorValue,
  service: serviceText,
  groupBy: fc.subarray(['cluster', 'namespace', 'region']),
  slos: fc.array(validSpec, { maxLength: 3 }),
  minRequestRate: fc.constantFrom(0, 0.01, 1),
  toolErrorRatio: fc.double({ min: 0.001, max: 1, noNaN: true }),
}).map((v): Record<string, unknown> => ({
  // PromQL's own escapes for the value: the selector parser must read back exactly this.
  selector: `job="${v.selectorValue.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`,
  service: v.service,
  groupBy: v.groupBy,
  // Unique names: duplicates are a ConfigError, which the near-valid generator covers.
  slos: v.slos.map((s, i) => ({ ...s, name: `${String(s.name)}-${i}` })),
  minRequestRate: v.minRequestRate,
  thresholds: { toolErrorRatio: v.toolErrorRatio },
}));

const anyConfig: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: validConfig },
  { weight: 4, arbitrary: mutated(validConfig, CONFIG_PATHS) },
);

describe('fuzz: generate configs', () => {
  const sampled: { config: unknown; files: string[] }[] = [];

  it('resolveGenerateConfig accepts or throws ConfigError; generateArtifacts never throws on an accepted config', () => {
    fc.assert(
      fc.property(anyConfig, (config) => {
        stats.configs++;
        let resolved: ReturnType<typeof resolveGenerateConfig> | undefined;
        acceptsOrConfigError(() => (resolved = resolveGenerateConfig(config)), 'resolveGenerateConfig');
        if (resolved === undefined) {
          // The same config through generateArtifacts: the same verdict.
          expect(acceptsOrConfigError(() => generateArtifacts(config as never), 'generateArtifacts(config)')).toBe(false);
          return;
        }
        let a: ReturnType<typeof generateArtifacts> | undefined;
        // A config that resolves also generates (an off-bucket latency threshold used to fail only here).
        expect(acceptsOrConfigError(() => (a = generateArtifacts(resolved as never)), 'generateArtifacts(resolved)')).toBe(true);
        if (a === undefined) return;
        stats.configsAccepted++;
        const rules = a.files.filter((f) => f.path.endsWith('.yaml')).map((f) => f.content);
        expect(rules.length).toBe(2);
        for (const f of a.files.filter((x) => x.path.endsWith('.json'))) expect(() => JSON.parse(f.content) as unknown).not.toThrow();
        // Control characters, lone surrogates and template braces included (fixed findings).
        if (stats.eligible++ % RULES_EVERY === 0) sampled.push({ config, files: rules });
      }),
      CONFIG_RUNS,
    );
  }, 60_000);

  it('promtool check rules accepts the rule files of the sampled accepted configs', () => {
    expect(sampled.length).toBeGreaterThan(0);
    const files = sampled.flatMap((s) => s.files);
    const failed = promtoolCheckRules(files);
    const report = [...failed].map(([i, out]) => `${JSON.stringify(sampled[Math.floor(i / 2)]?.config)?.slice(0, 400)}\n${out.slice(0, 800)}`);
    expect(report).toEqual([]);
    stats.rulesChecked = sampled.length;
    stats.ruleFiles = files.length;
  }, 120_000);

  // Fixed finding: user text reached alert annotations verbatim, and Prometheus reads annotations as Go
  // templates. A target name (which must equal the runtime name, so it cannot be restricted) or a
  // runbookUrl holding "{{" or "}}" makes the rule file unloadable: promtool check rules says
  // `annotation "description": template: …: unterminated quoted string` / `unclosed action`, and so
  // would Prometheus on reload. The service name and SLO description take the same road.
  // Fix: templateText() in src/generate/prometheus/slo-rules.ts writes such text (target, service,
  // runbook URL) as a Go template string action `{{ "…" }}`, which prints it verbatim.
  // Fixed finding: PromQL string literals escaped only \\, " and \n (src/generate/promql.ts quote()), and rule
  // expressions are written as YAML literal blocks (src/generate/rules.ts block()). A control character
  // in the service name, a selector value or a target name (\u0007, ESC, CR, U+2028…) lands raw in the
  // block, and promtool (Go yaml) says "yaml: control characters are not allowed": the file does not load.
  // Likewise U+FFFD (or a lone surrogate, which is written as U+FFFD) in a PromQL string: the PromQL
  // lexer stops with "parse error: invalid UTF-8 rune".
  // Fix: quote() writes every other control character, U+2028/9, U+FEFF and U+FFFD as a Go \uXXXX
  // escape (a lone surrogate becomes U+FFFD first), and block() falls back to a quoted scalar when the
  // text holds a character a literal block cannot.
  it.each(['svc\u0007', 'svc\r', 'svc\ufffd', 'svc\ud800'])('service name %j yields rule files promtool accepts (was a finding)', (service) => {
    const a = generateArtifacts({ service, slos: [{ name: 'ok', target: { kind: 'agent' }, objective: 0.99, availability: {} }] });
    expect([...promtoolCheckRules(a.files.filter((f) => f.path.endsWith('.yaml')).map((f) => f.content)).values()]).toEqual([]);
  });

  it('a target name, service or runbookUrl with template braces yields rule files promtool accepts (was a finding)', () => {
    const a = generateArtifacts({
      service: 'svc}}',
      runbookUrl: 'https://runbooks.example/{alert}?v={{',
      slos: [{ name: 'tool-ok', target: { kind: 'tool', name: 'search}}{{' }, objective: 0.99, availability: {} }],
    });
    expect([...promtoolCheckRules(a.files.filter((f) => f.path.endsWith('.yaml')).map((f) => f.content)).values()]).toEqual([]);
  });
});

describe('fuzz: the CLI on config files', () => {
  // Fixed finding: `resolveGenerateConfig` validated SLOs with `loadSlos`, which cannot check that a latency
  // threshold is a bucket boundary; that check runs later, inside `generateArtifacts` (resolveSlos in
  // sloRuleGroups). So an off-bucket threshold passes config validation, and the CLI, which turns only
  // resolveGenerateConfig's ConfigErrors into exit 2, reports it as "unexpected error" with a stack
  // trace and exit 70. Fix: resolveGenerateConfig runs resolveSlos with the config's buckets, and the
  // CLI turns a ConfigError from generateArtifacts into exit 2 as well.
  it('an SLO latency threshold off the buckets is a ConfigError from resolveGenerateConfig and CLI exit 2 (was exit 70)', async () => {
    const config = { slos: [{ name: 'answer', target: { kind: 'agent' }, latency: { threshold: 2.56, percentile: 0.95 } }] };
    const dir = mkdtempSync(path.join(tmpdir(), 'agentobs-fuzz-cli-'));
    try {
      expect(() => resolveGenerateConfig(config)).toThrow(/latency\.threshold/);
      const file = path.join(dir, 'obs.config.json');
      writeFileSync(file, JSON.stringify(config));
      const code = await runCli(['generate', '--config', file, '--out', dir, '--check', '--quiet'], { cwd: dir, out: () => {}, err: () => {} });
      expect(code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 (out of date) or 2 (bad config or file) on any JSON or YAML file, never 70 (unexpected error)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agentobs-fuzz-cli-'));
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            anyConfig.map((c) => ({ ext: '.json', text: JSON.stringify(c) ?? 'undefined' })),
            anyConfig.map((c) => {
              try {
                return { ext: '.yaml', text: String(stringify(c) ?? '') };
              } catch {
                return { ext: '.yaml', text: String(c) };
              }
            }),
            fc.tuple(fc.constantFrom('.json', '.yaml'), nastyString(60)).map(([ext, text]) => ({ ext, text })),
          ),
          async ({ ext, text }) => {
            stats.cli++;
            const file = path.join(dir, `config-${stats.cli}${ext}`);
            writeFileSync(file, text);
            const err: string[] = [];
            const code = await runCli(['generate', '--config', file, '--out', path.join(dir, 'out'), '--check', '--quiet'], {
              cwd: dir, out: () => {}, err: (l) => void err.push(l),
            });
            expect([1, 2], `exit ${code} for ${ext} ${JSON.stringify(text.slice(0, 200))}: ${err.join('\n').slice(0, 500)}`).toContain(code);
          },
        ),
        CLI_RUNS,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
