/**
 * Fuzzing the exposition (issue 12, part 4): whatever names a service hands us (tools,
 * agents, workflows, steps, models, providers, error types, breakers, pools, retries, token
 * budgets, rate-limit providers, HTTP routes) and whatever help strings and label values its
 * own prom-client metrics in the shared registry carry, `obs.metrics()` is valid in both
 * formats, rewrites are counted, and nothing throws into the caller but our typed ConfigError
 * at configuration time.
 *
 * Every case is parsed by the repository's strict parser; every SAMPLE_EVERY-th case is kept
 * and, after the property, all kept bodies go to `promtool check metrics` (text) and to
 * Debian's python3-prometheus-client (strict OpenMetrics parser, and the text parser) in one batch.
 *
 * Reproduce or widen: FUZZ_SEED=<n> (default fixed) and FUZZ_RUNS=<cases per property>.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import fc from 'fast-check';
import { Counter, Gauge, Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createObservability, isConfigError, OTHER, type Observability } from 'agent-observability';
import { sanitizeLabelValue } from '../../../src/metrics/labels.js';
import { expositionProblems, parseExposition, sumValues, type ParsedExposition } from '../../helpers/exposition.js';
import {
  fuzzParams, HAVE_TOOLS, nastyString, promtoolCheckMetrics, pythonParse, type PythonInput,
} from '../../helpers/fuzz.js';

const TEXT = 'text/plain';
const OM = 'application/openmetrics-text';
const RUNS = fuzzParams(300);
/** About 20 sampled cases per property, whatever FUZZ_RUNS is. */
const SAMPLE_EVERY = Math.max(1, Math.round(RUNS.numRuns / 20));

// Same classes as the label policy's UNSAFE: what must never reach an exposed label value of ours.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const stats = { cases: 0, configErrors: 0, sampled: 0, promtoolLint: 0, foreignCases: 0, foreignSampled: 0 };
const kept: { text: string; om: string; where: string }[] = [];

afterAll(() => {
  console.log(
    `fuzz exposition: ${stats.cases + stats.foreignCases} cases (${stats.cases} through our instruments, ${stats.foreignCases} foreign metrics; ` +
      `${stats.configErrors} ConfigErrors at configuration), ${stats.sampled + stats.foreignSampled} checked by promtool and python (seed ${RUNS.seed})`,
  );
});

/** A thrown value that our errorType mapper turns into a label value: a user function may return anything. */
class Tagged extends Error {
  constructor(readonly tag: string) {
    super('fuzz');
  }
}

/** Runs a configuration-time call: it may throw our ConfigError, nothing else. */
function configure<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!isConfigError(e)) throw e;
    stats.configErrors++;
    return undefined;
  }
}

/** Calls a wrapped function: the caller gets its result, or the very value it threw. */
async function callThrough(run: () => Promise<unknown>, thrown: unknown): Promise<void> {
  try {
    await run();
    expect(thrown).toBeUndefined();
  } catch (e) {
    expect(e).toBe(thrown);
  }
}

/** A request and response pair for the HTTP middleware, without a socket; `finish` is emitted by hand. */
function exchange(url: string): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = url;
  req.headers = {};
  return { req, res: new ServerResponse(req) };
}

