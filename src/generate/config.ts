/**
 * The generate config: what a user (or the repository, for the shipped defaults) hands to
 * the generators and the `agent-observability generate` CLI, like a mixin's `_config`.
 * Every key has a default; {@link resolveGenerateConfig} validates a parsed document
 * (TypeScript object, JSON or YAML) and throws one {@link ConfigError} naming the path.
 */
import { METRICS, type CatalogHistogramName } from '../catalog/metrics.js';
import { assertLabelName, validateBuckets } from '../catalog/naming.js';
import type { SloSpec } from '../catalog/slo-spec.js';
import { loadSlos, resolveSlos } from '../catalog/slo.js';
import { duration, object, onlyKeys, text } from '../catalog/slo-validate.js';
import { ConfigError } from '../errors.js';
import { MULTI_BURN_RATE_ALERTS, type BurnRateAlertWindow } from './prometheus/slo-rules.js';
import type { LabelMatcher } from './promql.js';
import { parseSelector } from './selector.js';

/** Alert thresholds. */
export interface AlertThresholds {
  /** Failed share of a tool's calls. @default 0.1 */
  readonly toolErrorRatio?: number;
  /** Failed share of calls to one model. @default 0.1 */
  readonly llmErrorRatio?: number;
  /** The latency quantile compared with the SLA thresholds below. @default 0.95 */
  readonly latencyQuantile?: number;
  /** Agent invocations: SLA on the quantile, seconds. @default 60 */
  readonly agentLatencySeconds?: number;
  /** Tool calls: SLA on the quantile, seconds. @default 10 */
  readonly toolLatencySeconds?: number;
  /** LLM calls: SLA on the quantile, seconds. @default 30 */
  readonly llmLatencySeconds?: number;
  /** Provider 429s per second (per model) above which throttling alerts. @default 0.1 */
  readonly throttledPerSecond?: number;
  /** Share of a provider rate limit in use. @default 0.9 */
  readonly rateLimitUtilization?: number;
  /** Active calls over concurrency of a pool, averaged over `rateInterval`. @default 0.9 */
  readonly poolUtilization?: number;
  /** p99 event-loop delay averaged over `rateInterval`, seconds. @default 0.5 */
  readonly eventLoopLagSeconds?: number;
}

/** How long each condition must hold before its alert fires (Prometheus durations). */
export interface AlertForDurations {
  /** @default '5m' */
  readonly errorRatio?: string;
  /** @default '10m' */
  readonly latency?: string;
  /** @default '1m' */
  readonly breakerOpen?: string;
  /** @default '10m' */
  readonly poolSaturated?: string;
  /** @default '5m' */
  readonly rateLimit?: string;
  /** @default '5m' */
  readonly throttled?: string;
  /** @default '5m' */
  readonly eventLoop?: string;
  /** @default '5m' */
  readonly targetDown?: string;
  /** @default '10m' */
  readonly metricsAbsent?: string;
  /** @default '10m' */
  readonly internalErrors?: string;
  /** @default '15m' */
  readonly labelOverflow?: string;
}

/** What the generators take. Every key is optional. */
export interface GenerateConfig {
  /**
   * PromQL label matchers added to every raw series in rules and dashboards, as in a mixin
   * config, e.g. `job="support-agent"` or `namespace=~"prod|staging"`. @default '' (every job)
   */
  readonly selector?: string;
  /** Target labels kept when alerts and SLIs aggregate over instances (`cluster`, `namespace`). @default [] */
  readonly groupBy?: readonly string[];
  /** Rate window of alert expressions (dashboards use Grafana's `$__rate_interval`). @default '5m' */
  readonly rateInterval?: string;
  /** Service name: the `sloth_service` label of SLO rules. @default 'agent' */
  readonly service?: string;
  /** SLOs for burn-rate rules and the SLO dashboard (the specs `createObservability({ slos })` takes). @default [] */
  readonly slos?: readonly SloSpec[];
  /** Runbook link of every alert; `{alert}` becomes the lower-cased alert name. @default 'docs/runbooks.md#{alert}' */
  readonly runbookUrl?: string;
  /** Tags of every dashboard (also used for the dashboards' cross-links). @default ['agent-observability'] */
  readonly dashboardTags?: readonly string[];
  /** Dashboard uids are `<prefix>-<name>`. @default 'agentobs' */
  readonly dashboardUidPrefix?: string;
  /** Dashboard auto-refresh. @default '30s' */
  readonly dashboardRefresh?: string;
  /** Default time range start, e.g. `now-1h`. @default 'now-1h' */
  readonly dashboardTimeFrom?: string;
  /** Ratio and latency alerts only fire above this many calls per second (summed over instances). @default 0.01 */
  readonly minRequestRate?: number;
  readonly thresholds?: AlertThresholds;
  readonly for?: AlertForDurations;
  /** SLO burn-rate window pairs. @default MULTI_BURN_RATE_ALERTS (14.4x 1h/5m, 6x 6h/30m, 3x 1d/2h, 1x 3d/6h) */
  readonly burnRateWindows?: readonly BurnRateAlertWindow[];
  /** Bucket overrides, as given to `createObservability({ buckets })` (SLO latency thresholds must be boundaries). */
  readonly buckets?: Partial<Record<CatalogHistogramName, readonly number[]>>;
}

