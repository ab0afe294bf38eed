import { describe, expect, it } from 'vitest';
import { resolveSlos } from '../catalog/slo.js';
import { SloWindow } from './window.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

function windowFor(extra: Record<string, unknown> = {}): SloWindow {
  const [slo] = resolveSlos(
    [
      {
        name: 'w',
        target: { kind: 'tool', name: 't' },
        objective: 0.99,
        availability: {},
        window: '1d',
        evaluation: { slice: '1m', shortWindow: '5m', longWindow: '1h', budgetSlice: '1h' },
        ...extra,
      },
    ],
    'slos',
  );
  return new SloWindow(slo!);
}

describe('SloWindow: rolling with an injected clock', () => {
  it('drops a slice from the short window after 5 minutes, from the long one after an hour, from the budget after a day', () => {
    const w = windowFor();
    w.sync(0);
    w.observe(0, true);
    w.observe(1, false);
    expect(w.counts(w.shortSlices)).toEqual({ requests: 2, errors: 1, bad: 1 });

    w.sync(4 * MIN + 59_999);
    w.observe(2, false);
    expect(w.counts(w.shortSlices).requests).toBe(3);

    w.sync(5 * MIN); // the t=0 slice is now 6 slices back
    expect(w.counts(w.shortSlices)).toEqual({ requests: 1, errors: 0, bad: 0 });
    expect(w.counts(w.longSlices)).toEqual({ requests: 3, errors: 1, bad: 1 });

    w.sync(HOUR - 1);
    expect(w.counts(w.longSlices).requests).toBe(3);
    w.sync(HOUR);
    expect(w.counts(w.longSlices).requests).toBe(1);
    w.sync(HOUR + 5 * MIN);
    expect(w.counts(w.longSlices).requests).toBe(0);
    expect(w.budgetCounts()).toEqual({ requests: 3, bad: 1 });

    w.sync(24 * HOUR - 1);
    expect(w.budgetCounts()).toEqual({ requests: 3, bad: 1 });
    w.sync(24 * HOUR);
    expect(w.budgetCounts()).toEqual({ requests: 0, bad: 0 });
  });

  it('a jump longer than the ring clears it; a clock going backwards or NaN keeps the current slice', () => {
    const w = windowFor();
    w.sync(10 * MIN);
    w.observe(0, false);
    w.sync(9 * MIN);
    w.sync(NaN);
    w.observe(0, false);
    expect(w.counts(1).requests).toBe(2);
    w.sync(1000 * HOUR);
    expect(w.counts(w.longSlices).requests).toBe(0);
    expect(w.budgetCounts().requests).toBe(0);
  });

  it('latency SLOs count calls above the threshold bucket as bad, failed or not', () => {
    // Tool buckets: 0.01 0.02 0.04 0.08 0.16 0.32 …; threshold 0.08 is index 3.
    const w = windowFor({ availability: undefined, latency: { threshold: 0.08 }, objective: 0.9 });
    w.sync(0);
    w.observe(3, false); // at the threshold: good
    w.observe(4, false); // slower: bad
    w.observe(0, true); // fast failure: good for latency
    w.observe(14, true); // +Inf failure: bad
    expect(w.counts(w.longSlices)).toEqual({ requests: 4, errors: 2, bad: 2 });
    expect(w.budgetCounts()).toEqual({ requests: 4, bad: 2 });
  });

  it('estimates quantiles over the span last counted', () => {
    const w = windowFor();
    w.sync(0);
    for (let i = 0; i < 10; i++) w.observe(0, false); // (0, 0.01]
    w.sync(10 * MIN);
    for (let i = 0; i < 10; i++) w.observe(1, false); // (0.01, 0.02]
    w.counts(w.shortSlices);
    expect(w.quantile(0.5)).toBeCloseTo(0.015, 12);
    w.counts(w.longSlices);
    expect(w.quantile(0.5)).toBeCloseTo(0.01, 12);
  });

  it('holds a fixed amount of memory, whatever the traffic', () => {
    const w = windowFor();
    const before = w.byteLength;
    // 60 slices x (14 bounds + Inf + errors) + 24 budget slices x 2, 8 bytes each, plus scratch.
    expect(before).toBe(60 * 16 * 8 + 24 * 2 * 8 + 14 * 8 + 16 * 8 + 2 * 8);
    for (let t = 0; t < 3 * HOUR; t += 7_000) {
      w.sync(t);
      w.observe(t % 15, t % 3 === 0);
    }
    expect(w.byteLength).toBe(before);
  });
});
