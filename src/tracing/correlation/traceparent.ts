/**
 * A strict W3C Trace Context parser, used for one thing only: when no tracer provider is
 * registered (so the OpenTelemetry propagator is the no-op one), a service still forwards
 * its caller's `traceparent`/`tracestate` unchanged on outbound calls and logs the caller's
 * trace ID, as the W3C spec allows a non-participating hop to do. Anything that is not
 * exactly a valid header is dropped, so a hostile value never travels further.
 */

/** A validated `traceparent`. */
export interface Traceparent {
  /** The header, normalized to version 00 form. */
  readonly header: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^]*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
/** Printable ASCII only; list members are validated by the next participant that cares. */
const TRACESTATE = /^[\x20-\x7e]{1,512}$/;

export function parseTraceparent(v: string | undefined): Traceparent | undefined {
  if (v === undefined || v.length > 512) return undefined;
  const m = TRACEPARENT.exec(v.trim());
  if (m === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  // Version 00 has exactly four fields; later versions may append fields we ignore.
  if (version === '00' && rest !== undefined) return undefined;
  const sampled = (parseInt(flags, 16) & 1) === 1;
  return { header: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`, traceId, spanId, sampled };
}

export function validTracestate(v: string | undefined): v is string {
  return v !== undefined && TRACESTATE.test(v);
}
