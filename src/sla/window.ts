/**
 * The in-process window of one SLO: two fixed rings of time slices, allocated once, so
 * memory does not depend on traffic.
 *
 * - The recent ring spans the long window in `slice`-wide slices; each slice holds the
 *   per-bucket counts (same bounds as the target histogram, `+Inf` last) and the error
 *   count. Burn rates and quantiles over the short and long windows come from it.
 * - The budget ring spans the SLO window (`30d`) in `budgetSlice`-wide slices holding only
 *   total and bad counts: enough for the error budget, at 16 bytes a slice.
 *
 * Recording is a few typed-array adds into the current slices; it never reads the clock.
 * Slices advance in `sync(now)`, called by the engine's timer at slice boundaries and
 * before every read, so a record lands at most one event-loop turn late.
 */
import type { ResolvedSlo } from '../catalog/slo.js';
import type { ObservationTap } from '../internal/tap.js';
import { bucketQuantile } from './quantile.js';

/** Counts over a span of recent slices. */
export interface WindowCounts {
  readonly requests: number;
  readonly errors: number;
  /** SLI bad events: errors (availability) or calls slower than the threshold (latency). */
  readonly bad: number;
}

class Ring {
  readonly data: Float64Array;
  /** Index of the current slice. */
  slot = 0;
  /** Offset of the current slice in `data`. */
  offset = 0;
  /** `floor(now / width)` of the current slice; undefined before the first sync. */
  private epoch: number | undefined;

  constructor(
    readonly slots: number,
    readonly stride: number,
    readonly width: number,
  ) {
    this.data = new Float64Array(slots * stride);
  }

  sync(now: number): void {
    const epoch = Math.floor(now / this.width);
    if (!Number.isFinite(epoch)) return;
    if (this.epoch === undefined) {
      this.epoch = epoch;
      return;
    }
    // A clock that went backwards keeps the current slice.
    if (epoch <= this.epoch) return;
    const steps = Math.min(epoch - this.epoch, this.slots);
    for (let s = 0; s < steps; s++) {
      this.slot = this.slot + 1 === this.slots ? 0 : this.slot + 1;
      const o = this.slot * this.stride;
      this.data.fill(0, o, o + this.stride);
    }
    this.offset = this.slot * this.stride;
    this.epoch = epoch;
  }

  /** Adds the `k` most recent slices (current one included) into `into`. */
  sum(k: number, into: Float64Array): void {
    into.fill(0);
    const { data, stride, slots } = this;
    let s = this.slot;
    for (let j = 0; j < k; j++) {
      const o = s * stride;
      for (let i = 0; i < stride; i++) into[i]! += data[o + i] as number;
      s = s === 0 ? slots - 1 : s - 1;
    }
  }
}

export class SloWindow implements ObservationTap {
  private readonly recent: Ring;
  private readonly budget: Ring;
  /** Finite bounds of the target histogram. */
  readonly bounds: Float64Array;
  private readonly errorSlot: number;
  private readonly latency: boolean;
  /** Bucket index of the latency threshold; a bucket above it is a slow call. */
  private readonly thresholdIndex: number;
  private readonly scratch: Float64Array;
  private readonly budgetScratch = new Float64Array(2);
  readonly shortSlices: number;
  readonly longSlices: number;

  constructor(readonly slo: ResolvedSlo) {
    const e = slo.evaluation;
    this.bounds = Float64Array.from(slo.bounds);
    const buckets = this.bounds.length + 1;
    this.errorSlot = buckets;
    this.shortSlices = e.shortWindow.ms / e.slice.ms;
    this.longSlices = e.longWindow.ms / e.slice.ms;
    this.recent = new Ring(this.longSlices, buckets + 1, e.slice.ms);
    this.budget = new Ring(slo.window.ms / e.budgetSlice.ms, 2, e.budgetSlice.ms);
    this.latency = slo.latency !== undefined;
    this.thresholdIndex = slo.latency?.thresholdIndex ?? -1;
    this.scratch = new Float64Array(buckets + 1);
  }

  /** The hot path: one observation, by bucket index. */
  observe(bucket: number, error: boolean): void {
    const r = this.recent;
    r.data[r.offset + bucket]! += 1;
    if (error) r.data[r.offset + this.errorSlot]! += 1;
    const g = this.budget;
    g.data[g.offset]! += 1;
    if (this.latency ? bucket > this.thresholdIndex : error) g.data[g.offset + 1]! += 1;
  }

  /** Advances both rings to `now` (clock milliseconds), zeroing the slices that expired. */
  sync(now: number): void {
    this.recent.sync(now);
    this.budget.sync(now);
  }

  /**
   * Counts over the `slices` most recent slices. Leaves their bucket counts in the
   * scratch buffer for {@link SloWindow.quantile} until the next call.
   */
  counts(slices: number): WindowCounts {
    const c = this.scratch;
    this.recent.sum(slices, c);
    let requests = 0;
    let slow = 0;
    for (let i = 0; i < this.errorSlot; i++) {
      requests += c[i] as number;
      if (i > this.thresholdIndex) slow += c[i] as number;
    }
    const errors = c[this.errorSlot] as number;
    return { requests, errors, bad: this.latency ? slow : errors };
  }

  /** `histogram_quantile(q)` over the span of the last {@link SloWindow.counts} call. */
  quantile(q: number): number {
    return bucketQuantile(q, this.bounds, this.scratch);
  }

  /** Total and bad events over the SLO window (as far back as the process has run). */
  budgetCounts(): { readonly requests: number; readonly bad: number } {
    const c = this.budgetScratch;
    this.budget.sum(this.budget.slots, c);
    return { requests: c[0] as number, bad: c[1] as number };
  }

  /** Bytes held in typed arrays (the part that scales with the configuration). */
  get byteLength(): number {
    return this.recent.data.byteLength + this.budget.data.byteLength + this.bounds.byteLength + this.scratch.byteLength + this.budgetScratch.byteLength;
  }
}
