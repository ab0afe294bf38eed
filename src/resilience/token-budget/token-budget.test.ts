import { afterEach, describe, expect, it } from 'vitest';
import { getValue, parseExposition, type ParsedExposition } from '../../../test/helpers/exposition.js';
import { isTokenBudgetExceededError } from '../../errors.js';
import { createObservability, type Observability } from '../../observability.js';

let t = 0;
const created: Observability[] = [];
function make(): Observability {
  const obs = createObservability({ runtimeMetrics: false, logger: false, clock: () => t });
  created.push(obs);
  return obs;
}
afterEach(async () => {
  t = 0;
  await Promise.all(created.splice(0).map((o) => o.shutdown()));
});
async function scrape(obs: Observability): Promise<ParsedExposition> {
  return parseExposition((await obs.metrics()).body, 'prometheus');
}
const g = (exp: ParsedExposition, m: string, budget: string, type: string): number =>
  getValue(exp, `agentobs_token_budget_${m}`, { budget, gen_ai_token_type: type });

describe('tokenBudget', () => {
  it('tracks usage per type in a fixed window and rolls lazily (on use and at scrape), with no timer', async () => {
    const obs = make();
    const b = obs.tokenBudget('support', { limit: { input: 1000, total: 1500 }, windowMs: 60_000 });
    b.record({ input: 600, output: 300 });
    let exp = await scrape(obs);
    expect(g(exp, 'usage', 'support', 'input')).toBe(600);
    expect(g(exp, 'usage', 'support', 'total')).toBe(900);
    expect(g(exp, 'limit', 'support', 'total')).toBe(1500);
    expect(g(exp, 'utilization_ratio', 'support', 'total')).toBe(0.6);
    expect(b.remaining('input')).toBe(400);
    expect(b.remaining('output')).toBe(Infinity);
    expect(b.exceeded).toBe(false);
    b.record({ input: 400 });
    expect(b.exceeded).toBe(true);
    expect(() => b.assertAvailable()).toThrow(expect.objectContaining({ code: 'ERR_AGENTOBS_TOKEN_BUDGET_EXCEEDED', budget: 'support' }));
    try {
      b.assertAvailable();
    } catch (e) {
      expect(isTokenBudgetExceededError(e)).toBe(true);
    }
    t = 60_000;
    exp = await scrape(obs); // nobody used it: the scrape rolls the window
    expect(g(exp, 'usage', 'support', 'input')).toBe(0);
    expect(b.exceeded).toBe(false);
  });

  it('a number limits the total; bad counts are ignored', async () => {
    const obs = make();
    const b = obs.tokenBudget('n', { limit: 100, windowMs: 1_000 });
    b.record({ input: 10, output: Number.NaN });
    b.record({ input: -5, output: Infinity });
    b.record(null as never);
    expect(b.remaining()).toBe(90);
  });

  it('validates options and names', async () => {
    const obs = make();
    for (const o of [{}, { limit: 0, windowMs: 1 }, { limit: 10 }, { limit: { tokens: 1 }, windowMs: 1 }, { limit: {}, windowMs: 1 }]) {
      expect(() => obs.tokenBudget('x', o as never)).toThrow(expect.objectContaining({ code: 'ERR_AGENTOBS_CONFIG' }));
    }
    const b = obs.tokenBudget('dup', { limit: 1, windowMs: 1 });
    expect(() => obs.tokenBudget('dup', { limit: 1, windowMs: 1 })).toThrow(/budget name/);
    b.dispose();
    expect((await obs.metrics()).body).not.toContain('budget="dup"');
    obs.tokenBudget('dup', { limit: 1, windowMs: 1 });
  });
});
