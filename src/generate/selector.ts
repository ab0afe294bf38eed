/**
 * The `selector` of a generate config: PromQL label matchers as users write them in a
 * mixin config (`job="support-agent", namespace=~"prod|staging"`), parsed once into typed
 * {@link LabelMatcher}s so every rule and dashboard query renders them the same way.
 */
import { assertLabelName } from '../catalog/naming.js';
import { ConfigError } from '../errors.js';
import type { LabelMatcher, MatchOp } from './promql.js';

// label, operator, then a double- or single-quoted string (PromQL's escapes), then `,` or the end.
const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*(?:,|$)/;

function unquote(q: string): string {
  const body = q.slice(1, -1);
  return body.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/**
 * Parses `a="x", b!~"y|z"` (braces optional, empty for none) into label matchers.
 * Throws {@link ConfigError} at `path` naming the part that does not parse.
 *
 * @example parseSelector('job="support-agent"') // [{ label: 'job', op: '=', value: 'support-agent' }]
 */
export function parseSelector(text: unknown, path: string): readonly LabelMatcher[] {
  if (typeof text !== 'string') throw new ConfigError(path, 'a string of PromQL label matchers such as \'job="support-agent"\'', text);
  let rest = text.trim();
  if (rest.startsWith('{') && rest.endsWith('}')) rest = rest.slice(1, -1).trim();
  const out: LabelMatcher[] = [];
  while (rest !== '') {
    const m = MATCHER.exec(rest);
    if (m === null) {
      throw new ConfigError(path, 'PromQL label matchers such as \'job="support-agent", namespace=~"prod|staging"\'', `${text} (cannot parse from: ${rest})`);
    }
    const [all, label, op, quoted] = m as unknown as [string, string, MatchOp, string];
    assertLabelName(label, `${path}[${out.length}].label`);
    out.push(Object.freeze({ label, op, value: unquote(quoted) }));
    rest = rest.slice(all.length).trim();
  }
  return Object.freeze(out);
}
