/**
 * Prometheus naming rules, applied when the catalog loads and to every user-supplied
 * name. Pure functions; no prom-client import (the catalog is data only).
 */
import { ConfigError } from '../errors.js';

/** Base units we allow in metric names (Prometheus best practice: base units only). */
export const BASE_UNITS = ['seconds', 'bytes', 'ratio'] as const;
export type BaseUnit = (typeof BASE_UNITS)[number];
/** `''` marks a dimensionless quantity (a count of calls, tokens, handles…). */
export type Unit = BaseUnit | '';

const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Non-base units that must never appear as a name suffix. */
const FORBIDDEN_UNIT_SUFFIXES = [
  'milliseconds', 'microseconds', 'nanoseconds', 'ms', 'us', 'ns', 'minutes', 'hours', 'days',
  'kilobytes', 'megabytes', 'gigabytes', 'kb', 'mb', 'gb', 'bits', 'percent', 'pct',
];
const RESERVED_HISTOGRAM_LABELS = new Set(['le']);

/** Throws a {@link ConfigError} unless `name` is a valid Prometheus metric name (no colons: those are for recording rules). */
export function assertMetricName(name: unknown, path: string): asserts name is string {
  if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
    throw new ConfigError(path, 'a metric name matching [a-zA-Z_][a-zA-Z0-9_]*', name);
  }
  if (name.startsWith('__')) throw new ConfigError(path, 'a metric name not starting with "__"', name);
}

/** Throws a {@link ConfigError} unless `name` is a valid, non-reserved Prometheus label name. */
export function assertLabelName(name: unknown, path: string): asserts name is string {
  if (typeof name !== 'string' || !LABEL_NAME.test(name)) {
    throw new ConfigError(path, 'a label name matching [a-zA-Z_][a-zA-Z0-9_]*', name);
  }
  if (name.startsWith('__')) throw new ConfigError(path, 'a label name not starting with "__" (reserved)', name);
}

/** Kinds of metric the catalog knows. Histograms, never summaries: they aggregate across replicas. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** The shape every catalog entry is checked against. */
export interface MetricShape {
  readonly name: string;
  readonly type: MetricType;
  readonly unit: Unit;
  readonly help: string;
  readonly labels: readonly string[];
  readonly buckets?: readonly number[] | undefined;
}

/**
 * Checks an entry against Prometheus conventions: valid names, counters end in `_total`,
 * a unit suffix when there is a unit and none of the non-base units, unique label names,
 * and valid buckets for histograms. Returns the problems found (empty when fine).
 */
export function namingProblems(m: MetricShape): string[] {
  const problems: string[] = [];
  if (!METRIC_NAME.test(m.name) || m.name.startsWith('__')) problems.push(`invalid metric name ${JSON.stringify(m.name)}`);
  const stem = m.type === 'counter' ? m.name.replace(/_total$/, '') : m.name;
  if (m.type === 'counter' && !m.name.endsWith('_total')) problems.push('counter name must end in _total');
  if (m.type !== 'counter' && m.name.endsWith('_total')) problems.push('only counters end in _total');
  if (m.unit !== '' && !stem.endsWith(`_${m.unit}`)) problems.push(`name must end in _${m.unit}${m.type === 'counter' ? '_total' : ''}`);
  if (m.unit === '') {
    for (const u of BASE_UNITS) if (stem.endsWith(`_${u}`)) problems.push(`name ends in _${u} but unit is ''`);
  }
  for (const bad of FORBIDDEN_UNIT_SUFFIXES) if (stem.endsWith(`_${bad}`)) problems.push(`non-base unit suffix _${bad}`);
  if (m.help.trim() === '') problems.push('help must not be empty');
  const seen = new Set<string>();
  for (const l of m.labels) {
    if (!LABEL_NAME.test(l) || l.startsWith('__')) problems.push(`invalid label name ${JSON.stringify(l)}`);
    if (seen.has(l)) problems.push(`duplicate label ${l}`);
    seen.add(l);
    if (m.type === 'histogram' && RESERVED_HISTOGRAM_LABELS.has(l)) problems.push(`label ${l} is reserved in histograms`);
  }
  if (m.type === 'histogram') {
    if (m.buckets === undefined) problems.push('histogram needs buckets');
    else {
      try {
        validateBuckets(m.buckets, 'buckets');
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
  } else if (m.buckets !== undefined) problems.push('only histograms have buckets');
  return problems;
}

/**
 * Validates histogram bucket upper bounds: a non-empty array of finite, non-negative,
 * strictly increasing numbers (`+Inf` is implicit). Returns a frozen copy.
 */
export function validateBuckets(buckets: unknown, path: string): readonly number[] {
  if (!Array.isArray(buckets) || buckets.length === 0) throw new ConfigError(path, 'a non-empty array of bucket upper bounds', buckets);
  let prev = -Infinity;
  // An index loop: forEach skips the holes of a sparse array, which are rejected as undefined here.
  for (let i = 0; i < buckets.length; i++) {
    const b: unknown = buckets[i];
    if (typeof b !== 'number' || !Number.isFinite(b)) throw new ConfigError(`${path}[${i}]`, 'a finite number (+Inf is implicit)', b);
    if (b < 0) throw new ConfigError(`${path}[${i}]`, 'a non-negative bucket bound', b);
    if (b <= prev) throw new ConfigError(`${path}[${i}]`, `a bound greater than the previous one (${prev})`, b);
    prev = b;
  }
  return Object.freeze([...(buckets as number[])]);
}

/** `start, start*factor, …` (count values), rounded to 12 significant digits so 0.01*2^k prints cleanly. */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  const out: number[] = [];
  let v = start;
  for (let i = 0; i < count; i++) {
    out.push(Number(v.toPrecision(12)));
    v *= factor;
  }
  return out;
}
