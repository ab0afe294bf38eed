/**
 * SLOs as data. One spec feeds both the in-process windows (`sla/`) and the Prometheus
 * rules (`generate/`), so the two cannot disagree about what is measured: a target
 * resolves to one catalog histogram plus equality matchers on its labels, and a latency
 * threshold must be one of that histogram's bucket boundaries (so `le="T"` exists and the
 * in-process "slower than T" count is exact). No prom-client import: data and validation only.
 */
import { ConfigError, describe } from '../errors.js';
import {
  agentDuration, llmCallDuration, stepDuration, toolDuration, workflowDuration, type HistogramDef, type LabelOf,
} from './metrics.js';
import { SLO_TARGET_KINDS, type ResolvedSlo, type SloMatcher, type SloSpec, type SloTarget, type SloTargetKind } from './slo-spec.js';
import { deepFreeze, duration, multipleOf, ratio } from './slo-validate.js';
import { nonEmptyString, object, oneOf, onlyKeys, positive, positiveInt, string } from './validate.js';

export { SLO_TARGET_KINDS } from './slo-spec.js';
export type {
  SloTargetKind, SloTarget, AvailabilitySli, LatencySli, SloEvaluationOptions, SloAlertingOptions, AvailabilitySloSpec,
  LatencySloSpec, SloSpec, SloDuration, SloMatcher, ResolvedSlo,
} from './slo-spec.js';

// ── target → histogram + label matchers (label names type-checked against the catalog) ──

const ERROR_LABEL = 'error_type';
interface TargetBinding {
  readonly metric: HistogramDef;
  /** Spec field → label name. */
  readonly fields: Readonly<Record<string, string>>;
}
function bind<M extends HistogramDef>(metric: M, fields: Readonly<Record<string, Exclude<LabelOf<M>, 'error_type'>>>): TargetBinding {
  if (!metric.labels.includes(ERROR_LABEL as LabelOf<M>)) throw new ConfigError(`slo targets.${metric.name}`, 'a histogram with an error_type label', metric.labels);
  return Object.freeze({ metric, fields: Object.freeze(fields) });
}
const TARGETS: Readonly<Record<SloTargetKind, TargetBinding>> = Object.freeze({
  agent: bind(agentDuration, { name: 'gen_ai_agent_name' }),
  workflow: bind(workflowDuration, { name: 'gen_ai_workflow_name' }),
  step: bind(stepDuration, { name: 'step', workflow: 'gen_ai_workflow_name' }),
  tool: bind(toolDuration, { name: 'gen_ai_tool_name', agent: 'gen_ai_agent_name' }),
  llm: bind(llmCallDuration, {
    name: 'gen_ai_request_model', agent: 'gen_ai_agent_name', provider: 'gen_ai_provider_name', operation: 'gen_ai_operation_name',
  }),
});

// ── defaults ─────────────────────────────────────────────────────────────────────────────

/** Defaults applied to every SLO spec. */
export const SLO_DEFAULTS = Object.freeze({
  window: '30d',
  slice: '1m',
  shortWindow: '5m',
  longWindow: '1h',
  budgetSlice: '1h',
  minRequests: 20,
  breachBurnRate: 14.4,
  warningBurnRate: 1,
  alertName: 'SloErrorBudgetBurn',
  latencyAlertName: 'SloLatencyHigh',
  latencyFor: '10m',
  latencyWindow: '5m',
});

const SLO_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const ALERT_NAME = /^[A-Z][A-Za-z0-9]*$/;

// ── spec validation ──────────────────────────────────────────────────────────────────────

const SPEC_KEYS = ['name', 'description', 'target', 'objective', 'window', 'availability', 'latency', 'evaluation', 'alerting'];
const EVALUATION_KEYS = ['slice', 'shortWindow', 'longWindow', 'budgetSlice', 'minRequests', 'breachBurnRate', 'recoverBurnRate', 'warningBurnRate'];
const ALERTING_KEYS = ['name', 'latencyName', 'minRequestRate', 'latencyFor', 'latencyWindow'];

type Unbound = Omit<ResolvedSlo, 'bounds' | 'latency'> & { readonly threshold: number | undefined; readonly percentile: number | undefined };