const scenario = fc.record({
  maxValuesPerLabel: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
  maxValueLength: fc.option(fc.integer({ min: 1, max: 160 }), { nil: undefined }),
  tools: fc.array(fc.record({ name: nastyString(), agent: nastyString(8), error: fc.option(nastyString(8), { nil: undefined }) }), { maxLength: 6 }),
  agents: fc.array(nastyString(), { maxLength: 3 }),
  steps: fc.array(fc.record({ workflow: nastyString(8), step: nastyString(8) }), { maxLength: 3 }),
  llms: fc.array(fc.record({ model: nastyString(), provider: nastyString(8), operation: nastyString(8), agent: nastyString(8) }), { maxLength: 3 }),
  breakers: fc.array(nastyString(), { maxLength: 3 }),
  pools: fc.array(nastyString(), { maxLength: 2 }),
  retries: fc.array(fc.record({ name: nastyString(8), kind: nastyString(8) }), { maxLength: 2 }),
  budgets: fc.array(nastyString(8), { maxLength: 2 }),
  rateLimits: fc.array(fc.record({ provider: nastyString(8), model: nastyString(8), remaining: nastyString(6) }), { maxLength: 2 }),
  routes: fc.array(nastyString(), { maxLength: 3 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

/** What went into one label of one family, to compare with what came out. */
interface Fed {
  readonly metric: string;
  readonly label: string;
  readonly values: string[];
}

async function drive(obs: Observability, s: Scenario): Promise<Fed[]> {
  const fed = (metric: string, label: string): Fed => ({ metric, label, values: [] });
  const tool = fed('gen_ai_execute_tool_duration_seconds', 'gen_ai_tool_name');
  const toolAgent = fed('gen_ai_execute_tool_duration_seconds', 'gen_ai_agent_name');
  const toolError = fed('gen_ai_execute_tool_duration_seconds', 'error_type');
  const agent = fed('gen_ai_invoke_agent_duration_seconds', 'gen_ai_agent_name');
  const step = fed('agentobs_workflow_step_duration_seconds', 'step');
  const workflow = fed('agentobs_workflow_step_duration_seconds', 'gen_ai_workflow_name');
  const model = fed('gen_ai_client_operation_duration_seconds', 'gen_ai_request_model');
  const provider = fed('gen_ai_client_operation_duration_seconds', 'gen_ai_provider_name');
  const operation = fed('gen_ai_client_operation_duration_seconds', 'gen_ai_operation_name');
  const breaker = fed('agentobs_circuit_breaker_calls_total', 'breaker');
  const pool = fed('agentobs_pool_usage', 'pool');
  const retry = fed('agentobs_retry_attempts', 'name');
  const retryKind = fed('agentobs_retry_attempts', 'kind');
  const budget = fed('agentobs_token_budget_usage', 'budget');
  const rlProvider = fed('agentobs_llm_rate_limit_remaining', 'gen_ai_provider_name');
  const route = fed('http_server_request_duration_seconds', 'http_route');

  for (const t of s.tools) {
    const h = configure(() => obs.tool(t.name, { agent: t.agent }));
    if (h === undefined) continue;
    tool.values.push(t.name);
    toolAgent.values.push(t.agent);
    const thrown = t.error === undefined ? undefined : new Tagged(t.error);
    if (t.error !== undefined) toolError.values.push(t.error);
    await callThrough(h.wrap(async () => {
      if (thrown !== undefined) throw thrown;
      return 1;
    }), thrown);
  }
  for (const a of s.agents) {
    const h = configure(() => obs.agent(a));
    if (h === undefined) continue;
    agent.values.push(a);
    await callThrough(h.wrap(async () => 1), undefined);
  }
  for (const st of s.steps) {
    const h = configure(() => obs.workflow(st.workflow.trim() === '' ? 'w' : st.workflow).step(st.step));
    if (h === undefined) continue;
    step.values.push(st.step);
    workflow.values.push(st.workflow.trim() === '' ? 'w' : st.workflow);
    await callThrough(h.wrap(async () => 1), undefined);
  }
  for (const l of s.llms) {
    const h = configure(() => obs.llm({ model: l.model, provider: l.provider, operation: l.operation, agent: l.agent, usage: () => ({ input: 3, output: 4 }) }));
    if (h === undefined) continue;
    model.values.push(l.model);
    provider.values.push(l.provider);
    operation.values.push(l.operation);
    await callThrough(h.wrap(async () => 1), undefined);
  }
  for (const name of s.breakers) {
    const b = configure(() => obs.circuitBreaker(async (x: number) => x, { name }));
    if (b === undefined) continue;
    breaker.values.push(name);
    await callThrough(() => b.fire(1), undefined);
  }
  for (const name of s.pools) {
    const p = configure(() => obs.pool(name, { concurrency: 2 }));
    if (p === undefined) continue;
    pool.values.push(name);
    await callThrough(() => p.run(async () => 1), undefined);
  }
  for (const r of s.retries) {
    const thrown = new Tagged('x');
    const f = configure(() => obs.retry(async () => { throw thrown; }, { name: r.name, kind: r.kind, maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 }));
    if (f === undefined) continue;
    retry.values.push(r.name);
    retryKind.values.push(r.kind);
    await callThrough(() => f(), thrown);
  }
  for (const name of s.budgets) {
    const b = configure(() => obs.tokenBudget(name, { limit: 100, windowMs: 60_000 }));
    if (b === undefined) continue;
    budget.values.push(name);
    b.record({ input: 5, output: 6 });
  }
  for (const r of s.rateLimits) {
    // Never throws, whatever the strings: no configure() around it.
    obs.recordRateLimit(r.provider, r.model, { 'x-ratelimit-limit-requests': '100', 'x-ratelimit-remaining-requests': r.remaining }, 200);
    obs.recordRateLimit(r.provider, r.model, { 'x-ratelimit-limit-requests': '100', 'x-ratelimit-remaining-requests': '10' }, 429);
    rlProvider.values.push(r.provider);
  }
  if (s.routes.length > 0) {
    let next = '';
    const handler = obs.instrumentHttpHandler((_req, res) => void res.writeHead(200).end(), { route: () => next });
    for (const r of s.routes) {
      next = r;
      if (r !== '') route.values.push(r);
      const { req, res } = exchange('/x?q=1');
      handler(req, res);
      res.emit('finish');
    }
  }
  return [tool, toolAgent, toolError, agent, step, workflow, model, provider, operation, breaker, pool, retry, retryKind, budget, rlProvider, route];
}

/** Exposed values of `label` on the samples of family `metric`. */
function exposedValues(exp: ParsedExposition, metric: string, label: string): Set<string> {
  const out = new Set<string>();
  for (const smp of exp.samples) if (smp.family === metric || smp.family === metric.replace(/_total$/, '')) {
    const v = smp.labels[label];
    if (v !== undefined) out.add(v);
  }
  return out;
}

function checkLabels(exp: ParsedExposition, fed: readonly Fed[], s: Scenario): void {
  const maxLen = s.maxValueLength ?? 128;
  const maxValues = s.maxValuesPerLabel ?? 100;
  for (const f of fed) {
    const clean = new Set(f.values.filter((v) => v !== '' && v !== OTHER).map((v) => sanitizeLabelValue(v, maxLen)));
    const dirty = f.values.some((v) => v !== '' && v !== OTHER && sanitizeLabelValue(v, maxLen) !== v);
    const exposed = exposedValues(exp, f.metric, f.label);
    const where = `${f.metric}{${f.label}} fed ${JSON.stringify(f.values)}`;
    for (const v of exposed) {
      expect(UNSAFE.test(v), `${where}: unsafe exposed value ${JSON.stringify(v)}`).toBe(false);
      expect(v.length, where).toBeLessThanOrEqual(Math.max(maxLen, OTHER.length));
      // Fixed values (`chat` is the default operation, `call` the default retry kind) aside, only what we were given, cleaned.
      if (v !== '' && v !== OTHER && v !== 'chat' && v !== 'call') expect(clean.has(v), `${where}: unexpected ${JSON.stringify(v)}`).toBe(true);
    }
    const sanitized = sumValues(exp, 'agentobs_label_values_sanitized_total', { metric: f.metric, label: f.label });
    expect(sanitized > 0, `${where}: sanitized count ${sanitized}`).toBe(dirty);
    const overflow = sumValues(exp, 'agentobs_label_overflow_total', { metric: f.metric, label: f.label });
    if (clean.size > maxValues) {
      expect(overflow, `${where}: overflow not counted`).toBeGreaterThan(0);
      expect(exposed.has(OTHER), `${where}: no _OTHER series`).toBe(true);
    } else {
      expect(overflow, `${where}: overflow counted under the cap`).toBe(0);
      for (const v of clean) expect(exposed.has(v), `${where}: ${JSON.stringify(v)} missing`).toBe(true);
    }
  }
}

describe('fuzz: exposition of user-chosen names', () => {
  it('stays valid in both formats, never throws into the caller, and counts every rewrite', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const obs = configure(() =>
          createObservability({
            runtimeMetrics: false,
            logger: false,
            errorType: (e) => (e instanceof Tagged ? e.tag : 'other'),
            cardinality: {
              ...(s.maxValuesPerLabel === undefined ? {} : { maxValuesPerLabel: s.maxValuesPerLabel }),
              ...(s.maxValueLength === undefined ? {} : { maxValueLength: s.maxValueLength }),
            },
          }),
        ) as Observability;
        try {
          const fed = await drive(obs, s);
          const text = (await obs.metrics(TEXT)).body;
          const om = (await obs.metrics(OM)).body;
          expect(expositionProblems(text, 'prometheus')).toEqual([]);
          expect(expositionProblems(om, 'openmetrics')).toEqual([]);
          checkLabels(parseExposition(om, 'openmetrics'), fed, s);
          checkLabels(parseExposition(text, 'prometheus'), fed, s);
          if (stats.cases % SAMPLE_EVERY === 0) kept.push({ text, om, where: JSON.stringify(s).slice(0, 300) });
          stats.cases++;
        } finally {
          await obs.shutdown();
        }
      }),
      RUNS,
    );
  }, 60_000);

  it.skipIf(!HAVE_TOOLS)('the sampled bodies pass promtool check metrics and both python parsers', () => {
    expect(kept.length).toBeGreaterThan(0);
    const verdicts = promtoolCheckMetrics(kept.map((k) => k.text));
    const py = pythonParse(kept.flatMap((k): PythonInput[] => [{ format: 'prometheus', body: k.text }, { format: 'openmetrics', body: k.om }]));
    kept.forEach((k, i) => {
      expect(verdicts[i]?.parseError, `promtool on ${k.where}`).toBeUndefined();
      // Lint (missing HELP, unit suffixes) is style: our families have HELP, so count what is left.
      stats.promtoolLint += verdicts[i]?.lint.length ?? 0;
      expect(py[2 * i], `python text parser on ${k.where}`).toBeUndefined();
      expect(py[2 * i + 1], `python OpenMetrics parser on ${k.where}`).toBeUndefined();
    });
    expect(stats.promtoolLint).toBe(0);
    stats.sampled = kept.length;
  }, 60_000);
});

