/**
 * Reading HTTP facts off errors and responses without trusting them: status codes from
 * `err.status` / `err.statusCode` / `err.response.status`, and header values from fetch
 * `Headers`, Map-like objects (`get`/`forEach`) or plain objects (any key case, string,
 * number or array values). Bounded work per lookup; nothing here throws.
 */
import { readField } from '../internal/read.js';

/** Headers as SDKs hand them over: fetch `Headers`, a Map, Axios headers, or a plain object. */
export type HeadersLike = { get(name: string): unknown } | Readonly<Record<string, unknown>>;

/** Most header entries we look through in one object (a hostile object cannot make us loop long). */
const MAX_ENTRIES = 256;
/** Longest header value we read; anything longer is hostile for our purposes. */
export const MAX_VALUE_LENGTH = 256;


/** The HTTP status an error carries, if any (100-599). */
export function statusOf(err: unknown): number | undefined {
  const response = readField(err, 'response');
  for (const v of [readField(err, 'status'), readField(err, 'statusCode'), readField(response, 'status'), readField(response, 'statusCode')]) {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599) return v;
  }
  return undefined;
}

/** The headers an error (or response) carries: `err.headers`, else `err.response.headers`. */
export function headersOf(err: unknown): unknown {
  return readField(err, 'headers') ?? readField(readField(err, 'response'), 'headers');
}

function normalize(v: unknown): string | undefined {
  if (Array.isArray(v)) v = v[0];
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return undefined;
  return v;
}

/**
 * Calls `visit(lowercaseName, value)` for each header entry (at most {@link MAX_ENTRIES}).
 * Values that are not strings, numbers or arrays of strings are passed as `undefined`.
 */
export function forEachHeader(headers: unknown, visit: (name: string, value: string | undefined) => void): void {
  if (typeof headers !== 'object' || headers === null) return;
  let n = 0;
  try {
    const each = (headers as { forEach?: unknown }).forEach;
    if (typeof each === 'function' && !Array.isArray(headers)) {
      // fetch Headers and Map call back (value, key).
      (each as (cb: (v: unknown, k: unknown) => void) => void).call(headers, (v, k) => {
        if (n++ >= MAX_ENTRIES || typeof k !== 'string') return;
        visit(k.toLowerCase(), normalize(v));
      });
      return;
    }
    for (const k of Object.keys(headers)) {
      if (n++ >= MAX_ENTRIES) return;
      visit(k.toLowerCase(), normalize((headers as Record<string, unknown>)[k]));
    }
  } catch {
    // A hostile iterator or getter: stop reading, keep what we have.
  }
}

/** One header's value by lower-case name (case-insensitive for every supported shape). */
export function headerValue(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  try {
    const get = (headers as { get?: unknown }).get;
    if (typeof get === 'function') {
      const v = normalize((get as (n: string) => unknown).call(headers, name));
      if (v !== undefined) return v;
    }
  } catch {
    // fall through to iteration
  }
  let found: string | undefined;
  forEachHeader(headers, (k, v) => {
    if (found === undefined && k === name) found = v;
  });
  return found;
}

const DELTA_SECONDS = /^\s*(\d{1,10})(?:\.\d{1,6})?\s*$/;
const MILLIS = /^\s*(\d{1,12}(?:\.\d{1,6})?)\s*$/;

/**
 * How long the server asked us to wait, in ms, from the headers on an error: OpenAI's and
 * Azure's `retry-after-ms`, else `Retry-After` as delta-seconds or an HTTP date (RFC 9110
 * §10.2.3). `undefined` when absent or unreadable; a date in the past gives 0.
 */
export function retryAfterMs(err: unknown, now: () => number = Date.now): number | undefined {
  const h = headersOf(err);
  if (h === undefined || h === null) return undefined;
  const ms = headerValue(h, 'retry-after-ms');
  if (ms !== undefined && ms.length <= MAX_VALUE_LENGTH) {
    const m = MILLIS.exec(ms);
    if (m !== null) return Number(m[1]);
  }
  const ra = headerValue(h, 'retry-after');
  if (ra === undefined || ra.length > MAX_VALUE_LENGTH) return undefined;
  const secs = DELTA_SECONDS.exec(ra);
  if (secs !== null) return Number(ra.trim()) * 1000;
  const at = Date.parse(ra);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now());
}