function target(raw: unknown, path: string): { spec: SloTarget; binding: TargetBinding; matchers: SloMatcher[] } {
  const t = object(raw, path);
  const kind = oneOf(t.kind, SLO_TARGET_KINDS, `${path}.kind`);
  const binding = TARGETS[kind];
  const fields = Object.keys(binding.fields);
  onlyKeys(t, ['kind', ...fields], path);
  const matchers: SloMatcher[] = [];
  const spec: Record<string, string> = { kind };
  for (const f of fields) {
    const v = t[f];
    if (v === undefined) continue;
    const value = f === 'name' ? nonEmptyString(v, `${path}.${f}`) : string(v, `${path}.${f}`);
    spec[f] = value;
    matchers.push({ label: binding.fields[f] as string, value });
  }
  // Catalog label order, so generated selectors read the same way as the exposition.
  const order = binding.metric.labels as readonly string[];
  matchers.sort((a, b) => order.indexOf(a.label) - order.indexOf(b.label));
  return { spec: spec as unknown as SloTarget, binding, matchers };
}

function unbound(raw: unknown, path: string): Unbound {
  const o = object(raw, path);
  onlyKeys(o, SPEC_KEYS, path);
  const name = o.name;
  if (typeof name !== 'string' || !SLO_NAME.test(name)) {
    throw new ConfigError(`${path}.name`, 'an SLO name of 1-63 letters, digits, "_", "." or "-", starting with a letter or digit', name);
  }
  const description = o.description === undefined ? '' : nonEmptyString(o.description, `${path}.description`);
  const t = target(o.target, `${path}.target`);

  let sli: 'availability' | 'latency';
  let threshold: number | undefined;
  let percentile: number | undefined;
  if (o.availability !== undefined && o.latency !== undefined) {
    throw new ConfigError(`${path}.latency`, 'either availability or latency, not both', 'both');
  }
  if (o.availability !== undefined) {
    onlyKeys(object(o.availability, `${path}.availability`), [], `${path}.availability`);
    sli = 'availability';
  } else if (o.latency !== undefined) {
    const l = object(o.latency, `${path}.latency`);
    onlyKeys(l, ['threshold', 'percentile'], `${path}.latency`);
    if (typeof l.threshold !== 'number' || !(l.threshold > 0) || l.threshold === Infinity) {
      throw new ConfigError(`${path}.latency.threshold`, 'a finite number of seconds > 0', l.threshold);
    }
    threshold = l.threshold;
    if (l.percentile !== undefined) percentile = ratio(l.percentile, `${path}.latency.percentile`);
    sli = 'latency';
  } else {
    throw new ConfigError(path, 'an SLI: `availability: {}` or `latency: { threshold }`', 'neither');
  }
  let objective: number;
  if (o.objective === undefined && sli === 'latency' && percentile !== undefined) objective = percentile;
  else objective = ratio(o.objective, `${path}.objective`);
  if (sli === 'latency') percentile ??= objective;

  const window = duration(o.window, `${path}.window`, SLO_DEFAULTS.window);
  const e = o.evaluation === undefined ? {} : object(o.evaluation, `${path}.evaluation`);
  onlyKeys(e, EVALUATION_KEYS, `${path}.evaluation`);
  const ep = `${path}.evaluation`;
  const slice = duration(e.slice, `${ep}.slice`, SLO_DEFAULTS.slice);
  const shortWindow = duration(e.shortWindow, `${ep}.shortWindow`, SLO_DEFAULTS.shortWindow);
  const longWindow = duration(e.longWindow, `${ep}.longWindow`, SLO_DEFAULTS.longWindow);
  const budgetSlice = duration(e.budgetSlice, `${ep}.budgetSlice`, SLO_DEFAULTS.budgetSlice);
  multipleOf(shortWindow, slice, `${ep}.shortWindow`, 'evaluation.slice');
  multipleOf(longWindow, slice, `${ep}.longWindow`, 'evaluation.slice');
  if (shortWindow.ms >= longWindow.ms) throw new ConfigError(`${ep}.shortWindow`, `a window shorter than evaluation.longWindow (${longWindow.text})`, shortWindow.text);
  multipleOf(budgetSlice, slice, `${ep}.budgetSlice`, 'evaluation.slice');
  multipleOf(window, budgetSlice, `${path}.window`, 'evaluation.budgetSlice');
  const minRequests = positiveInt(e.minRequests, `${ep}.minRequests`, SLO_DEFAULTS.minRequests);
  const breachBurnRate = positive(e.breachBurnRate, `${ep}.breachBurnRate`, SLO_DEFAULTS.breachBurnRate);
  const recoverBurnRate = positive(e.recoverBurnRate, `${ep}.recoverBurnRate`, breachBurnRate / 2);
  if (recoverBurnRate > breachBurnRate) {
    throw new ConfigError(`${ep}.recoverBurnRate`, `a burn rate no higher than breachBurnRate (${breachBurnRate})`, recoverBurnRate);
  }
  const warningBurnRate = positive(e.warningBurnRate, `${ep}.warningBurnRate`, SLO_DEFAULTS.warningBurnRate);

  const a = o.alerting === undefined ? {} : object(o.alerting, `${path}.alerting`);
  onlyKeys(a, ALERTING_KEYS, `${path}.alerting`);
  const alertName = (v: unknown, p: string, fallback: string): string => {
    const s = v ?? fallback;
    if (typeof s !== 'string' || !ALERT_NAME.test(s)) throw new ConfigError(p, 'a CamelCase alert name', s);
    return s;
  };
  let minRequestRate: number | undefined;
  if (a.minRequestRate !== undefined) {
    if (typeof a.minRequestRate !== 'number' || !(a.minRequestRate >= 0) || a.minRequestRate === Infinity) {
      throw new ConfigError(`${path}.alerting.minRequestRate`, 'a finite number of requests per second >= 0', a.minRequestRate);
    }
    minRequestRate = a.minRequestRate;
  }

  const alerting = Object.freeze({
    name: alertName(a.name, `${path}.alerting.name`, SLO_DEFAULTS.alertName),
    latencyName: alertName(a.latencyName, `${path}.alerting.latencyName`, SLO_DEFAULTS.latencyAlertName),
    minRequestRate,
    latencyFor: duration(a.latencyFor, `${path}.alerting.latencyFor`, SLO_DEFAULTS.latencyFor),
    latencyWindow: duration(a.latencyWindow, `${path}.alerting.latencyWindow`, SLO_DEFAULTS.latencyWindow),
  });

  // Copied and frozen only once every field is validated: what is left is plain data.
  const spec = deepFreeze({ ...structuredClone(o as Record<string, unknown>), target: t.spec }) as unknown as SloSpec;
  return {
    spec,
    name,
    description,
    sli,
    metric: t.binding.metric,
    errorLabel: ERROR_LABEL,
    matchers: Object.freeze(t.matchers.map((m) => Object.freeze(m))),
    objective,
    window,
    threshold,
    percentile,
    evaluation: Object.freeze({ slice, shortWindow, longWindow, budgetSlice, minRequests, breachBurnRate, recoverBurnRate, warningBurnRate }),
    alerting,
  };
}

