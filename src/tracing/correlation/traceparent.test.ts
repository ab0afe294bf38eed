import { describe, expect, it } from 'vitest';
import { parseTraceparent, validTracestate } from './traceparent.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('parseTraceparent', () => {
  it('accepts a valid version-00 header', () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({ header: `00-${TRACE}-${SPAN}-01`, traceId: TRACE, spanId: SPAN, sampled: true });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled).toBe(false);
  });

  it('accepts later versions with extra fields, normalized to version 00', () => {
    expect(parseTraceparent(`cc-${TRACE}-${SPAN}-03-what-the-future-holds`)?.header).toBe(`00-${TRACE}-${SPAN}-01`);
  });

  it.each([
    ['upper case', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['extra field in version 00', `00-${TRACE}-${SPAN}-01-x`],
    ['short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['CRLF injection', `00-${TRACE}-${SPAN}-01\r\nx-evil: 1`],
    ['unicode', `00-${TRACE}-${SPAN}-0é`],
    ['oversized', `00-${TRACE}-${SPAN}-01-${'a'.repeat(600)}`],
    ['empty', ''],
  ])('rejects %s', (_what, v) => {
    expect(parseTraceparent(v)).toBeUndefined();
  });

  it('validates tracestate as printable ASCII up to 512 characters', () => {
    expect(validTracestate('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7')).toBe(true);
    expect(validTracestate('a=b\r\nx: y')).toBe(false);
    expect(validTracestate('a=é')).toBe(false);
    expect(validTracestate('a'.repeat(513))).toBe(false);
    expect(validTracestate(undefined)).toBe(false);
  });
});
