import type { HrTime } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHrTime, WallClock } from './wall-clock.js';

/** Exact nanoseconds (a double loses ~256 ns at today's epoch). */
const ns = (hr: HrTime): bigint => BigInt(hr[0]) * 1_000_000_000n + BigInt(hr[1]);

describe('toHrTime', () => {
  it('is the base plus the reading, to the nanosecond, with the nanoseconds always in [0, 1e9)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
        fc.integer({ min: 0, max: 999_999 }),
        fc.integer({ min: 0, max: 10 * 86_400_000 }),
        fc.integer({ min: 0, max: 999_999 }),
        (originMs, originNs, tMs, tNs) => {
          const clock = new WallClock(originMs + originNs / 1e6, () => 0);
          const base = clock.baseAt(0);
          const hr = toHrTime(base, tMs + tNs / 1e6);
          expect(hr[1]).toBeGreaterThanOrEqual(0);
          expect(hr[1]).toBeLessThan(1e9);
          expect(Number.isInteger(hr[0]) && Number.isInteger(hr[1])).toBe(true);
          // Exact in integers: (origin + t) in ns, compared as BigInt (doubles round at this size).
          const expected = (BigInt(originMs) + BigInt(tMs)) * 1_000_000n + BigInt(originNs) + BigInt(tNs);
          const got = ns(hr);
          const diff = got > expected ? got - expected : expected - got;
          // The millisecond fractions are doubles: allow 1 µs of rounding.
          expect(diff <= 1_000n).toBe(true);
        },
      ),
    );
  });

  it('matches what the SDK computes for performance.timeOrigin + now()', () => {
    const t = performance.now();
    const hr = toHrTime(new WallClock(performance.timeOrigin).baseAt(0), t);
    expect(Math.abs(hrTimeToMilliseconds(hr) - (performance.timeOrigin + t))).toBeLessThan(0.001);
  });

  it('keeps durations: the difference of two times on one base is the difference of the readings', () => {
    const base = new WallClock(1_700_000_000_123.456).baseAt(0);
    const a = toHrTime(base, 5_000.75);
    const b = toHrTime(base, 5_002.25);
    expect(ns(b) - ns(a)).toBe(1_500_000n);
  });
});

describe('WallClock', () => {
  // The system clock as a function of recorder time: origin + t + step, in whole milliseconds.
  const origin = 1_700_000_000_000;
  function system(): { clock: WallClock; at: (t: number) => void; step: (ms: number) => void } {
    let t = 0;
    let step = 0;
    const clock = new WallClock(origin, () => Math.floor(origin + t + step));
    return { clock, at: (x) => void (t = x), step: (ms) => void (step += ms) };
  }

  it('follows a system clock step once a second of recorder time has passed, and ignores rounding', () => {
    const s = system();
    s.at(1_000.9); // Date.now() rounds 0.9 ms down: rounding, not drift
    expect(s.clock.epochMs(1_000.9)).toBeCloseTo(origin + 1_000.9, 6);
    s.step(5_000);
    s.at(1_500);
    expect(s.clock.epochMs(1_500)).toBeCloseTo(origin + 1_500, 6); // checked less than 1 s ago
    s.at(2_001);
    expect(s.clock.epochMs(2_001)).toBeCloseTo(origin + 2_001 + 5_000, 6);
    s.step(-1);
    s.at(3_002);
    expect(s.clock.epochMs(3_002)).toBeCloseTo(origin + 3_002 + 5_000, 6); // within the 2 ms tolerance
  });

  it('hands out a base a span can keep: a later change does not alter it', () => {
    const s = system();
    s.at(10);
    const base = s.clock.baseAt(10);
    s.step(60_000);
    s.at(2_000);
    const later = s.clock.baseAt(2_000);
    expect(later.ms - base.ms).toBeCloseTo(60_000, 6);
    expect(ns(toHrTime(base, 2_000)) - ns(toHrTime(base, 10))).toBe(1_990_000_000n);
  });
});
