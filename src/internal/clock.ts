/**
 * The handle's monotonic clock, in milliseconds. The default is `performance.now()` and is
 * trusted: it cannot throw or return a non-finite value, so it is used bare (recorders and
 * tracing test for it by identity and read `performance.now()` inline). A user clock
 * (`createObservability({ clock })`) is wrapped once by {@link guardClock}, and every
 * capability reads that one wrapper, so a bad reading is handled the same way everywhere.
 */
// The module's `performance`, not the global: on Node 24 the global is a lazy accessor read on every call.
import { performance } from 'node:perf_hooks';
import type { Diag } from './diag.js';

/** The default clock (monotonic ms). Readers given this very function skip the guard a user clock needs. */
export const defaultClock = (): number => performance.now();

/**
 * The clock to hand to capabilities: `defaultClock` itself when none was given, else `clock`
 * wrapped so that it never throws. A reading that throws or is not a finite number becomes
 * `NaN`, which every reader takes as "no reading" (no duration is observed, no window moves,
 * the tracer reads its own clock), and is reported once, here, through
 * `diag.error('clock', e)`: counted in `agentobs_internal_errors_total{component="clock"}`,
 * logged once per error class.
 *
 * Why not fall back to `performance.now()` for that reading: a user clock runs on its own
 * time base (a fake clock in tests starts at 0), so a duration between one of its readings
 * and a `performance.now()` reading would be recorded as a bogus value.
 */
export function guardClock(clock: (() => number) | undefined, diag: Diag): () => number {
  if (clock === undefined || clock === defaultClock) return defaultClock;
  return () => {
    let t: unknown;
    try {
      t = clock();
    } catch (e) {
      diag.error('clock', e);
      return NaN;
    }
    if (typeof t === 'number' && Number.isFinite(t)) return t;
    diag.error('clock', new RangeError('clock returned a non-finite value'));
    return NaN;
  };
}
