/**
 * Prometheus rules from the same SLO specs `obs.sla` evaluates: Sloth-compatible
 * recording rules (`slo:sli_error:ratio_rate5m` … `ratio_rate3d`, the period ratio, the
 * objective, error budget and burn rates, with `sloth_id`/`sloth_service`/`sloth_slo`
 * labels, so Sloth's dashboards work on them) and multi-window multi-burn-rate alerts,
 * one rule per window pair. Every SLI sums over instances (`sum`/`sum by`), so replicas
 * aggregate before any ratio is taken. Pure: catalog + options in, rule groups out.
 */
import { formatDuration, humanDuration, parseDuration } from '../../catalog/duration.js';
import type { CatalogHistogramName } from '../../catalog/metrics.js';
import { assertLabelName, validateBuckets } from '../../catalog/naming.js';
import { describeTarget, formatLe, resolveSlos, type ResolvedSlo, type SloSpec } from '../../catalog/slo.js';
import { ConfigError } from '../../errors.js';
import { VERSION } from '../../version.js';
import { eq, histogramSeries, histogramQuantile, neq, num, on, rate, recordedSeries, sum, type LabelMatcher, type MatchOp } from '../promql.js';
import { renderRuleFile, type AlertingRule, type RecordingRule, type RuleGroup } from '../rules.js';

/** One multi-window burn-rate alert: fires when both windows burn at least `burnFactor` times the budget. */
export interface BurnRateAlertWindow {
  readonly severity: 'critical' | 'warning' | 'info';
  readonly burnFactor: number;
  readonly longWindow: string;
  readonly shortWindow: string;
}

/**
 * The Google SRE workbook pairs for a 30-day SLO: page at 14.4x (2 % of the budget in
 * 1 h) and 6x (5 % in 6 h); ticket at 3x (10 % in 1 d) and 1x (10 % in 3 d).
 */
export const MULTI_BURN_RATE_ALERTS: readonly BurnRateAlertWindow[] = Object.freeze([
  Object.freeze({ severity: 'critical', burnFactor: 14.4, longWindow: '1h', shortWindow: '5m' } as const),
  Object.freeze({ severity: 'critical', burnFactor: 6, longWindow: '6h', shortWindow: '30m' } as const),
  Object.freeze({ severity: 'warning', burnFactor: 3, longWindow: '1d', shortWindow: '2h' } as const),
  Object.freeze({ severity: 'warning', burnFactor: 1, longWindow: '3d', shortWindow: '6h' } as const),
]);

/** Windows of the `slo:sli_error:ratio_rate<window>` recordings (Sloth's set). */
export const SLI_WINDOWS: readonly string[] = Object.freeze(['5m', '30m', '1h', '2h', '6h', '1d', '3d']);

/** Names of the recorded series (Sloth's). */
export const SLO_RECORDS = Object.freeze({
  sliError: (window: string) => `slo:sli_error:ratio_rate${window}`,
  objective: 'slo:objective:ratio',
  errorBudget: 'slo:error_budget:ratio',
  timePeriod: 'slo:time_period:days',
  currentBurnRate: 'slo:current_burn_rate:ratio',
  periodBurnRate: 'slo:period_burn_rate:ratio',
  periodErrorBudgetRemaining: 'slo:period_error_budget_remaining:ratio',
  info: 'sloth_slo_info',
});

/**
 * User text for an annotation (Prometheus reads annotations as Go templates): as is, unless it
 * holds template braces, then as a Go template string action `{{ "…" }}`, which prints it verbatim
 * (JSON escapes are valid Go string escapes; a lone surrogate becomes U+FFFD first).
 */
export function templateText(s: string): string {
  if (!/\{\{|\}\}/.test(s)) return s;
  return `{{ ${JSON.stringify(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'))} }}`;
}

/** Where runbook links point unless `runbookBaseUrl` says otherwise. */
export const DEFAULT_RUNBOOK_BASE_URL = 'docs/runbooks.md';

