/**
 * Test helper: parses and validates Prometheus text 0.0.4 and OpenMetrics 1.0 expositions.
 * Dependency-free, so unit and integration tests (and anything scraping a real endpoint)
 * can share it.
 *
 *   const exp = parseExposition(body, 'openmetrics'); // throws ExpositionError when malformed
 *   getValue(exp, 'agentobs_build_info', { version: '0.1.0' }) // 1
 *   getHistogram(exp, 'gen_ai_execute_tool_duration_seconds', { ... }) // { buckets, sum, count }
 *
 * Structure checked (on top of line syntax): label values use only the `\\`, `\"`, `\n`
 * escapes; no raw control characters or lone surrogates anywhere; metadata precedes its
 * family's samples and appears once; a family's samples are contiguous; no duplicate series;
 * histograms have strictly increasing `le` ending in `+Inf`, cumulative non-decreasing
 * counts, and `+Inf` bucket == `_count`; OpenMetrics ends with `# EOF`, has no other
 * comments or blank lines, counter families are named without `_total` and sampled with it,
 * `# UNIT` matches the name suffix, and exemplars sit only on `_total`/`_bucket` samples.
 */

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export interface Exemplar {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestamp?: number;
}

export interface Sample {
  /** Sample name as written (`x_bucket`, `x_total`, …). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestamp?: number;
  /** OpenMetrics only. */
  readonly exemplar?: Exemplar;
  /** Name of the metric family the sample belongs to. */
  readonly family: string;
  /** 1-based line number in the input. */
  readonly line: number;
}

export interface MetricFamily {
  readonly name: string;
  /** From `# TYPE`; `untyped` (text) or `unknown` (OpenMetrics) when absent. */
  readonly type: string;
  /** Unescaped `# HELP` text, if any. */
  readonly help?: string;
  /** `# UNIT` (OpenMetrics only), if any. */
  readonly unit?: string;
  readonly samples: readonly Sample[];
}

export interface ParsedExposition {
  readonly format: ExpositionFormat;
  readonly samples: readonly Sample[];
  /** Families by name, in order of first appearance. */
  readonly families: ReadonlyMap<string, MetricFamily>;
}

export interface HistogramView {
  /** Cumulative buckets in exposition order; the last `le` is `Infinity`. */
  readonly buckets: readonly { readonly le: number; readonly count: number; readonly exemplar?: Exemplar }[];
  readonly sum: number;
  readonly count: number;
}

