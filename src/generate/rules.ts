/**
 * Prometheus rule files as typed data, and a tiny deterministic YAML writer for exactly
 * that shape. Why not a YAML library: the shape is fixed and small, the output must be
 * byte-stable across versions for the generated-files diff check, and `./generate` stays
 * dependency-free. A test parses the output back with the `yaml` package (dev only).
 */

/** A recording rule. */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** An alerting rule. */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  /** Prometheus duration, e.g. `10m`. */
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export type Rule = RecordingRule | AlertingRule;

/** One rule group. */
export interface RuleGroup {
  readonly name: string;
  /** Evaluation interval override, e.g. `30s`. */
  readonly interval?: string;
  readonly rules: readonly Rule[];
}

// Plain scalars that no YAML 1.1/1.2 reader turns into a bool, null or number.
// `:` is plain too unless it ends the scalar (`a:b` never reads as a key).
const PLAIN = /^[A-Za-z_](?:[A-Za-z0-9_./:-]*[A-Za-z0-9_./-])?$/;
const RESERVED = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)$/;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// eslint-disable-next-line no-control-regex -- control characters are what a literal block cannot hold
const NOT_IN_BLOCK = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A YAML scalar for `s`: plain when unambiguous, else double-quoted (JSON escapes are valid YAML). */
export function yamlString(s: string): string {
  if (PLAIN.test(s) && !RESERVED.test(s)) return s;
  // JSON leaves these unescaped, but YAML readers treat them as line breaks or reject them;
  // a lone surrogate cannot be encoded in UTF-8 at all, so it is written as U+FFFD.
  return JSON.stringify(s.replace(LONE_SURROGATE, '\ufffd')).replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function block(expr: string, indent: string): string {
  const lines = expr.split('\n').map((l) => l.replace(/\s+$/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0 || lines[0] === '' || /^\s/.test(lines[0] as string) || NOT_IN_BLOCK.test(expr)) {
    // A literal block cannot start with an empty or indented line without an indicator, nor
    // hold control characters (YAML readers reject them) or lone surrogates: quoted, they are escaped.
    return ` ${yamlString(expr)}`;
  }
  return ` |-\n${lines.map((l) => (l === '' ? '' : `${indent}${l}`)).join('\n')}`;
}

function map(key: string, m: Readonly<Record<string, string>> | undefined, indent: string, out: string[]): void {
  if (m === undefined) return;
  const keys = Object.keys(m);
  if (keys.length === 0) return;
  out.push(`${indent}${key}:`);
  for (const k of keys) out.push(`${indent}  ${yamlString(k)}: ${yamlString(m[k] as string)}`);
}

/**
 * Renders rule groups as a Prometheus rule file. Label keys are sorted; everything else
 * keeps the order given, so the same input always gives the same bytes.
 */
export function renderRuleFile(groups: readonly RuleGroup[], options: { readonly header?: string } = {}): string {
  const out: string[] = [];
  if (options.header !== undefined) for (const l of options.header.split('\n')) out.push(l === '' ? '#' : `# ${l}`);
  out.push(groups.length === 0 ? 'groups: []' : 'groups:');
  for (const g of groups) {
    out.push(`  - name: ${yamlString(g.name)}`);
    if (g.interval !== undefined) out.push(`    interval: ${yamlString(g.interval)}`);
    out.push(g.rules.length === 0 ? '    rules: []' : '    rules:');
    for (const r of g.rules) {
      if ('record' in r) out.push(`      - record: ${yamlString(r.record)}`);
      else out.push(`      - alert: ${yamlString(r.alert)}`);
      out.push(`        expr:${block(r.expr, '          ')}`);
      if ('alert' in r && r.for !== undefined) out.push(`        for: ${yamlString(r.for)}`);
      map('labels', sortKeys(r.labels), '        ', out);
      if ('alert' in r) map('annotations', r.annotations, '        ', out);
    }
  }
  return `${out.join('\n')}\n`;
}

function sortKeys(m: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> | undefined {
  if (m === undefined) return undefined;
  const o: Record<string, string> = {};
  for (const k of Object.keys(m).sort()) o[k] = m[k] as string;
  return o;
}
