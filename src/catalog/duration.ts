/**
 * Prometheus-style durations (`5m`, `1h30m`, `30d`): parsed once at configuration time,
 * printed back in one canonical form so rule files and in-process labels agree.
 */

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
] as const;

// Prometheus' own grammar (model.ParseDuration): units from longest to shortest, each at most once.
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const FACTORS = [31_536_000_000, 604_800_000, 86_400_000, 3_600_000, 60_000, 1000, 1];

/** Milliseconds of a Prometheus duration, or `undefined` when `text` is not one (or is zero). */
export function parseDuration(text: string): number | undefined {
  if (text === '') return undefined;
  const m = DURATION.exec(text);
  if (m === null) return undefined;
  let ms = 0;
  for (let i = 0; i < FACTORS.length; i++) {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part) * (FACTORS[i] as number);
  }
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}

/** The canonical Prometheus form of `ms` (largest unit first, days at most): 90000 → `1m30s`. */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`not a positive whole number of milliseconds: ${ms}`);
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

/** A short human form for alert texts: `2d 2h`, `50m`, `1h 30m`. */
export function humanDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1000) * 1000;
  for (const [unit, size] of UNITS) {
    if (unit === 'ms') break;
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n}${unit}`);
      rest -= n * size;
    }
    if (parts.length === 2) break;
  }
  return parts.length === 0 ? '0s' : parts.join(' ');
}
