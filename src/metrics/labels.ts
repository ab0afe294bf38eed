/**
 * Label values are policy, not free text: every value is sanitized (control characters,
 * bidi overrides and lone surrogates replaced, length capped) and passes a per-metric,
 * per-label cardinality cap; overflow folds into `_OTHER`. Both are counted, never thrown.
 * All of this runs when a series is bound, never per observation.
 */

/** The value that stands for every label value past the cap or outside an allow-list. */
export const OTHER = '_OTHER';

// C0/C1 controls, line/paragraph separators, bidi embeddings/overrides/isolates, lone surrogates.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Makes a label value safe to expose: unsafe characters become `_`, and values longer
 * than `maxLength` UTF-16 units are cut (never inside a surrogate pair). Returns the
 * input itself when nothing had to change, so callers can detect rewrites by identity.
 */
export function sanitizeLabelValue(raw: string, maxLength: number): string {
  let v = raw;
  if (v.length > maxLength) {
    v = v.slice(0, maxLength);
    const last = v.charCodeAt(v.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) v = v.slice(0, -1);
  }
  UNSAFE.lastIndex = 0;
  if (UNSAFE.test(v)) v = v.replace(UNSAFE, '_');
  return v;
}

/**
 * Injective key for a tuple of label values: length-prefixed, so no choice of values can
 * make two different tuples collide (prom-client's separator-joined keys can). `prefix`
 * (a fixed tag, e.g. the handle kind) goes in front.
 */
export function labelKey(values: readonly string[], prefix = ''): string {
  // Joined, not concatenated: keys are kept (maps of series and handles), and `+=` leaves ropes.
  const parts = new Array<string>(values.length + 1);
  parts[0] = prefix;
  for (let i = 0; i < values.length; i++) parts[i + 1] = `${(values[i] as string).length}:${values[i]}`;
  return parts.join('');
}

/** Escapes a label value for both exposition formats. */
export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** Counts what the policy had to rewrite; wired to the self-metrics by the root handle. */
export interface LabelPolicyHooks {
  overflow(metric: string, label: string): void;
  sanitized(metric: string, label: string): void;
}

/** Resolved cardinality settings (defaults applied, validated by the root handle). */
export interface LabelPolicySettings {
  readonly maxValuesPerLabel: number;
  readonly maxValueLength: number;
  readonly maxSeriesPerMetric: number;
  /** Allow-lists by label name: any other value becomes `_OTHER`. */
  readonly allow: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Per-metric guard: one admitted-value set per label. */
export class LabelGuard {
  /** Admitted values per label, each mapped to its first instance: series share one copy of a value. */
  private readonly seen: Map<string, string>[];
  /** Bound series holding each admitted value: at 0 the value is forgotten and its slot is free again. */
  private readonly refs: Map<string, number>[];
  private readonly allow: (ReadonlySet<string> | undefined)[];

  constructor(
    private readonly metric: string,
    private readonly labels: readonly string[],
    private readonly settings: LabelPolicySettings,
    private readonly hooks: LabelPolicyHooks,
  ) {
    this.seen = labels.map(() => new Map<string, string>());
    this.refs = labels.map(() => new Map<string, number>());
    this.allow = labels.map((l) => settings.allow.get(l));
  }

  /** Sanitizes and caps one label value. `''` and `_OTHER` are always admitted and never counted. */
  resolve(index: number, raw: string): string {
    const label = this.labels[index] as string;
    let v = typeof raw === 'string' ? raw : String(raw);
    if (v === '' || v === OTHER) return v;
    const clean = sanitizeLabelValue(v, this.settings.maxValueLength);
    if (clean !== v) {
      this.hooks.sanitized(this.metric, label);
      v = clean;
    }
    const allow = this.allow[index];
    if (allow !== undefined) {
      if (allow.has(v)) return v;
      this.hooks.overflow(this.metric, label);
      return OTHER;
    }
    const seen = this.seen[index] as Map<string, string>;
    const admitted = seen.get(v);
    if (admitted !== undefined) return admitted;
    if (seen.size >= this.settings.maxValuesPerLabel) {
      this.hooks.overflow(this.metric, label);
      return OTHER;
    }
    seen.set(v, v);
    return v;
  }

  /** The admitted instance of `value` for one label, or `value` itself when none is admitted. */
  intern(index: number, value: string): string {
    return this.seen[index]?.get(value) ?? value;
  }

  /** A new series was bound to these resolved values. */
  retain(values: readonly string[]): void {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as string;
      if (v === '' || v === OTHER || this.allow[i] !== undefined) continue;
      const refs = this.refs[i] as Map<string, number>;
      refs.set(v, (refs.get(v) ?? 0) + 1);
    }
  }

  /**
   * A series bound to these values was removed. A value no series holds any more leaves the
   * admitted set, so services that create and dispose breakers or pools per tenant get the
   * slot back instead of folding every later name into `_OTHER`.
   */
  release(values: readonly string[]): void {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as string;
      const refs = this.refs[i] as Map<string, number>;
      const n = refs.get(v);
      if (n === undefined) continue;
      if (n > 1) {
        refs.set(v, n - 1);
      } else {
        refs.delete(v);
        this.seen[i]?.delete(v);
      }
    }
  }

  /** Forgets admitted values (used when a metric's series are removed). */
  clear(): void {
    for (const s of this.seen) s.clear();
    for (const r of this.refs) r.clear();
  }
}