/** A validated config with every default applied. */
export interface ResolvedGenerateConfig {
  readonly selectorText: string;
  readonly selector: readonly LabelMatcher[];
  readonly groupBy: readonly string[];
  readonly rateInterval: string;
  readonly service: string;
  readonly slos: readonly SloSpec[];
  readonly runbookUrl: string;
  readonly dashboardTags: readonly string[];
  readonly dashboardUidPrefix: string;
  readonly dashboardRefresh: string;
  readonly dashboardTimeFrom: string;
  readonly minRequestRate: number;
  readonly thresholds: Required<AlertThresholds>;
  readonly for: Required<AlertForDurations>;
  readonly burnRateWindows: readonly BurnRateAlertWindow[];
  readonly buckets: Partial<Record<CatalogHistogramName, readonly number[]>>;
}

/** The defaults of every key (the shipped `dashboards/` and `alerts/` use these plus the example SLOs). */
export const GENERATE_DEFAULTS = Object.freeze({
  selector: '',
  groupBy: Object.freeze([]) as readonly string[],
  rateInterval: '5m',
  service: 'agent',
  runbookUrl: 'docs/runbooks.md#{alert}',
  dashboardTags: Object.freeze(['agent-observability']) as readonly string[],
  dashboardUidPrefix: 'agentobs',
  dashboardRefresh: '30s',
  dashboardTimeFrom: 'now-1h',
  minRequestRate: 0.01,
  thresholds: Object.freeze({
    toolErrorRatio: 0.1,
    llmErrorRatio: 0.1,
    latencyQuantile: 0.95,
    agentLatencySeconds: 60,
    toolLatencySeconds: 10,
    llmLatencySeconds: 30,
    throttledPerSecond: 0.1,
    rateLimitUtilization: 0.9,
    poolUtilization: 0.9,
    eventLoopLagSeconds: 0.5,
  }) satisfies Required<AlertThresholds>,
  for: Object.freeze({
    errorRatio: '5m',
    latency: '10m',
    breakerOpen: '1m',
    poolSaturated: '10m',
    rateLimit: '5m',
    throttled: '5m',
    eventLoop: '5m',
    targetDown: '5m',
    metricsAbsent: '10m',
    internalErrors: '10m',
    labelOverflow: '15m',
  }) satisfies Required<AlertForDurations>,
});

const KEYS = [
  'selector', 'groupBy', 'rateInterval', 'service', 'slos', 'runbookUrl', 'dashboardTags', 'dashboardUidPrefix', 'dashboardRefresh',
  'dashboardTimeFrom', 'minRequestRate', 'thresholds', 'for', 'burnRateWindows', 'buckets', '$schema',
];
/** Thresholds that are shares in (0, 1]. */
const RATIO_THRESHOLDS = ['toolErrorRatio', 'llmErrorRatio', 'rateLimitUtilization', 'poolUtilization'] as const;
const HISTOGRAMS: readonly string[] = METRICS.filter((m) => m.type === 'histogram').map((m) => m.name);
const UID_PREFIX = /^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$/;
const TAG = /^[^\s"\\][^"\\]{0,49}$/;

function share(v: unknown, path: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v > 0 && v <= 1)) throw new ConfigError(path, 'a number in (0, 1] (0.1 = 10 %)', v);
  return v;
}

function positiveNumber(v: unknown, path: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v > 0) || v === Infinity) throw new ConfigError(path, 'a finite number > 0', v);
  return v;
}