/** Options of {@link sloRuleGroups} / {@link generateSloRules}. */
export interface SloRulesOptions {
  /** The SLOs (the same specs given to `createObservability({ slos })`). */
  readonly slos: readonly SloSpec[];
  /** Service name: the `sloth_service` label; `sloth_id` is `<service>-<slo>`. Required. */
  readonly service: string;
  /** Extra matchers on every raw series, e.g. `[eq('job', 'support-agent')]`. @default [] */
  readonly selector?: readonly LabelMatcher[];
  /** Labels kept when aggregating over instances (e.g. `['cluster']`). @default [] (one series per SLO) */
  readonly by?: readonly string[];
  /** Bucket overrides, as given to `createObservability({ buckets })`. */
  readonly buckets?: Partial<Record<CatalogHistogramName, readonly number[]>>;
  /**
   * Low-traffic guard: an alert only fires when its long window saw at least this many
   * requests per second (summed over instances). 0 disables it; an SLO's
   * `alerting.minRequestRate` overrides it. @default 0.01
   */
  readonly minRequestRate?: number;
  /** Runbook links are `<runbookBaseUrl>#<alertname lower-cased>`. @default 'docs/runbooks.md' */
  readonly runbookBaseUrl?: string;
  /** Burn-rate window pairs, one alert rule each. @default MULTI_BURN_RATE_ALERTS */
  readonly alertWindows?: readonly BurnRateAlertWindow[];
}

/** The two rule files. */
export interface SloRuleGroups {
  readonly recording: readonly RuleGroup[];
  readonly alerts: readonly RuleGroup[];
}

interface Config {
  readonly service: string;
  readonly selector: readonly LabelMatcher[];
  readonly by: readonly string[];
  readonly minRequestRate: number;
  readonly runbookBaseUrl: string;
  readonly alertWindows: readonly BurnRateAlertWindow[];
  readonly sliWindows: readonly string[];
}

const OPS: readonly MatchOp[] = ['=', '!=', '=~', '!~'];

function windowText(v: unknown, path: string): string {
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined) throw new ConfigError(path, 'a Prometheus duration such as "5m"', v);
  return formatDuration(ms);
}

function config(o: SloRulesOptions): Config {
  if (typeof o.service !== 'string' || o.service.trim() === '') throw new ConfigError('service', 'a non-empty service name (the sloth_service label)', o.service);
  const selector = o.selector ?? [];
  if (!Array.isArray(selector)) throw new ConfigError('selector', 'an array of label matchers', selector);
  selector.forEach((m: LabelMatcher, i) => {
    assertLabelName(m?.label, `selector[${i}].label`);
    if (!OPS.includes(m.op)) throw new ConfigError(`selector[${i}].op`, `one of ${OPS.join(' ')}`, m.op);
    if (typeof m.value !== 'string') throw new ConfigError(`selector[${i}].value`, 'a string', m.value);
  });
  const by = o.by ?? [];
  if (!Array.isArray(by)) throw new ConfigError('by', 'an array of label names', by);
  by.forEach((l: unknown, i) => assertLabelName(l, `by[${i}]`));
  const minRequestRate = o.minRequestRate ?? 0.01;
  if (typeof minRequestRate !== 'number' || !(minRequestRate >= 0) || minRequestRate === Infinity) {
    throw new ConfigError('minRequestRate', 'a finite number of requests per second >= 0', minRequestRate);
  }
  const runbookBaseUrl = o.runbookBaseUrl ?? DEFAULT_RUNBOOK_BASE_URL;
  if (typeof runbookBaseUrl !== 'string' || runbookBaseUrl === '') throw new ConfigError('runbookBaseUrl', 'a URL', runbookBaseUrl);
  const alertWindows = (o.alertWindows ?? MULTI_BURN_RATE_ALERTS).map((w, i) => {
    const p = `alertWindows[${i}]`;
    if (!['critical', 'warning', 'info'].includes(w?.severity)) throw new ConfigError(`${p}.severity`, 'critical, warning or info', w?.severity);
    if (typeof w.burnFactor !== 'number' || !(w.burnFactor > 0) || w.burnFactor === Infinity) throw new ConfigError(`${p}.burnFactor`, 'a finite number > 0', w.burnFactor);
    const longWindow = windowText(w.longWindow, `${p}.longWindow`);
    const shortWindow = windowText(w.shortWindow, `${p}.shortWindow`);
    if ((parseDuration(shortWindow) as number) >= (parseDuration(longWindow) as number)) {
      throw new ConfigError(`${p}.shortWindow`, `a window shorter than longWindow (${longWindow})`, shortWindow);
    }
    return { severity: w.severity, burnFactor: w.burnFactor, longWindow, shortWindow };
  });
  const all = new Set([...SLI_WINDOWS, ...alertWindows.flatMap((w) => [w.longWindow, w.shortWindow])]);
  const sliWindows = [...all].sort((a, b) => (parseDuration(a) as number) - (parseDuration(b) as number));
  return { service: o.service, selector, by, minRequestRate, runbookBaseUrl, alertWindows, sliWindows };
}

