/**
 * Option checkers for every factory: the root options, the capabilities' options, SLO specs
 * and the generator's config. Each returns the checked value or throws one
 * {@link ConfigError} naming the path, and each rule has one wording, so the same mistake
 * reads the same wherever it is made. Forms with a `fallback` return it for `undefined`;
 * without one the value is required.
 *
 * Lives in `catalog/` (which imports nothing but `errors.ts`) so that `catalog/` and
 * `generate/` can use it as well as the capability folders.
 */
import { ConfigError } from '../errors.js';

/** A checked plain object, read key by key. */
export type Obj = Readonly<Record<string, unknown>>;

/** The largest delay `setTimeout` honours; above it Node fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * A plain object: an object literal, `Object.create(null)`, or parsed JSON/YAML (of any
 * realm: the prototype is a root object). Not an array, class instance, Promise, Map, Date
 * or typed array, which documents never hold and which structuredClone/freeze trip over.
 */
function isPlainObj(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null;
}

/** Any object but an array: options objects may be class instances. */
function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A plain object (a document or a map): an object literal or parsed data, not an array or class instance. */
export function object(v: unknown, path: string): Obj {
  if (!isPlainObj(v)) throw new ConfigError(path, 'an object', v);
  return v;
}

/** The options object of a factory or method: not null, not an array (a class instance will do). */
export function optionsObject(v: unknown, path: string): Obj {
  if (!isObj(v)) throw new ConfigError(path, 'an options object', v);
  return v;
}

/** Rejects keys outside `known` (typos in documents would otherwise be ignored silently). */
export function onlyKeys(o: Obj, known: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new ConfigError(`${path}.${k}`, `no such key (known keys: ${known.join(', ')})`, k);
  }
}

/** A string with something besides white space in it (names, descriptions). */
export function nonEmptyString(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(path, 'a non-empty string', v);
  return v;
}

/** Any string, `''` included. */
export function string(v: unknown, path: string): string;
export function string(v: unknown, path: string, fallback: string): string;
export function string(v: unknown, path: string, fallback?: string): string {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string') throw new ConfigError(path, 'a string', v);
  return v;
}

/** An array of non-empty strings (allow-lists, route lists), as a set. */
export function stringSet(v: unknown, path: string): ReadonlySet<string> {
  if (!Array.isArray(v)) throw new ConfigError(path, 'an array of strings', v);
  // An index loop: forEach skips the holes of a sparse array.
  for (let i = 0; i < v.length; i++) nonEmptyString(v[i], `${path}[${i}]`);
  return new Set(v as string[]);
}

/** A function (callbacks, injected implementations). */
export function func<T = (...args: never[]) => unknown>(v: unknown, path: string): T {
  if (typeof v !== 'function') throw new ConfigError(path, 'a function', v);
  return v as T;
}

/** A function, or `undefined`. */
export function optionalFunc<T>(v: T | undefined, path: string): T | undefined {
  if (v !== undefined && typeof v !== 'function') throw new ConfigError(path, 'a function', v);
  return v;
}

export function boolean(v: unknown, path: string): boolean;
export function boolean(v: unknown, path: string, fallback: boolean): boolean;
export function boolean(v: unknown, path: string, fallback?: boolean): boolean {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'boolean') throw new ConfigError(path, 'a boolean', v);
  return v;
}

/** One of a fixed set of strings. */
export function oneOf<T extends string>(v: unknown, values: readonly T[], path: string): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new ConfigError(path, `one of ${values.join(', ')}`, v);
  }
  return v as T;
}

/** An integer >= 1. */
export function positiveInt(v: unknown, path: string): number;
export function positiveInt(v: unknown, path: string, fallback: number): number;
export function positiveInt(v: unknown, path: string, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(path, 'a positive integer', v);
  return v;
}

/** An integer in [min, max] (max may be Infinity, which is then accepted too). */
export function intIn(v: unknown, path: string, min: number, max: number): number;
export function intIn(v: unknown, path: string, min: number, max: number, fallback: number): number;
export function intIn(v: unknown, path: string, min: number, max: number, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !(Number.isInteger(v) || v === Infinity) || v < min || v > max) {
    throw new ConfigError(path, `an integer from ${min} to ${max === Infinity ? 'Infinity' : max}`, v);
  }
  return v;
}

/** A finite number > 0. */
export function positive(v: unknown, path: string): number;
export function positive(v: unknown, path: string, fallback: number): number;
export function positive(v: unknown, path: string, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !(v > 0) || v === Infinity) throw new ConfigError(path, 'a finite number > 0', v);
  return v;
}

/** A finite number >= 0. */
export function nonNegative(v: unknown, path: string): number;
export function nonNegative(v: unknown, path: string, fallback: number): number;
export function nonNegative(v: unknown, path: string, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !(v >= 0) || v === Infinity) throw new ConfigError(path, 'a finite number >= 0', v);
  return v;
}

/** A number in [min, max] (percentages, ratios). */
export function numberIn(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !(v >= min && v <= max)) throw new ConfigError(path, `a number from ${min} to ${max}`, v);
  return v;
}

/** A delay or duration for a timer: milliseconds > 0, at most {@link MAX_TIMER_MS} (setTimeout would fire early). */
export function timerMs(v: unknown, path: string): number;
export function timerMs(v: unknown, path: string, fallback: number): number;
export function timerMs(v: unknown, path: string, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !(v > 0) || v > MAX_TIMER_MS) {
    throw new ConfigError(path, `a number of milliseconds > 0 and <= ${MAX_TIMER_MS}`, v);
  }
  return v;
}
