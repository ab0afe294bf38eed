import { afterEach, describe, expect, it } from 'vitest';
import { findSamples, getValue, parseExposition, type ParsedExposition } from '../../../test/helpers/exposition.js';
import { createObservability, type Observability } from '../../observability.js';
import { readRateLimitHeaders } from './headers.js';

const created: Observability[] = [];
function make(): Observability {
  const obs = createObservability({ runtimeMetrics: false, logger: false });
  created.push(obs);
  return obs;
}
afterEach(async () => {
  await Promise.all(created.splice(0).map((o) => o.shutdown()));
});
async function scrape(obs: Observability): Promise<ParsedExposition> {
  return parseExposition((await obs.metrics()).body, 'prometheus');
}
const gauges = (exp: ParsedExposition, provider: string, model: string, kind: string): number[] =>
  ['limit', 'remaining', 'utilization_ratio'].map((m) =>
    getValue(exp, `agentobs_llm_rate_limit_${m}`, { gen_ai_provider_name: provider, gen_ai_request_model: model, kind }));

describe('recordRateLimit: providers', () => {
  it('reads OpenAI headers from fetch Headers', async () => {
    const obs = make();
    obs.recordRateLimit('openai', 'gpt-4o', new Headers({
      'x-ratelimit-limit-requests': '500', 'x-ratelimit-remaining-requests': '125',
      'x-ratelimit-limit-tokens': '30000', 'x-ratelimit-remaining-tokens': '30000', 'x-ratelimit-reset-tokens': '6m0s',
    }));
    const exp = await scrape(obs);
    expect(gauges(exp, 'openai', 'gpt-4o', 'requests')).toEqual([500, 125, 0.75]);
    expect(gauges(exp, 'openai', 'gpt-4o', 'tokens')).toEqual([30000, 30000, 0]);
  });

  it('reads Anthropic headers (requests, tokens, input and output tokens) from a plain object in any case', async () => {
    const obs = make();
    obs.recordRateLimit('anthropic', 'claude', {
      'Anthropic-RateLimit-Requests-Limit': '50', 'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-tokens-limit': 1000, 'anthropic-ratelimit-tokens-remaining': ['900'],
      'anthropic-ratelimit-input-tokens-limit': '800', 'anthropic-ratelimit-input-tokens-remaining': '400',
      'anthropic-ratelimit-output-tokens-limit': '200', 'anthropic-ratelimit-output-tokens-remaining': '150',
    });
    const exp = await scrape(obs);
    expect(gauges(exp, 'anthropic', 'claude', 'requests')).toEqual([50, 0, 1]);
    expect(gauges(exp, 'anthropic', 'claude', 'tokens')[2]).toBeCloseTo(0.1);
    expect(gauges(exp, 'anthropic', 'claude', 'input_tokens')).toEqual([800, 400, 0.5]);
    expect(gauges(exp, 'anthropic', 'claude', 'output_tokens')).toEqual([200, 150, 0.25]);
  });

  it('reads the IETF draft (old and structured forms) and x-ratelimit-* from a Map, provider-specific first', () => {
    const r = (h: unknown) => Object.fromEntries([...readRateLimitHeaders(h, () => undefined)].map(([k, v]) => [k, [v.limit, v.remaining]]));
    expect(r(new Map([['RateLimit-Limit', '100, 100;w=60'], ['RateLimit-Remaining', '40']]))).toEqual({ requests: [100, 40] });
    expect(r({ ratelimit: '"default";r=7;t=30', 'ratelimit-policy': '"default";q=10;w=60' })).toEqual({ requests: [10, 7] });
    expect(r({ 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '59' })).toEqual({ requests: [60, 59] });
    expect(r({ 'x-ratelimit-limit': '60', 'x-ratelimit-limit-requests': '500', 'x-ratelimit-remaining-requests': '1' })).toEqual({ requests: [500, 1] });
  });

  it('keeps the last limit when a later response only carries remaining', async () => {
    const obs = make();
    obs.recordRateLimit('openai', 'm', { 'x-ratelimit-limit-requests': '100', 'x-ratelimit-remaining-requests': '100' });
    obs.recordRateLimit('openai', 'm', { 'x-ratelimit-remaining-requests': '20' });
    expect(gauges(await scrape(obs), 'openai', 'm', 'requests')).toEqual([100, 20, 0.8]);
  });
});

describe('recordRateLimit: 429s and hostile input', () => {
  it('counts status 429 as throttled', async () => {
    const obs = make();
    obs.recordRateLimit('openai', 'm', undefined, 429);
    obs.recordRateLimit('openai', 'm', null, 429);
    obs.recordRateLimit('openai', 'm', {}, 200);
    expect(getValue(await scrape(obs), 'agentobs_llm_throttled_total', { gen_ai_provider_name: 'openai', gen_ai_request_model: 'm' })).toBe(2);
  });

  it('ignores and counts hostile values; never throws; hostile header names never become labels', async () => {
    const obs = make();
    const hostile = {
      'x-ratelimit-limit-requests': '-5',
      'x-ratelimit-remaining-requests': '1e9',
      'x-ratelimit-limit-tokens': '9'.repeat(400),
      'x-ratelimit-remaining-tokens': 'NaN',
      'anthropic-ratelimit-requests-limit': '12\n34',
      'anthropic-ratelimit-requests-remaining': { toString: () => '5' },
      'x-evil\u202e-header': '1',
    };
    expect(() => obs.recordRateLimit('openai', 'm', hostile)).not.toThrow();
    const getterBomb = Object.defineProperty({}, 'x-ratelimit-limit', { enumerable: true, get: () => { throw new Error('boom'); } });
    expect(() => obs.recordRateLimit('openai', 'm', getterBomb)).not.toThrow();
    expect(() => obs.recordRateLimit('openai', 'm', { get: () => { throw new Error('x'); }, forEach: () => { throw new Error('y'); } } as never)).not.toThrow();
    expect(() => obs.recordRateLimit(42 as never, {} as never, 'headers' as never, 'status' as never)).not.toThrow();
    const exp = await scrape(obs);
    expect(findSamples(exp, 'agentobs_llm_rate_limit_limit')).toEqual([]);
    const invalid = findSamples(exp, 'agentobs_llm_rate_limit_headers_invalid_total', { gen_ai_provider_name: 'openai' });
    expect(invalid.map((s) => s.labels.header).sort()).toEqual([
      'anthropic-ratelimit-requests-limit', 'anthropic-ratelimit-requests-remaining', 'x-ratelimit-limit-requests',
      'x-ratelimit-limit-tokens', 'x-ratelimit-remaining-requests', 'x-ratelimit-remaining-tokens',
    ]);
  });
});
