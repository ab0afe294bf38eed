/** SLO-specific checkers (durations, ratios, slice multiples); the generic ones are in `validate.ts`. Each throws one ConfigError naming the path. */
import { ConfigError } from '../errors.js';
import { formatDuration, parseDuration } from './duration.js';
import type { SloDuration } from './slo-spec.js';

// generate/config.ts still imports these from here; new code imports `validate.ts`.
export { object, onlyKeys, nonEmptyString as text } from './validate.js';

/** Ring lengths above this are a configuration mistake (and memory we will not take). */
const MAX_SLICES = 10_000;

export function ratio(v: unknown, path: string): number {
  if (typeof v !== 'number' || !(v > 0 && v < 1)) throw new ConfigError(path, 'a number strictly between 0 and 1 (0.995 = 99.5 %)', v);
  return v;
}

export function duration(v: unknown, path: string, fallback: string): SloDuration {
  const raw = v ?? fallback;
  const ms = typeof raw === 'string' ? parseDuration(raw) : undefined;
  if (ms === undefined) throw new ConfigError(path, 'a Prometheus duration such as "5m", "1h30m" or "30d"', raw);
  return Object.freeze({ ms, text: formatDuration(ms) });
}

export function multipleOf(d: SloDuration, of: SloDuration, path: string, ofPath: string): number {
  if (d.ms % of.ms !== 0) throw new ConfigError(path, `a multiple of ${ofPath} (${of.text})`, d.text);
  const n = d.ms / of.ms;
  if (n > MAX_SLICES) throw new ConfigError(path, `at most ${MAX_SLICES} slices of ${ofPath} (${of.text}); raise ${ofPath}`, d.text);
  return n;
}

export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}