/**
 * Validates an SLO and returns it (deep-frozen). Everything is checked here except what
 * depends on `createObservability` options: that the latency threshold is a bucket
 * boundary (bucket overrides may add one) and that target names pass the allow-lists;
 * those are checked when the SLO is handed to `createObservability` or the rule generator.
 * Throws {@link ConfigError} naming the offending path.
 *
 * @example
 * const answerLatency = defineSlo({
 *   name: 'answer-latency',
 *   target: { kind: 'agent', name: 'support' },
 *   latency: { threshold: 25.6, percentile: 0.95 },   // p95 <= 25.6 s
 * });
 * const obs = createObservability({ slos: [answerLatency] });
 */
export function defineSlo<const S extends SloSpec>(spec: S): S {
  const name = (spec as { name?: unknown } | null)?.name;
  return unbound(spec, typeof name === 'string' && name !== '' ? `slo(${name})` : 'slo').spec as S;
}

/**
 * Validates a parsed SLO document, as loaded from `slo.yaml` or JSON: either
 * `{ slos: [...] }` or the bare array. Errors name the path, e.g. `slos[2].objective`.
 * Parse YAML with any YAML library first (`YAML.parse(text)`): the runtime entry carries
 * no YAML parser.
 *
 * @example
 * import { parse } from 'yaml';
 * const slos = loadSlos(parse(readFileSync('slo.yaml', 'utf8')));
 * const obs = createObservability({ slos });
 */