/** Thrown by {@link parseExposition}; `problems` lists every violation found, with line numbers. */
export class ExpositionError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid exposition:\n  ${problems.slice(0, 20).join('\n  ')}${problems.length > 20 ? `\n  … and ${problems.length - 20} more` : ''}`);
    this.name = 'ExpositionError';
  }
}

/** Parses and validates; throws {@link ExpositionError} listing every problem. */
export function parseExposition(text: string, format: ExpositionFormat): ParsedExposition {
  const { parsed, problems } = parse(text, format);
  if (problems.length > 0) throw new ExpositionError(problems);
  return parsed;
}

/** Every structural problem of `text` (empty when valid); never throws. */
export function expositionProblems(text: string, format: ExpositionFormat): string[] {
  return parse(text, format).problems;
}

// ── queries ────────────────────────────────────────────────────────────────────────────

/** Samples named `name` whose labels include every pair of `match`. */
export function findSamples(exp: ParsedExposition, name: string, match: Readonly<Record<string, string>> = {}): Sample[] {
  return exp.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** Value of the one sample named `name` with exactly `labels`; throws (listing what exists) when absent. */
export function getValue(exp: ParsedExposition, name: string, labels: Readonly<Record<string, string>> = {}): number {
  return getSample(exp, name, labels).value;
}

/** The one sample named `name` with exactly `labels`; throws when absent. */
export function getSample(exp: ParsedExposition, name: string, labels: Readonly<Record<string, string>> = {}): Sample {
  const want = labelSetKey(labels);
  const hit = exp.samples.find((s) => s.name === name && labelSetKey(s.labels) === want);
  if (hit === undefined) {
    const have = exp.samples.filter((s) => s.name === name).map((s) => `${name}${showLabels(s.labels)}`);
    throw new Error(`no sample ${name}${showLabels(labels)}; have ${have.length === 0 ? 'none' : have.slice(0, 10).join(', ')}`);
  }
  return hit;
}

/** Sum of the values of {@link findSamples}. */
export function sumValues(exp: ParsedExposition, name: string, match: Readonly<Record<string, string>> = {}): number {
  return findSamples(exp, name, match).reduce((a, s) => a + s.value, 0);
}

/** Distinct values of `label` over samples named `name`. */
export function labelValues(exp: ParsedExposition, name: string, label: string): Set<string> {
  const out = new Set<string>();
  for (const s of exp.samples) if (s.name === name && label in s.labels) out.add(s.labels[label] as string);
  return out;
}

/** The histogram series of family `name` with exactly `labels` (without `le`); throws when absent. */
export function getHistogram(exp: ParsedExposition, name: string, labels: Readonly<Record<string, string>> = {}): HistogramView {
  const want = labelSetKey(labels);
  const buckets: { le: number; count: number; exemplar?: Exemplar }[] = [];
  for (const s of exp.samples) {
    if (s.name !== `${name}_bucket`) continue;
    const { le, ...rest } = s.labels;
    if (labelSetKey(rest) !== want || le === undefined) continue;
    buckets.push(s.exemplar === undefined ? { le: parseNumber(le) as number, count: s.value } : { le: parseNumber(le) as number, count: s.value, exemplar: s.exemplar });
  }
  if (buckets.length === 0) throw new Error(`no histogram ${name}${showLabels(labels)}`);
  return { buckets, sum: getValue(exp, `${name}_sum`, labels), count: getValue(exp, `${name}_count`, labels) };
}

/** Canonical key of a label set (order-independent). */
export function labelSetKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

function showLabels(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

// ── parser ─────────────────────────────────────────────────────────────────────────────

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INT = /^-?\d+$/;
// Raw control characters other than LF (tab is tolerated as a separator in text only), and lone surrogates.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_OM = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_TEXT = /[\u0000-\u0008\u000a-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const TYPES: Record<ExpositionFormat, ReadonlySet<string>> = {
  prometheus: new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']),
  openmetrics: new Set(['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown']),
};

function suffixes(type: string, format: ExpositionFormat): readonly string[] {
  const om = format === 'openmetrics';
  switch (type) {
    case 'counter':
      return om ? ['_total', '_created'] : [''];
    case 'histogram':
      return om ? ['_bucket', '_sum', '_count', '_created'] : ['_bucket', '_sum', '_count'];
    case 'gaugehistogram':
      return ['_bucket', '_gsum', '_gcount'];
    case 'summary':
      return om ? ['', '_sum', '_count', '_created'] : ['', '_sum', '_count'];
    case 'info':
      return ['_info'];
    default:
      return [''];
  }
}

/** Parses a number as both formats write it (`+Inf`, `-Inf`, `NaN`, Go-style floats). */
export function parseNumber(tok: string): number | undefined {
  if (FLOAT.test(tok)) return Number(tok);
  const t = tok.toLowerCase();
  if (t === '+inf' || t === 'inf' || t === '+infinity' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  if (t === 'nan') return NaN;
  return undefined;
}

interface MutableFamily {
  name: string;
  type: string;
  typeSet: boolean;
  help?: string;
  unit?: string;
  samples: Sample[];
}

interface Cursor {
  readonly s: string;
  i: number;
}

/** Reads `{a="b",…}` starting at `{`; returns the labels or an error message. */
function readLabels(c: Cursor, format: ExpositionFormat, what: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  c.i++; // '{'
  let afterComma = false;
  for (;;) {
    if (c.s[c.i] === '}') {
      if (afterComma && format === 'openmetrics') return `${what}: trailing comma before "}"`;
      c.i++;
      return labels;
    }
    const m = LABEL_NAME.exec(c.s.slice(c.i));
    if (m === null) return `${what}: expected a label name at column ${c.i + 1}`;
    const name = m[0];
    c.i += name.length;
    if (c.s[c.i] !== '=') return `${what}: expected "=" after label ${name}`;
    c.i++;
    if (c.s[c.i] !== '"') return `${what}: expected '"' to open the value of label ${name}`;
    c.i++;
    let value = '';
    for (;;) {
      const ch = c.s[c.i];
      if (ch === undefined) return `${what}: unterminated value of label ${name}`;
      if (ch === '"') {
        c.i++;
        break;
      }
      if (ch === '\\') {
        const next = c.s[c.i + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else return `${what}: invalid escape "\\${next ?? ''}" in the value of label ${name}`;
        c.i += 2;
        continue;
      }
      value += ch;
      c.i++;
    }
    if (Object.prototype.hasOwnProperty.call(labels, name)) return `${what}: duplicate label ${name}`;
    Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
    if (c.s[c.i] === ',') {
      c.i++;
      afterComma = true;
      continue;
    }
    if (c.s[c.i] !== '}') return `${what}: expected "," or "}" after the value of label ${name}`;
    afterComma = false;
  }
}

function unescapeHelp(raw: string, format: ExpositionFormat): string | undefined {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] as string;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = raw[i + 1];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === '"' && format === 'openmetrics') out += '"';
    else if (format === 'prometheus') out += `\\${next ?? ''}`; // text: other backslashes are literal
    else return undefined;
    i++;
  }
  return out;
}

function parse(text: string, format: ExpositionFormat): { parsed: ParsedExposition; problems: string[] } {
  const om = format === 'openmetrics';
  const problems: string[] = [];
  const problem = (line: number, msg: string): void => void problems.push(`line ${line}: ${msg}`);
  const families = new Map<string, MutableFamily>();
  const samples: Sample[] = [];
  const seriesSeen = new Set<string>();
  const parsed: ParsedExposition = { format, samples, families };

  if (typeof text !== 'string') {
    problems.push(`expected a string, got ${typeof text}`);
    return { parsed, problems };
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else if (!om && text !== '') problems.push('text format must end with a newline');
  if (om) {
    if (lines[lines.length - 1] !== '# EOF') problems.push('OpenMetrics must end with "# EOF"');
  }

  let current: MutableFamily | undefined;
  const closed = new Set<string>();
  const enter = (f: MutableFamily, line: number): void => {
    if (current === f) return;
    if (current !== undefined) closed.add(current.name);
    if (closed.has(f.name)) problem(line, `family ${f.name} is split: its lines are not contiguous`);
    current = f;
  };
  const declare = (name: string, line: number): MutableFamily => {
    let f = families.get(name);
    if (f === undefined) {
      f = { name, type: om ? 'unknown' : 'untyped', typeSet: false, samples: [] };
      families.set(name, f);
    } else if (f.samples.length > 0) {
      problem(line, `metadata for ${name} after its samples`);
    }
    enter(f, line);
    return f;
  };

  let eofSeen = false;
  lines.forEach((raw, idx) => {
    const ln = idx + 1;
    if (eofSeen) {
      problem(ln, 'content after "# EOF"');
      return;
    }
    if ((om ? CONTROL_OM : CONTROL_TEXT).test(raw)) problem(ln, 'raw control character');
    if (LONE_SURROGATE.test(raw)) problem(ln, 'lone UTF-16 surrogate (not valid UTF-8)');
    if (raw === '') {
      if (om) problem(ln, 'blank lines are not allowed in OpenMetrics');
      return;
    }
    if (raw.startsWith('#')) {
      if (raw === '# EOF') {
        if (om) eofSeen = true;
        else problem(ln, '"# EOF" in the text format');
        return;
      }
      const m = /^# (HELP|TYPE|UNIT) ([^ ]+)(?: (.*))?$/.exec(raw);
      if (m === null) {
        if (om) problem(ln, `comment not allowed in OpenMetrics: ${JSON.stringify(raw.slice(0, 80))}`);
        return; // free-form comments are fine in the text format
      }
      const kind = m[1] as string;
      const name = m[2] as string;
      const rest = m[3];
      if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) problem(ln, `invalid metric name ${JSON.stringify(name)}`);
      const f = declare(name, ln);
      if (kind === 'HELP') {
        if (f.help !== undefined) problem(ln, `duplicate HELP for ${name}`);
        const help = unescapeHelp(rest ?? '', format);
        if (help === undefined) problem(ln, `invalid escape in HELP of ${name}`);
        f.help = help ?? rest ?? '';
      } else if (kind === 'TYPE') {
        if (f.typeSet) problem(ln, `duplicate TYPE for ${name}`);
        const type = rest ?? '';
        if (!TYPES[format].has(type)) problem(ln, `unknown type ${JSON.stringify(type)} for ${name}`);
        f.type = type;
        f.typeSet = true;
        if (om && type === 'counter' && name.endsWith('_total')) problem(ln, `OpenMetrics counter family ${name} must be named without _total`);
      } else {
        if (!om) problem(ln, '# UNIT is OpenMetrics only');
        if (f.unit !== undefined) problem(ln, `duplicate UNIT for ${name}`);
        const unit = rest ?? '';
        if (unit !== '' && !name.endsWith(`_${unit}`)) problem(ln, `family ${name} has UNIT ${unit} but does not end in _${unit}`);
        f.unit = unit;
      }
      return;
    }

    // A sample line.
    const nm = METRIC_NAME.exec(raw);
    if (nm === null) {
      problem(ln, `expected a metric name: ${JSON.stringify(raw.slice(0, 80))}`);
      return;
    }
    const name = nm[0];
    const c: Cursor = { s: raw, i: name.length };
    let labels: Record<string, string> = {};
    if (raw[c.i] === '{') {
      const l = readLabels(c, format, name);
      if (typeof l === 'string') {
        problem(ln, l);
        return;
      }
      labels = l;
    }
    const tail = raw.slice(c.i);
    // OpenMetrics: exactly one space between fields; text: any run of blanks.
    const sep = om ? / / : /[ \t]+/;
    const hashAt = tail.indexOf(' # ');
    const main = hashAt === -1 ? tail : tail.slice(0, hashAt);
    const exemplarPart = hashAt === -1 ? undefined : tail.slice(hashAt + 3);
    if (!(om ? main.startsWith(' ') : /^[ \t]/.test(main))) {
      problem(ln, `${name}: expected a space before the value`);
      return;
    }
    const fields = main.replace(om ? /^ / : /^[ \t]+/, '').split(sep);
    if (!om && fields[fields.length - 1] === '') fields.pop(); // trailing blanks are tolerated in text
    if (fields.length < 1 || fields.length > 2 || fields.some((f) => f === '')) {
      problem(ln, `${name}: expected "value [timestamp]", got ${JSON.stringify(main)}`);
      return;
    }
    const value = parseNumber(fields[0] as string);
    if (value === undefined) {
      problem(ln, `${name}: invalid value ${JSON.stringify(fields[0])}`);
      return;
    }
    let timestamp: number | undefined;
    if (fields.length === 2) {
      const ts = fields[1] as string;
      timestamp = om ? parseNumber(ts) : INT.test(ts) ? Number(ts) : undefined;
      if (timestamp === undefined || !Number.isFinite(timestamp)) problem(ln, `${name}: invalid timestamp ${JSON.stringify(ts)}`);
    }
    let exemplar: Exemplar | undefined;
    if (exemplarPart !== undefined) {
      if (!om) {
        problem(ln, `${name}: exemplars are OpenMetrics only`);
      } else if (!exemplarPart.startsWith('{')) {
        problem(ln, `${name}: an exemplar must start with "{"`);
      } else {
        const ec: Cursor = { s: exemplarPart, i: 0 };
        const el = readLabels(ec, format, `${name} exemplar`);
        if (typeof el === 'string') problem(ln, el);
        else {
          const ef = exemplarPart.slice(ec.i).split(' ');
          const ev = ef[1] === undefined ? undefined : parseNumber(ef[1]);
          const ets = ef[2] === undefined ? undefined : parseNumber(ef[2]);
          if (ef[0] !== '' || ev === undefined || ef.length > 3 || (ef[2] !== undefined && ets === undefined)) {
            problem(ln, `${name}: malformed exemplar ${JSON.stringify(exemplarPart)}`);
          } else {
            const chars = Object.entries(el).reduce((n, [k, v]) => n + [...k].length + [...v].length, 0);
            if (chars > 128) problem(ln, `${name}: exemplar label set longer than 128 characters`);
            exemplar = ets === undefined ? { labels: el, value: ev } : { labels: el, value: ev, timestamp: ets };
          }
        }
      }
    }

    for (const k of Object.keys(labels)) if (k.startsWith('__')) problem(ln, `${name}: reserved label name ${k}`);

    // Family membership: the current family if the name fits its type, else a declared
    // family it fits (which must then be the current one), else an implicit untyped one.
    const fits = (f: MutableFamily): boolean => suffixes(f.type, format).some((s) => name === `${f.name}${s}`);
    let fam: MutableFamily | undefined = current !== undefined && fits(current) ? current : undefined;
    if (fam === undefined) {
      for (const f of families.values()) {
        if (fits(f) && (f.typeSet || f.help !== undefined || f.unit !== undefined || f.name === name)) {
          fam = f;
          break;
        }
      }
    }
    if (fam === undefined) {
      fam = { name, type: om ? 'unknown' : 'untyped', typeSet: false, samples: [] };
      families.set(name, fam);
    }
    enter(fam, ln);

    const key = `${name}${labelSetKey(labels)}`;
    if (seriesSeen.has(key)) problem(ln, `duplicate series ${name}${showLabels(labels)}`);
    seriesSeen.add(key);

    const suffix = name.slice(fam.name.length);
    if (fam.type === 'histogram' || fam.type === 'gaugehistogram') {
      if (suffix === '_bucket') {
        if (labels.le === undefined || parseNumber(labels.le) === undefined || Number.isNaN(parseNumber(labels.le))) {
          problem(ln, `${name}: bucket without a numeric le label`);
        }
      } else if (labels.le !== undefined) problem(ln, `${name}: le label outside _bucket`);
      if (suffix !== '_created' && !(value >= 0)) problem(ln, `${name}: histogram values must be >= 0, got ${fields[0]}`);
    }
    if (fam.type === 'summary' && suffix === '') {
      const q = labels.quantile === undefined ? undefined : parseNumber(labels.quantile);
      if (q === undefined || !(q >= 0 && q <= 1)) problem(ln, `${name}: summary quantile label must be in [0, 1]`);
    }
    if (fam.type === 'counter' && (suffix === '_total' || (!om && suffix === '')) && !(value >= 0)) {
      problem(ln, `${name}: counter value must be >= 0, got ${fields[0]}`);
    }
    if (exemplar !== undefined) {
      const allowed = (fam.type === 'counter' && suffix === '_total') || ((fam.type === 'histogram' || fam.type === 'gaugehistogram') && suffix === '_bucket');
      if (!allowed) problem(ln, `${name}: exemplars only on counter _total and histogram _bucket samples`);
      const le = labels.le === undefined ? undefined : parseNumber(labels.le);
      if (suffix === '_bucket' && le !== undefined && !(exemplar.value <= le)) problem(ln, `${name}: exemplar value ${exemplar.value} above le=${labels.le}`);
    }

    const sample: Sample = {
      name,
      labels,
      value,
      family: fam.name,
      line: ln,
      ...(timestamp === undefined ? {} : { timestamp }),
      ...(exemplar === undefined ? {} : { exemplar }),
    };
    fam.samples.push(sample);
    samples.push(sample);
  });

  for (const f of families.values()) {
    if (f.type === 'histogram' || f.type === 'gaugehistogram') checkHistogram(f, format, problems);
  }
  return { parsed, problems };
}

function checkHistogram(f: MutableFamily, format: ExpositionFormat, problems: string[]): void {
  const countSuffix = f.type === 'gaugehistogram' ? '_gcount' : '_count';
  const sumSuffix = f.type === 'gaugehistogram' ? '_gsum' : '_sum';
  const groups = new Map<string, { labels: Record<string, string>; buckets: Sample[]; count?: Sample; sum?: Sample }>();
  const group = (labels: Readonly<Record<string, string>>) => {
    const { le: _le, ...rest } = labels;
    const key = labelSetKey(rest);
    let g = groups.get(key);
    if (g === undefined) {
      g = { labels: rest, buckets: [] };
      groups.set(key, g);
    }
    return g;
  };
  for (const s of f.samples) {
    const suffix = s.name.slice(f.name.length);
    if (suffix === '_bucket') group(s.labels).buckets.push(s);
    else if (suffix === countSuffix) group(s.labels).count = s;
    else if (suffix === sumSuffix) group(s.labels).sum = s;
  }
  for (const g of groups.values()) {
    const where = `${f.name}${showLabels(g.labels)}`;
    if (g.buckets.length === 0) {
      problems.push(`${where}: histogram without buckets`);
      continue;
    }
    let prevLe = -Infinity;
    let prevCount = -Infinity;
    for (const b of g.buckets) {
      const le = parseNumber(b.labels.le ?? '') ?? NaN;
      if (!(le > prevLe)) problems.push(`line ${b.line}: ${where}: le=${b.labels.le} not greater than the previous bound`);
      if (!(b.value >= prevCount)) problems.push(`line ${b.line}: ${where}: bucket counts not cumulative (${b.value} after ${prevCount})`);
      prevLe = le;
      prevCount = b.value;
    }
    const last = g.buckets[g.buckets.length - 1] as Sample;
    if (parseNumber(last.labels.le ?? '') !== Infinity) problems.push(`${where}: last bucket is not le="+Inf"`);
    if (g.count === undefined) problems.push(`${where}: missing ${f.name}${countSuffix}`);
    else if (g.count.value !== last.value) problems.push(`${where}: +Inf bucket ${last.value} != ${countSuffix} ${g.count.value}`);
    if (g.sum === undefined) problems.push(`${where}: missing ${f.name}${sumSuffix}`);
    if (format === 'prometheus' && f.type === 'gaugehistogram') problems.push(`${where}: gaugehistogram is OpenMetrics only`);
  }
}

/**
 * Drops the `agentobs_scrapes_total` samples: the handler counts each scrape it serves, so two
 * bodies taken one after the other differ there and nowhere else.
 */
export function withoutScrapeCounts(body: string): string {
  return body.replace(/^agentobs_scrapes_total\{.*\n/gm, '');
}
