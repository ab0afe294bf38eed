/**
 * Recorder times (monotonic `performance.now()` milliseconds) as wall-clock times, for span
 * start/end times and exemplar timestamps.
 *
 * Handing the SDK an `HrTime` tuple is its cheapest input: a number makes every `Span` read
 * `performance.now()` again to tell a monotonic reading from an epoch one, then build three
 * tuples per conversion. And one reading shared by metric and span keeps their durations equal.
 *
 * `performance.timeOrigin + t` drifts from the system clock over a long-lived process (NTP
 * steps, suspend), which is why the SDK measures an offset against `Date.now()` per span. We
 * check the offset at most once a second of recorder time and move the base only when it is
 * off by more than {@link MAX_SKEW_MS} (`Date.now()` is whole milliseconds, so smaller
 * differences are its rounding). A span keeps the base it started with, so a base change
 * never bends a duration.
 */
import type { HrTime } from '@opentelemetry/api';

/** An epoch offset of recorder time, in milliseconds and split into seconds + nanoseconds. Immutable. */
export interface WallBase {
  readonly ms: number;
  readonly sec: number;
  readonly ns: number;
}

const CHECK_EVERY_MS = 1_000;
const MAX_SKEW_MS = 2;

function split(ms: number): WallBase {
  const sec = Math.floor(ms / 1000);
  return { ms, sec, ns: Math.round((ms - sec * 1000) * 1e6) };
}

export class WallClock {
  private base: WallBase;
  private checkedAt: number;

  constructor(
    origin: number,
    /** The system clock (epoch ms), read at most once per {@link CHECK_EVERY_MS} of recorder time. */
    private readonly wallNow: () => number = Date.now,
  ) {
    this.base = split(origin);
    this.checkedAt = 0;
  }

  /** The base for a reading taken at recorder time `t` (finite). */
  baseAt(t: number): WallBase {
    if (t - this.checkedAt >= CHECK_EVERY_MS) this.check(t);
    return this.base;
  }

  /** Epoch milliseconds of recorder time `t` (finite). */
  epochMs(t: number): number {
    return this.baseAt(t).ms + t;
  }

  private check(t: number): void {
    this.checkedAt = t;
    const ms = this.wallNow() - t;
    if (Math.abs(ms - this.base.ms) > MAX_SKEW_MS) this.base = split(ms);
  }
}

/** Recorder time `t` (finite, >= 0) on `base` as an OpenTelemetry `HrTime`, to the nanosecond. */
export function toHrTime(base: WallBase, t: number): HrTime {
  const s = Math.floor(t / 1000);
  let sec = base.sec + s;
  let ns = base.ns + Math.round((t - s * 1000) * 1e6);
  if (ns >= 1e9) {
    sec += 1;
    ns -= 1e9;
  } else if (ns < 0) {
    sec -= 1;
    ns += 1e9;
  }
  return [sec, ns];
}