export function loadSlos(document: unknown): SloSpec[] {
  if (typeof document === 'string') {
    throw new ConfigError('slos', 'a parsed document ({ slos: [...] } or an array); parse the YAML text first', document);
  }
  let list: unknown = document;
  if (!Array.isArray(document)) {
    const d = object(document, 'document');
    onlyKeys(d, ['slos'], 'document');
    list = d.slos;
    if (list === undefined) throw new ConfigError('slos', 'an array of SLO specs', list);
  }
  return sloList(list, 'slos').map((u) => u.spec);
}

function sloList(list: unknown, path: string): Unbound[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new ConfigError(path, 'an array of SLO specs', list);
  const seen = new Map<string, number>();
  const out: Unbound[] = [];
  // An index loop: map/forEach skip the holes of a sparse array, which must be rejected too.
  for (let i = 0; i < list.length; i++) {
    const u = unbound(list[i], `${path}[${i}]`);
    const prev = seen.get(u.name);
    if (prev !== undefined) throw new ConfigError(`${path}[${i}].name`, `a unique SLO name (${path}[${prev}] has it too)`, u.name);
    seen.set(u.name, i);
    out.push(u);
  }
  return out;
}

/** What {@link resolveSlos} needs from the surrounding configuration. */
export interface SloEnvironment {
  /** Bucket override for a catalog histogram, if any. */
  readonly buckets?: (metricName: string) => readonly number[] | undefined;
  /** Label allow-lists (cardinality options): a target value outside its list could never match. */
  readonly allowed?: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * Validates a list of SLO specs against the configuration they run in and binds each to
 * its histogram. Errors name `path[i]…`; the bucket check says which boundaries exist.
 */
export function resolveSlos(list: unknown, path: string, env: SloEnvironment = {}): readonly ResolvedSlo[] {
  return Object.freeze(
    sloList(list, path).map((u, i) => {
      const p = `${path}[${i}]`;
      const bounds = Object.freeze([...(env.buckets?.(u.metric.name) ?? u.metric.buckets)]);
      for (const m of u.matchers) {
        const allow = env.allowed?.get(m.label);
        if (allow !== undefined && !allow.has(m.value)) {
          const field = Object.entries(TARGETS[u.spec.target.kind].fields).find(([, l]) => l === m.label)?.[0] ?? m.label;
          throw new ConfigError(`${p}.target.${field}`, `a value in the ${m.label} allow-list [${[...allow].join(', ')}] (others are recorded as _OTHER)`, m.value);
        }
      }
      let latency: ResolvedSlo['latency'];
      if (u.threshold !== undefined) {
        const idx = bounds.indexOf(u.threshold);
        if (idx === -1) {
          throw new ConfigError(
            `${p}.latency.threshold`,
            `one of the histogram's bucket boundaries [${bounds.join(', ')}] (${u.metric.name}; add it with the \`buckets\` option)`,
            u.threshold,
          );
        }
        latency = Object.freeze({ threshold: u.threshold, thresholdIndex: idx, percentile: u.percentile ?? u.objective });
      }
      const { threshold: _t, percentile: _p, ...rest } = u;
      return Object.freeze({ ...rest, bounds, latency });
    }),
  );
}

/** `le` label value of a bucket bound as the exposition writes it (`String(v)` for finite bounds). */
export function formatLe(bound: number): string {
  return Number.isFinite(bound) ? String(bound) : bound > 0 ? '+Inf' : '-Inf';
}

/** A short human description of a target: `tool "search" (agent "support")`, `every llm call`. */
export function describeTarget(t: SloTarget): string {
  const { kind, ...rest } = t as { kind: string } & Record<string, string | undefined>;
  const name = rest.name;
  const extra = Object.entries(rest)
    .filter(([k, v]) => k !== 'name' && v !== undefined)
    .map(([k, v]) => `${k} ${describe(v)}`);
  const head = name === undefined ? `every ${kind} call` : `${kind} ${describe(name)}`;
  return extra.length === 0 ? head : `${head} (${extra.join(', ')})`;
}
