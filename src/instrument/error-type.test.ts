import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultErrorType } from './error-type.js';

class RateLimitError extends Error {}
class NamedOnly {
  name = 'NamedOnly';
}

describe('defaultErrorType', () => {
  it.each<[string, unknown, string]>([
    ['a TypeError', new TypeError('boom id=123'), 'TypeError'],
    ['a RangeError', new RangeError('x'), 'RangeError'],
    ['a custom error class', new RateLimitError('slow down'), 'RateLimitError'],
    ['a plain Error (its name)', new Error('x'), 'Error'],
    ['an error with a code', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'ECONNRESET'],
    ['a plain object with a code', { code: 'ECONNRESET' }, 'ECONNRESET'],
    ['a code beats the class', Object.assign(new RateLimitError('x'), { code: 'rate_limited' }), 'rate_limited'],
    ['a numeric code falls back to the class', Object.assign(new RateLimitError('x'), { code: 429 }), 'RateLimitError'],
    ['a code with spaces falls back', Object.assign(new TypeError('x'), { code: 'not a token' }), 'TypeError'],
    ['an over-long code falls back', { code: 'E'.repeat(65), name: 'Fallback' }, 'Fallback'],
    ['an object literal (generic class) with a name', { name: 'AbortError' }, 'AbortError'],
    ['a DOMException uses its name', new DOMException('aborted', 'AbortError'), 'AbortError'],
    ['a non-Error class with a name field', new NamedOnly(), 'NamedOnly'],
    ['a bare object', {}, '_OTHER'],
    ['a null-prototype object', Object.create(null) as object, '_OTHER'],
    ['a string', 'boom', '_OTHER'],
    ['a number', 42, '_OTHER'],
    ['null', null, '_OTHER'],
    ['undefined', undefined, '_OTHER'],
    ['a message is never used', { message: 'user 42 not found' }, '_OTHER'],
  ])('maps %s', (_what, err, want) => {
    expect(defaultErrorType(err)).toBe(want);
  });

  it('returns either a short identifier-like token or _OTHER, for any thrown value', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ code: fc.anything(), name: fc.anything() })), (err) => {
        const t = defaultErrorType(err);
        expect(t === '_OTHER' || /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/.test(t)).toBe(true);
      }),
    );
  });
});
