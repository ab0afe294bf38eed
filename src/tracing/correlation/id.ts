/**
 * Correlation IDs: generated when a request arrives without one, validated when it
 * arrives with one. A received value is only ever kept when it is at most 128 characters
 * of `[A-Za-z0-9._:-]`, so it is safe in a log line, a response header and a span
 * attribute; anything else is replaced, never echoed.
 */
import { randomUUID } from 'node:crypto';

/** Longest correlation ID we accept. */
export const MAX_CORRELATION_ID_LENGTH = 128;

const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

/** True when `v` is a correlation ID we would keep as received. */
export function isValidCorrelationId(v: unknown): v is string {
  return typeof v === 'string' && VALID.test(v);
}

/**
 * A new UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so IDs sort by
 * creation time. Built from `crypto.randomUUID()` (v4, drawn from Node's pooled entropy):
 * its first 12 hex digits become the timestamp and the version nibble becomes 7; the
 * variant bits are already right.
 */
export function generateCorrelationId(nowMs: number = Date.now()): string {
  const u = randomUUID();
  const ts = Math.max(0, Math.min(0xffffffffffff, Math.floor(nowMs))).toString(16).padStart(12, '0');
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${u.slice(15)}`;
}

/** Why a received value was not kept. */
export type RejectReason = 'too_long' | 'invalid';

/**
 * Classifies a received value (a header arrives as an array when repeated): `'ok'` when it
 * can be kept as is, `'absent'` for `undefined`/`''`, else the reason it must be replaced.
 */
export function checkCorrelationId(raw: unknown): 'ok' | 'absent' | RejectReason {
  if (raw === undefined || raw === null || raw === '') return 'absent';
  if (typeof raw !== 'string') return 'invalid';
  if (raw.length > MAX_CORRELATION_ID_LENGTH) return 'too_long';
  return VALID.test(raw) ? 'ok' : 'invalid';
}