function percent(objective: number): string {
  return String(Number((objective * 100).toPrecision(12)));
}

function sloGroups(s: ResolvedSlo, c: Config): { recording: RuleGroup[]; alerts: RuleGroup[] } {
  const id = `${c.service}-${s.name}`;
  const ids = { sloth_id: id, sloth_service: c.service, sloth_slo: s.name };
  const idMatch = [eq('sloth_id', id), eq('sloth_service', c.service), eq('sloth_slo', s.name)];
  const target = s.matchers.map((m) => eq(m.label, m.value));
  const total = (w: string): string => sum(rate(histogramSeries(s.metric, 'count', target, c.selector), w), c.by);
  const sli = (w: string): string => {
    if (s.latency === undefined) {
      return `${sum(rate(histogramSeries(s.metric, 'count', [...target, neq(s.errorLabel, '')], c.selector), w), c.by)}\n/\n${total(w)}`;
    }
    const fast = sum(rate(histogramSeries(s.metric, 'bucket', [...target, eq('le', formatLe(s.latency.threshold))], c.selector), w), c.by);
    return `(\n  ${total(w)}\n  -\n  ${fast}\n)\n/\n${total(w)}`;
  };
  const budget = `(1 - ${num(s.objective)})`;
  const join = `${on(['sloth_id', 'sloth_service', 'sloth_slo'])} group_left`;
  const sliRecord = SLO_RECORDS.sliError;

  const sliRules: RecordingRule[] = c.sliWindows.map((w) => ({ record: sliRecord(w), expr: sli(w), labels: { ...ids, sloth_window: w } }));
  const period = s.window.text;
  if (!c.sliWindows.includes(period)) {
    const base = recordedSeries(sliRecord(c.sliWindows[0] as string), idMatch);
    sliRules.push({
      record: sliRecord(period),
      expr: `sum_over_time(${base}[${period}])\n/ ignoring (sloth_window)\ncount_over_time(${base}[${period}])`,
      labels: { ...ids, sloth_window: period },
    });
  }
  const meta: RecordingRule[] = [
    { record: SLO_RECORDS.objective, expr: `vector(${num(s.objective)})`, labels: ids },
    { record: SLO_RECORDS.errorBudget, expr: `vector(1 - ${num(s.objective)})`, labels: ids },
    { record: SLO_RECORDS.timePeriod, expr: `vector(${num(s.window.ms / 86_400_000)})`, labels: ids },
    {
      record: SLO_RECORDS.currentBurnRate,
      expr: `${recordedSeries(sliRecord(c.sliWindows[0] as string), idMatch)}\n/ ${join}\n${recordedSeries(SLO_RECORDS.errorBudget, idMatch)}`,
      labels: ids,
    },
    {
      record: SLO_RECORDS.periodBurnRate,
      expr: `${recordedSeries(sliRecord(period), idMatch)}\n/ ${join}\n${recordedSeries(SLO_RECORDS.errorBudget, idMatch)}`,
      labels: ids,
    },
    { record: SLO_RECORDS.periodErrorBudgetRemaining, expr: `1 - ${recordedSeries(SLO_RECORDS.periodBurnRate, idMatch)}`, labels: ids },
    {
      record: SLO_RECORDS.info,
      expr: 'vector(1)',
      labels: { ...ids, sloth_mode: 'agent-observability', sloth_objective: percent(s.objective), sloth_spec: 'agent-observability/v1' },
    },
  ];

  const minRate = s.alerting.minRequestRate ?? c.minRequestRate;
  const guard = (w: string): string => (minRate > 0 ? `\nand ${on(c.by)}\n${total(w)} >= ${num(minRate)}` : '');
  const what = s.latency === undefined ? 'error ratio' : `ratio of calls slower than ${num(s.latency.threshold)}s`;
  const objectiveText = `${percent(s.objective)}% over ${period}`;
  const runbook = (alert: string): string => templateText(`${c.runbookBaseUrl}#${alert.toLowerCase()}`);
  const alerts: AlertingRule[] = c.alertWindows.map((p) => {
    const threshold = `(${num(p.burnFactor)} * ${budget})`;
    const cond = (w: string): string => `max(${recordedSeries(sliRecord(w), idMatch)} > ${threshold}) without (sloth_window)`;
    const exhaust = humanDuration(s.window.ms / p.burnFactor);
    return {
      alert: s.alerting.name,
      expr: `(\n  ${cond(p.shortWindow)}\n  and\n  ${cond(p.longWindow)}\n)${guard(p.longWindow)}`,
      labels: { ...ids, severity: p.severity, long_window: p.longWindow, short_window: p.shortWindow, burn_factor: num(p.burnFactor) },
      annotations: {
        summary: `SLO ${s.name} is burning its error budget at ${num(p.burnFactor)}x or more (${p.longWindow} and ${p.shortWindow} windows).`,
        description:
          `The ${what} of ${templateText(describeTarget(s.spec.target))} (service ${templateText(c.service)}) has burned the error budget of SLO ${s.name} ` +
          `(${objectiveText}) at ${num(p.burnFactor)}x or more over both the last ${p.longWindow} and ${p.shortWindow}; ` +
          `at this rate the whole budget is spent in ${exhaust}.`,
        runbook_url: runbook(s.alerting.name),
      },
    };
  });
  if (s.latency !== undefined) {
    const { percentile, threshold } = s.latency;
    const w = s.alerting.latencyWindow.text;
    const pq = `p${percent(percentile)}`;
    alerts.push({
      alert: s.alerting.latencyName,
      expr: `${histogramQuantile(percentile, s.metric, w, { match: target, extra: c.selector, by: c.by })} > ${num(threshold)}${guard(w)}`,
      for: s.alerting.latencyFor.text,
      labels: { ...ids, severity: 'warning', quantile: num(percentile) },
      annotations: {
        summary: `SLO ${s.name}: ${pq} latency is above ${num(threshold)}s.`,
        description:
          `The ${pq} latency of ${templateText(describeTarget(s.spec.target))} (service ${templateText(c.service)}), over ${w} windows, ` +
          `has stayed above the ${num(threshold)}s threshold of SLO ${s.name} for ${s.alerting.latencyFor.text}.`,
        runbook_url: runbook(s.alerting.latencyName),
      },
    });
  }
  return {
    recording: [
      { name: `agentobs-slo-sli-recordings-${s.name}`, rules: sliRules },
      { name: `agentobs-slo-meta-recordings-${s.name}`, rules: meta },
    ],
    alerts: [{ name: `agentobs-slo-alerts-${s.name}`, rules: alerts }],
  };
}

