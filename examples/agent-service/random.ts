/**
 * Seeded randomness. Every task gets its own stream derived from (service seed, task id),
 * so what happens to task `t-17` does not depend on how many tasks ran before it or in
 * what order concurrent requests arrived: the same seed and the same task ids give the
 * same latencies, plans, failures and token counts, run after run.
 */

/** A source of uniform numbers in [0, 1) with a few helpers. */
export interface Rng {
  /** A uniform number in [0, 1). */
  next(): number;
  /** A uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** `true` with probability `p`. Always consumes exactly one draw, whatever `p` is. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
}

/** 32-bit FNV-1a hash of a string. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: small, fast and good enough for simulation (not for cryptography). */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: <T>(items: readonly T[]): T => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new RangeError('pick() needs a non-empty list');
      return item;
    },
  };
}

/** The stream of one task: same `(seed, key)`, same numbers. */
export function rngFor(seed: string, key: string): Rng {
  return createRng(hash32(`${seed}\u0000${key}`));
}

/** A fresh seed for runs that did not ask for one. */
export function randomSeed(): string {
  return Math.floor(Math.random() * 2 ** 32).toString(16);
}

/** A latency in ms, uniform in `mean ± jitter`, never negative. Consumes one draw. */
export function sampleLatencyMs(rng: Rng, meanMs: number, jitterMs: number): number {
  return Math.max(0, meanMs + (2 * rng.next() - 1) * jitterMs);
}

/**
 * Resolves after `ms` milliseconds; with a `signal`, rejects with its reason as soon as it
 * aborts (as an HTTP client does when its request is cancelled), leaving no timer behind.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return new Promise((resolve) => setTimeout(resolve, ms));
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