// ── foreign metrics: the user's own prom-client metrics in the shared registry ──────────────

const foreign = fc.record({
  help: nastyString(60),
  values: fc.array(nastyString(12), { minLength: 1, maxLength: 4 }),
  gaugeHelp: nastyString(30),
});
const foreignKept: { text: string; om: string; where: string }[] = [];

/**
 * Problems the strict helper reports that the format allows: raw C0 controls and lone
 * surrogates in HELP and label values (the OpenMetrics ABNF admits %x00-09 / %x0B-21 …, and
 * a lone surrogate goes out as U+FFFD), and, because the helper's HELP regex uses `.`, a
 * HELP holding CR, U+2028 or U+2029 read as a "comment". Our own families never hit these
 * (the label policy replaces such characters); a user's metric may.
 */
function allowedForeignProblem(p: string): boolean {
  return /raw control character|lone UTF-16 surrogate|comment not allowed in OpenMetrics: "# HELP /.test(p);
}

describe('fuzz: exposition of foreign metrics (help strings and label values we do not own)', () => {
  it('parses, and every problem the strict parser finds is one the format allows', async () => {
    await fc.assert(
      fc.asyncProperty(foreign, async (f) => {
        const registry = new Registry();
        // prom-client itself refuses an empty help.
        const c = new Counter({ name: 'user_jobs_total', help: f.help === '' ? 'h' : f.help, labelNames: ['kind'], registers: [registry] });
        // Distinct JS strings only: values that differ only in lone surrogates are kept apart here (see the it.fails below).
        const distinct = [...new Set(f.values.map((v) => Buffer.from(v, 'utf8').toString('utf8')))];
        distinct.forEach((v, i) => c.inc({ kind: v }, i + 1));
        new Gauge({ name: 'user_queue_depth', help: f.gaugeHelp === '' ? 'h' : f.gaugeHelp, registers: [registry] }).set(3);
        const obs = createObservability({ registry, runtimeMetrics: false, logger: false });
        try {
          const text = (await obs.metrics(TEXT)).body;
          const om = (await obs.metrics(OM)).body;
          expect(expositionProblems(text, 'prometheus').filter((p) => !allowedForeignProblem(p))).toEqual([]);
          expect(expositionProblems(om, 'openmetrics').filter((p) => !allowedForeignProblem(p))).toEqual([]);
          if (stats.foreignCases % SAMPLE_EVERY === 0) foreignKept.push({ text, om, where: JSON.stringify(f).slice(0, 300) });
          stats.foreignCases++;
        } finally {
          await obs.shutdown();
        }
      }),
      RUNS,
    );
  }, 60_000);

  it.skipIf(!HAVE_TOOLS)('the sampled bodies pass promtool check metrics and both python parsers', () => {
    expect(foreignKept.length).toBeGreaterThan(0);
    const verdicts = promtoolCheckMetrics(foreignKept.map((k) => k.text));
    const py = pythonParse(foreignKept.flatMap((k): PythonInput[] => [{ format: 'prometheus', body: k.text }, { format: 'openmetrics', body: k.om }]));
    foreignKept.forEach((k, i) => {
      expect(verdicts[i]?.parseError, `promtool on ${k.where}`).toBeUndefined();
      expect(py[2 * i], `python text parser on ${k.where}`).toBeUndefined();
      expect(py[2 * i + 1], `python OpenMetrics parser on ${k.where}`).toBeUndefined();
    });
    stats.foreignSampled = foreignKept.length;
  }, 60_000);

  // Found by this file: a foreign label value was written as the JS string it is, so two values
  // differing only in lone surrogates became the same bytes on the wire (both U+FFFD), a duplicate
  // series. Our own families cannot (the policy replaces lone surrogates before admitting); foreign
  // values now carry each lone surrogate as the text `\uD800`.
  it('two foreign label values differing only in lone surrogates stay two series on the wire', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'user_jobs_total', help: 'Jobs.', labelNames: ['kind'], registers: [registry] });
    c.inc({ kind: 'a\ud800' }, 1);
    c.inc({ kind: 'a\udbff' }, 2);
    const obs = createObservability({ registry, runtimeMetrics: false, logger: false });
    try {
      const wire = Buffer.from((await obs.metrics(OM)).body, 'utf8').toString('utf8');
      expect(expositionProblems(wire, 'openmetrics')).toEqual([]);
      expect(wire.split('\n').filter((l) => l.startsWith('user_jobs_total{'))).toEqual(['user_jobs_total{kind="a\\\\uD800"} 1', 'user_jobs_total{kind="a\\\\uDBFF"} 2']);
    } finally {
      await obs.shutdown();
    }
  });
});
