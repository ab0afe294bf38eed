import { describe, expect, it } from 'vitest';
import { isConfigError } from '../errors.js';
import {
  boolean, func, intIn, nonEmptyString, nonNegative, numberIn, object, oneOf, onlyKeys, optionalFunc, optionsObject, positive,
  positiveInt, string, stringSet, timerMs,
} from './validate.js';

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isConfigError(e)) return e.message;
    throw e;
  }
  throw new Error('nothing was thrown');
}

describe('option checkers', () => {
  it.each<[string, () => unknown, string]>([
    ['object', () => object([], 'p'), 'p: expected an object, got array(0)'],
    ['optionsObject', () => optionsObject(null, 'p'), 'p: expected an options object, got null'],
    ['onlyKeys', () => onlyKeys({ a: 1, b: 2 }, ['a'], 'p'), 'p.b: expected no such key (known keys: a), got "b"'],
    ['nonEmptyString', () => nonEmptyString('  ', 'p'), 'p: expected a non-empty string, got "  "'],
    ['string', () => string(1, 'p'), 'p: expected a string, got 1'],
    ['stringSet item', () => stringSet(['a', ''], 'p'), 'p[1]: expected a non-empty string, got ""'],
    ['stringSet', () => stringSet('a', 'p'), 'p: expected an array of strings, got "a"'],
    ['func', () => func(1, 'p'), 'p: expected a function, got 1'],
    ['optionalFunc', () => optionalFunc('x', 'p'), 'p: expected a function, got "x"'],
    ['boolean', () => boolean('yes', 'p', true), 'p: expected a boolean, got "yes"'],
    ['oneOf', () => oneOf('c', ['a', 'b'], 'p'), 'p: expected one of a, b, got "c"'],
    ['positiveInt', () => positiveInt(0, 'p', 1), 'p: expected a positive integer, got 0'],
    ['intIn', () => intIn(2.5, 'p', 0, Infinity, 0), 'p: expected an integer from 0 to Infinity, got 2.5'],
    ['positive', () => positive(Infinity, 'p', 1), 'p: expected a finite number > 0, got Infinity'],
    ['nonNegative', () => nonNegative(-1, 'p', 0), 'p: expected a finite number >= 0, got -1'],
    ['numberIn', () => numberIn(101, 'p', 0, 100), 'p: expected a number from 0 to 100, got 101'],
    ['timerMs', () => timerMs(2 ** 31, 'p', 1), 'p: expected a number of milliseconds > 0 and <= 2147483647, got 2147483648'],
  ])('%s says what it expected, in one wording', (_name, fn, text) => {
    expect(message(fn)).toBe(text);
  });

  it('returns the fallback for undefined, and requires a value without one', () => {
    expect(positiveInt(undefined, 'p', 7)).toBe(7);
    expect(boolean(undefined, 'p', false)).toBe(false);
    expect(intIn(undefined, 'p', 1, 3, 2)).toBe(2);
    expect(timerMs(undefined, 'p', 5)).toBe(5);
    expect(string(undefined, 'p', 'd')).toBe('d');
    expect(message(() => positiveInt(undefined, 'p'))).toBe('p: expected a positive integer, got undefined');
    expect(message(() => timerMs(undefined, 'p'))).toBe('p: expected a number of milliseconds > 0 and <= 2147483647, got undefined');
    expect(message(() => intIn(undefined, 'p', 1, 3))).toBe('p: expected an integer from 1 to 3, got undefined');
  });

  it('returns valid values unchanged', () => {
    const o = { a: 1 };
    expect(object(o, 'p')).toBe(o);
    expect(optionsObject(o, 'p')).toBe(o);
    expect(nonEmptyString(' x ', 'p')).toBe(' x ');
    expect([...stringSet(['a', 'b', 'a'], 'p')]).toEqual(['a', 'b']);
    expect(oneOf('b', ['a', 'b'], 'p')).toBe('b');
    expect(intIn(Infinity, 'p', 0, Infinity, 0)).toBe(Infinity);
    expect(optionalFunc(undefined, 'p')).toBeUndefined();
  });
});
