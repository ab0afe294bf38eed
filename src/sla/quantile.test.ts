import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketQuantile } from './quantile.js';

/**
 * Reference: a line-by-line port of Prometheus 2.42 promql/quantile.go `bucketQuantile`
 * (cumulative buckets as the server sees them, sorted, coalesced, forced monotonic,
 * binary search with sort.Search). Kept deliberately literal, not shared with the code.
 */
function promBucketQuantile(q: number, input: { upperBound: number; count: number }[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  let buckets = [...input].sort((a, b) => a.upperBound - b.upperBound).map((b) => ({ ...b }));
  if (buckets[buckets.length - 1]?.upperBound !== Infinity) return NaN;
  // coalesceBuckets
  const merged: { upperBound: number; count: number }[] = [];
  for (const b of buckets) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.upperBound === b.upperBound) last.count += b.count;
    else merged.push(b);
  }
  buckets = merged;
  // ensureMonotonic
  let max = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    if (buckets[i]!.count > max) max = buckets[i]!.count;
    else if (buckets[i]!.count < max) buckets[i]!.count = max;
  }
  if (buckets.length < 2) return NaN;
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  // sort.Search(n, f): smallest i in [0, n) with f(i) true, n if none.
  const n = buckets.length - 1;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const h = (lo + hi) >>> 1;
    if (!(buckets[h]!.count >= rank)) lo = h + 1;
    else hi = h;
  }
  const b = lo;
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.upperBound;
  if (b === 0 && buckets[0]!.upperBound <= 0) return buckets[0]!.upperBound;
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.upperBound;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.upperBound;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

/** Our layout (finite bounds + non-cumulative counts, +Inf last) as the server sees it. */
function asScraped(bounds: readonly number[], counts: readonly number[]): { upperBound: number; count: number }[] {
  let cum = 0;
  return [...bounds, Infinity].map((upperBound, i) => ({ upperBound, count: (cum += counts[i]!) }));
}

const histogram = fc
  .uniqueArray(fc.double({ min: 0, max: 1e4, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 20 })
  .map((a) => a.sort((x, y) => x - y))
  .chain((bounds) =>
    fc.record({
      bounds: fc.constant(bounds),
      counts: fc.array(fc.oneof(fc.constant(0), fc.nat({ max: 50 }), fc.nat({ max: 1_000_000 })), {
        minLength: bounds.length + 1,
        maxLength: bounds.length + 1,
      }),
    }),
  );
const quantile = fc.oneof(fc.constantFrom(0, 0.5, 0.9, 0.95, 0.99, 0.999, 1), fc.double({ min: 0, max: 1, noNaN: true }));

describe('bucketQuantile (PromQL histogram_quantile)', () => {
  it('equals the Prometheus 2.42 algorithm on random bucket data, bit for bit', () => {
    fc.assert(
      fc.property(histogram, quantile, ({ bounds, counts }, q) => {
        const ours = bucketQuantile(q, bounds, counts);
        const theirs = promBucketQuantile(q, asScraped(bounds, counts));
        expect(Object.is(ours, theirs) || (Number.isNaN(ours) && Number.isNaN(theirs))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('interpolates linearly inside the bucket, from 0 in the first one', () => {
    // 10 in (0, 1], 10 in (1, 2]: the median is the top of the first bucket.
    expect(bucketQuantile(0.5, [1, 2], [10, 10, 0])).toBe(1);
    expect(bucketQuantile(0.25, [1, 2], [10, 10, 0])).toBe(0.5);
    expect(bucketQuantile(0.75, [1, 2], [10, 10, 0])).toBe(1.5);
  });

  it('returns the highest finite bound when the rank falls in +Inf', () => {
    expect(bucketQuantile(0.99, [1, 2], [1, 1, 98])).toBe(2);
  });

  it('returns a non-positive lowest bound as is', () => {
    expect(bucketQuantile(0.1, [0, 1], [5, 5, 0])).toBe(0);
  });

  it('has PromQL special cases: no data, q out of range, NaN', () => {
    expect(bucketQuantile(0.5, [1, 2], [0, 0, 0])).toBeNaN();
    expect(bucketQuantile(0.5, [], [5])).toBeNaN();
    expect(bucketQuantile(-0.1, [1], [1, 0])).toBe(-Infinity);
    expect(bucketQuantile(1.1, [1], [1, 0])).toBe(Infinity);
    expect(bucketQuantile(NaN, [1], [1, 0])).toBeNaN();
  });
});
