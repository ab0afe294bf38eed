/**
 * Quantiles from bucket counts, computed exactly as PromQL's `histogram_quantile` does for
 * classic histograms (promql/quantile.go `bucketQuantile`, Prometheus 2.42), so the
 * in-process p95 and the Grafana panel show the same number for the same counts:
 *
 * - linear interpolation inside the bucket the rank falls into;
 * - the lowest bucket interpolates from 0 (or returns its bound when that bound is <= 0);
 * - a rank in the `+Inf` bucket returns the highest finite bound;
 * - no observations: NaN; q < 0: -Inf; q > 1: +Inf; q NaN: NaN.
 *
 * Our counts are sums of whole observations, always monotonic once cumulated, so
 * Prometheus' coalescing and monotonicity fixes never change anything here.
 */

/**
 * The `q`-quantile of one histogram. `bounds` are the finite upper bounds (strictly
 * increasing); `counts[i]` is the non-cumulative count of bucket `i`, with
 * `counts[bounds.length]` the `+Inf` bucket.
 */
export function bucketQuantile(q: number, bounds: ArrayLike<number>, counts: ArrayLike<number>): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const n = bounds.length;
  // PromQL needs the +Inf bucket plus at least one finite one.
  if (n === 0) return NaN;
  let observations = 0;
  for (let i = 0; i <= n; i++) observations += counts[i] as number;
  if (observations === 0) return NaN;
  let rank = q * observations;
  // First bucket whose cumulative count reaches the rank (the +Inf bucket is never searched).
  let b = 0;
  let prev = 0;
  let cum = 0;
  for (; b < n; b++) {
    prev = cum;
    cum += counts[b] as number;
    if (cum >= rank) break;
  }
  if (b === n) return bounds[n - 1] as number;
  const end = bounds[b] as number;
  if (b === 0 && end <= 0) return end;
  let start = 0;
  let count = cum;
  if (b > 0) {
    start = bounds[b - 1] as number;
    count -= prev;
    rank -= prev;
  }
  return start + (end - start) * (rank / count);
}
