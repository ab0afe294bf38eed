import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCorrelationId, generateCorrelationId, isValidCorrelationId, MAX_CORRELATION_ID_LENGTH } from './id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ALLOWED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-';

describe('generateCorrelationId', () => {
  it('makes RFC 9562 UUIDv7s carrying the creation time in milliseconds', () => {
    const now = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    const id = generateCorrelationId(now);
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(now);
    expect(isValidCorrelationId(id)).toBe(true);
  });

  it('is unique and sorts by creation time across milliseconds', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => generateCorrelationId(1_700_000_000_000 + Math.floor(i / 100)));
    expect(new Set(ids).size).toBe(ids.length);
    const firstOfEachMs = ids.filter((_, i) => i % 100 === 0);
    expect([...firstOfEachMs].sort()).toEqual(firstOfEachMs);
  });
});

describe('checkCorrelationId', () => {
  it('keeps 1-128 characters of [A-Za-z0-9._:-], whatever they are', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...ALLOWED), minLength: 1, maxLength: MAX_CORRELATION_ID_LENGTH }), (s) => {
        expect(checkCorrelationId(s)).toBe('ok');
        expect(isValidCorrelationId(s)).toBe(true);
      }),
    );
    // Values that look like the verdicts are still just IDs.
    expect(checkCorrelationId('invalid')).toBe('ok');
    expect(checkCorrelationId('too_long')).toBe('ok');
  });

  it('rejects anything with another character: control, CR/LF, space, unicode, quotes', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...ALLOWED), maxLength: 60 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }).filter((s) => [...s].some((c) => !ALLOWED.includes(c))),
        fc.string({ unit: fc.constantFrom(...ALLOWED), maxLength: 60 }),
        (a, bad, b) => {
          expect(checkCorrelationId(a + bad + b)).toBe('invalid');
          expect(isValidCorrelationId(a + bad + b)).toBe(false);
        },
      ),
    );
    for (const v of ['a\r\nX-Injected: 1', 'tab\there', 'é', '\u202e', 'a b', '"x"', 'a,b', 'id\u0000']) expect(checkCorrelationId(v)).toBe('invalid');
  });

  it('reports values over 128 characters as too long, and non-strings as invalid', () => {
    expect(checkCorrelationId('a'.repeat(128))).toBe('ok');
    expect(checkCorrelationId('a'.repeat(129))).toBe('too_long');
    expect(checkCorrelationId('\n'.repeat(10_000))).toBe('too_long');
    expect(checkCorrelationId(['a', 'b'])).toBe('invalid');
    expect(checkCorrelationId(42)).toBe('invalid');
  });

  it('treats undefined and the empty string as absent', () => {
    expect(checkCorrelationId(undefined)).toBe('absent');
    expect(checkCorrelationId('')).toBe('absent');
  });
});