/**
 * The SLO rule groups, as data (post-process or merge them before rendering).
 * Throws {@link ConfigError} on bad options or specs, naming the path (`slos[1].latency.threshold`).
 */
export function sloRuleGroups(options: SloRulesOptions): SloRuleGroups {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an options object', options);
  const c = config(options);
  const overrides = new Map<string, readonly number[]>();
  if (options.buckets !== undefined) {
    for (const [name, b] of Object.entries(options.buckets)) overrides.set(name, validateBuckets(b, `buckets.${name}`));
  }
  const slos = resolveSlos(options.slos, 'slos', { buckets: (name) => overrides.get(name) });
  const recording: RuleGroup[] = [];
  const alerts: RuleGroup[] = [];
  for (const s of slos) {
    const g = sloGroups(s, c);
    recording.push(...g.recording);
    alerts.push(...g.alerts);
  }
  return { recording, alerts };
}

/** The banner every generated file starts with. */
export function generatedBanner(version: string = VERSION): string {
  return `Code generated by agent-observability ${version}. DO NOT EDIT.`;
}

/**
 * The SLO rules as two Prometheus rule files (YAML text): recording rules and alerts.
 *
 * @example
 * const { recording, alerts } = generateSloRules({ service: 'support-agent', slos, selector: [eq('job', 'support-agent')] });
 * writeFileSync('slo-recording.rules.yaml', recording);
 */
export function generateSloRules(options: SloRulesOptions & { readonly header?: string }): { readonly recording: string; readonly alerts: string } {
  const g = sloRuleGroups(options);
  const header = options.header ?? generatedBanner();
  return { recording: renderRuleFile(g.recording, { header }), alerts: renderRuleFile(g.alerts, { header }) };
}
