/**
 * Provider rate-limit headers, read into { kind -> { limit, remaining } }.
 *
 * Headers read (names are case-insensitive; higher rows win when two families give the same kind):
 *
 * | family | headers | kind |
 * |---|---|---|
 * | OpenAI (also Azure OpenAI, Groq, OpenRouter, Cerebras, which copy it) | `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests` | requests |
 * | | `x-ratelimit-limit-tokens`, `x-ratelimit-remaining-tokens` | tokens |
 * | Anthropic | `anthropic-ratelimit-requests-limit`, `anthropic-ratelimit-requests-remaining` | requests |
 * | | `anthropic-ratelimit-tokens-limit`, `anthropic-ratelimit-tokens-remaining` | tokens |
 * | | `anthropic-ratelimit-input-tokens-limit`, `…-input-tokens-remaining` | input_tokens |
 * | | `anthropic-ratelimit-output-tokens-limit`, `…-output-tokens-remaining` | output_tokens |
 * | IETF draft (draft-ietf-httpapi-ratelimit-headers) | `ratelimit-limit`, `ratelimit-remaining` (draft ≤ 07; a trailing `, 100;w=60` policy list is allowed on the limit); `ratelimit: "p";r=50` + `ratelimit-policy: "p";q=100` (draft ≥ 08) | requests |
 * | de-facto generic (GitHub style) | `x-ratelimit-limit`, `x-ratelimit-remaining` | requests |
 *
 * Reset headers (`x-ratelimit-reset-*`, `anthropic-ratelimit-*-reset`) are not read: the
 * catalog has no reset gauge, and their formats differ per provider (`6m0s`, RFC 3339, epoch).
 *
 * Values must be plain non-negative integers (at most 15 digits); anything else is
 * ignored and reported through `invalid(header)`, so hostile values never reach a gauge.
 */
import { MAX_VALUE_LENGTH, forEachHeader } from '../http.js';

/** Values of the `kind` label of the rate-limit gauges. */
export type RateLimitKind = 'requests' | 'tokens' | 'input_tokens' | 'output_tokens';

interface Spec {
  readonly kind: RateLimitKind;
  readonly field: 'limit' | 'remaining';
  /** Lower wins. */
  readonly rank: number;
  readonly parse: (v: string) => number | undefined;
}

const INT = /^\s*(\d{1,15})\s*$/;
const plain = (v: string): number | undefined => {
  const m = INT.exec(v);
  return m === null ? undefined : Number(m[1]);
};
/** draft-ietf-httpapi-ratelimit-headers ≤ 07: `100` or `100, 100;w=60, 1000;w=3600`. */
const LIMIT_WITH_POLICY = /^\s*(\d{1,15})\s*(?:,[\s\w;=",.-]*)?$/;
const limitWithPolicy = (v: string): number | undefined => {
  const m = LIMIT_WITH_POLICY.exec(v);
  return m === null ? undefined : Number(m[1]);
};
/** Parameter `key=N` of the first member of a structured-field list (draft ≥ 08), e.g. `"default";r=50;t=30`. */
const param = (key: string) => {
  const re = new RegExp(`;\\s*${key}=(\\d{1,15})\\s*(?:;|$)`);
  return (v: string): number | undefined => {
    const m = re.exec(v.split(',', 1)[0] ?? '');
    return m === null ? undefined : Number(m[1]);
  };
};

const SPECS: ReadonlyMap<string, Spec> = new Map<string, Spec>([
  ['x-ratelimit-limit-requests', { kind: 'requests', field: 'limit', rank: 0, parse: plain }],
  ['x-ratelimit-remaining-requests', { kind: 'requests', field: 'remaining', rank: 0, parse: plain }],
  ['x-ratelimit-limit-tokens', { kind: 'tokens', field: 'limit', rank: 0, parse: plain }],
  ['x-ratelimit-remaining-tokens', { kind: 'tokens', field: 'remaining', rank: 0, parse: plain }],
  ['anthropic-ratelimit-requests-limit', { kind: 'requests', field: 'limit', rank: 0, parse: plain }],
  ['anthropic-ratelimit-requests-remaining', { kind: 'requests', field: 'remaining', rank: 0, parse: plain }],
  ['anthropic-ratelimit-tokens-limit', { kind: 'tokens', field: 'limit', rank: 0, parse: plain }],
  ['anthropic-ratelimit-tokens-remaining', { kind: 'tokens', field: 'remaining', rank: 0, parse: plain }],
  ['anthropic-ratelimit-input-tokens-limit', { kind: 'input_tokens', field: 'limit', rank: 0, parse: plain }],
  ['anthropic-ratelimit-input-tokens-remaining', { kind: 'input_tokens', field: 'remaining', rank: 0, parse: plain }],
  ['anthropic-ratelimit-output-tokens-limit', { kind: 'output_tokens', field: 'limit', rank: 0, parse: plain }],
  ['anthropic-ratelimit-output-tokens-remaining', { kind: 'output_tokens', field: 'remaining', rank: 0, parse: plain }],
  ['ratelimit-limit', { kind: 'requests', field: 'limit', rank: 1, parse: limitWithPolicy }],
  ['ratelimit-remaining', { kind: 'requests', field: 'remaining', rank: 1, parse: plain }],
  ['ratelimit-policy', { kind: 'requests', field: 'limit', rank: 1, parse: param('q') }],
  ['ratelimit', { kind: 'requests', field: 'remaining', rank: 1, parse: param('r') }],
  ['x-ratelimit-limit', { kind: 'requests', field: 'limit', rank: 2, parse: plain }],
  ['x-ratelimit-remaining', { kind: 'requests', field: 'remaining', rank: 2, parse: plain }],
]);

/** Every header name read, lower-case (for docs and tests). */
export const RATE_LIMIT_HEADERS: readonly string[] = Object.freeze([...SPECS.keys()]);

export interface RateLimitReading {
  limit?: number;
  remaining?: number;
  limitRank?: number;
  remainingRank?: number;
}

/**
 * Reads every known rate-limit header from `headers`. `invalid(name)` is called once per
 * known header whose value was unreadable (hostile, too long, not a plain number).
 */
export function readRateLimitHeaders(headers: unknown, invalid: (header: string) => void): Map<RateLimitKind, RateLimitReading> {
  const out = new Map<RateLimitKind, RateLimitReading>();
  forEachHeader(headers, (name, raw) => {
    const spec = SPECS.get(name);
    if (spec === undefined) return;
    const v = raw === undefined || raw.length > MAX_VALUE_LENGTH ? undefined : spec.parse(raw);
    if (v === undefined || !Number.isSafeInteger(v)) {
      invalid(name);
      return;
    }
    let r = out.get(spec.kind);
    if (r === undefined) {
      r = {};
      out.set(spec.kind, r);
    }
    if (spec.field === 'limit') {
      if (r.limitRank === undefined || spec.rank < r.limitRank) {
        r.limit = v;
        r.limitRank = spec.rank;
      }
    } else if (r.remainingRank === undefined || spec.rank < r.remainingRank) {
      r.remaining = v;
      r.remainingRank = spec.rank;
    }
  });
  return out;
}