function stringList(v: unknown, path: string, fallback: readonly string[], check: (s: string, p: string) => void): readonly string[] {
  if (v === undefined) return fallback;
  if (!Array.isArray(v)) throw new ConfigError(path, 'an array of strings', v);
  // Index loops here and below: map/forEach skip the holes of a sparse array, which are rejected as undefined.
  const out: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const s: unknown = v[i];
    if (typeof s !== 'string') throw new ConfigError(`${path}[${i}]`, 'a string', s);
    check(s, `${path}[${i}]`);
    out.push(s);
  }
  return Object.freeze(out);
}

function burnWindows(v: unknown, path: string): readonly BurnRateAlertWindow[] {
  if (v === undefined) return MULTI_BURN_RATE_ALERTS;
  if (!Array.isArray(v) || v.length === 0) throw new ConfigError(path, 'a non-empty array of { severity, burnFactor, longWindow, shortWindow }', v);
  const out: BurnRateAlertWindow[] = [];
  for (let i = 0; i < v.length; i++) {
    const p = `${path}[${i}]`;
    const o = object(v[i], p);
    onlyKeys(o, ['severity', 'burnFactor', 'longWindow', 'shortWindow'], p);
    if (o.severity !== 'critical' && o.severity !== 'warning' && o.severity !== 'info') throw new ConfigError(`${p}.severity`, 'critical, warning or info', o.severity);
    const longWindow = duration(o.longWindow, `${p}.longWindow`, '');
    const shortWindow = duration(o.shortWindow, `${p}.shortWindow`, '');
    if (shortWindow.ms >= longWindow.ms) throw new ConfigError(`${p}.shortWindow`, `a window shorter than longWindow (${longWindow.text})`, shortWindow.text);
    out.push(Object.freeze({
      severity: o.severity,
      burnFactor: positiveNumber(o.burnFactor ?? null, `${p}.burnFactor`, 1),
      longWindow: longWindow.text,
      shortWindow: shortWindow.text,
    }));
  }
  return Object.freeze(out);
}

/**
 * Validates a config (a TypeScript object, or parsed JSON/YAML) and applies the defaults.
 * Throws {@link ConfigError} naming the path, e.g. `thresholds.toolErrorRatio` or `slos[1].objective`.
 *
 * @example
 * const config = resolveGenerateConfig({ selector: 'job="support-agent"', slos: [answerLatency] });
 */
export function resolveGenerateConfig(raw: GenerateConfig | unknown = {}): ResolvedGenerateConfig {
  const o = object(raw ?? {}, 'config');
  onlyKeys(o, KEYS, 'config');
  const selectorText = o.selector === undefined ? GENERATE_DEFAULTS.selector : (parseSelector(o.selector, 'selector'), (o.selector as string).trim());
  const selector = parseSelector(selectorText, 'selector');
  const groupBy = stringList(o.groupBy, 'groupBy', GENERATE_DEFAULTS.groupBy, (s, p) => assertLabelName(s, p));
  for (const [i, l] of groupBy.entries()) {
    if (l === 'job' || l === 'instance' || l === 'le') throw new ConfigError(`groupBy[${i}]`, 'a label other than job, instance and le (those are handled already)', l);
  }
  const rateInterval = duration(o.rateInterval, 'rateInterval', GENERATE_DEFAULTS.rateInterval).text;
  const service = o.service === undefined ? GENERATE_DEFAULTS.service : text(o.service, 'service');
  const slos = o.slos === undefined ? [] : loadSlos(o.slos);
  const runbookUrl = o.runbookUrl === undefined ? GENERATE_DEFAULTS.runbookUrl : text(o.runbookUrl, 'runbookUrl');
  if (!runbookUrl.includes('{alert}')) throw new ConfigError('runbookUrl', 'a URL pattern containing {alert} (the lower-cased alert name)', runbookUrl);
  const dashboardTags = stringList(o.dashboardTags, 'dashboardTags', GENERATE_DEFAULTS.dashboardTags, (s, p) => {
    if (!TAG.test(s)) throw new ConfigError(p, 'a tag of 1-50 characters without quotes or backslashes', s);
  });
  if (dashboardTags.length === 0) throw new ConfigError('dashboardTags', 'at least one tag (the dashboards link to each other by tag)', []);
  const dashboardUidPrefix = o.dashboardUidPrefix === undefined ? GENERATE_DEFAULTS.dashboardUidPrefix : text(o.dashboardUidPrefix, 'dashboardUidPrefix');
  if (!UID_PREFIX.test(dashboardUidPrefix)) throw new ConfigError('dashboardUidPrefix', 'letters, digits, "-" or "_", at most 20 (uids are capped at 40 characters)', dashboardUidPrefix);
  const dashboardRefresh = duration(o.dashboardRefresh, 'dashboardRefresh', GENERATE_DEFAULTS.dashboardRefresh).text;
  const dashboardTimeFrom = o.dashboardTimeFrom === undefined ? GENERATE_DEFAULTS.dashboardTimeFrom : text(o.dashboardTimeFrom, 'dashboardTimeFrom');
  if (!/^now-\d+[smhdwy]$/.test(dashboardTimeFrom)) throw new ConfigError('dashboardTimeFrom', 'a relative time such as "now-1h"', dashboardTimeFrom);
  let minRequestRate: number = GENERATE_DEFAULTS.minRequestRate;
  if (o.minRequestRate !== undefined) {
    if (typeof o.minRequestRate !== 'number' || !(o.minRequestRate >= 0) || o.minRequestRate === Infinity) {
      throw new ConfigError('minRequestRate', 'a finite number of calls per second >= 0', o.minRequestRate);
    }
    minRequestRate = o.minRequestRate;
  }

  const t = o.thresholds === undefined ? {} : object(o.thresholds, 'thresholds');
  onlyKeys(t, Object.keys(GENERATE_DEFAULTS.thresholds), 'thresholds');
  const d = GENERATE_DEFAULTS.thresholds;
  const thresholds: Required<AlertThresholds> = {
    ...Object.fromEntries(RATIO_THRESHOLDS.map((k) => [k, share(t[k], `thresholds.${k}`, d[k])])),
    latencyQuantile: share(t.latencyQuantile, 'thresholds.latencyQuantile', d.latencyQuantile),
    agentLatencySeconds: positiveNumber(t.agentLatencySeconds, 'thresholds.agentLatencySeconds', d.agentLatencySeconds),
    toolLatencySeconds: positiveNumber(t.toolLatencySeconds, 'thresholds.toolLatencySeconds', d.toolLatencySeconds),
    llmLatencySeconds: positiveNumber(t.llmLatencySeconds, 'thresholds.llmLatencySeconds', d.llmLatencySeconds),
    throttledPerSecond: positiveNumber(t.throttledPerSecond, 'thresholds.throttledPerSecond', d.throttledPerSecond),
    eventLoopLagSeconds: positiveNumber(t.eventLoopLagSeconds, 'thresholds.eventLoopLagSeconds', d.eventLoopLagSeconds),
  } as Required<AlertThresholds>;
  if (thresholds.latencyQuantile === 1) throw new ConfigError('thresholds.latencyQuantile', 'a quantile below 1', 1);

  const f = o.for === undefined ? {} : object(o.for, 'for');
  onlyKeys(f, Object.keys(GENERATE_DEFAULTS.for), 'for');
  const forDurations = Object.fromEntries(
    Object.entries(GENERATE_DEFAULTS.for).map(([k, v]) => [k, duration(f[k], `for.${k}`, v).text]),
  ) as Required<AlertForDurations>;

  const buckets: Partial<Record<CatalogHistogramName, readonly number[]>> = {};
  if (o.buckets !== undefined) {
    for (const [name, b] of Object.entries(object(o.buckets, 'buckets'))) {
      if (!HISTOGRAMS.includes(name)) throw new ConfigError(`buckets.${name}`, `a catalog histogram (${HISTOGRAMS.join(', ')})`, name);
      (buckets as Record<string, readonly number[]>)[name] = validateBuckets(b, `buckets.${name}`);
    }
  }
  // What loadSlos cannot check without the buckets (a latency threshold must be a bucket bound),
  // checked here too, so that a config that resolves also generates.
  resolveSlos(slos, 'slos', { buckets: (name) => (buckets as Record<string, readonly number[] | undefined>)[name] });

  return Object.freeze({
    selectorText,
    selector,
    groupBy,
    rateInterval,
    service,
    slos: Object.freeze(slos),
    runbookUrl,
    dashboardTags,
    dashboardUidPrefix,
    dashboardRefresh,
    dashboardTimeFrom,
    minRequestRate,
    thresholds: Object.freeze(thresholds),
    for: Object.freeze(forDurations),
    burnRateWindows: burnWindows(o.burnRateWindows, 'burnRateWindows'),
    buckets: Object.freeze(buckets),
  });
}

/** The runbook link of `alert` under `config`. */
export function runbookUrl(config: Pick<ResolvedGenerateConfig, 'runbookUrl'>, alert: string): string {
  return config.runbookUrl.replaceAll('{alert}', alert.toLowerCase());
}
