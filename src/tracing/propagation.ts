/**
 * Outbound propagation: W3C `traceparent`/`tracestate`/`baggage` through the registered
 * OpenTelemetry propagator, plus the correlation header. With no tracer provider (so the
 * no-op propagator), the caller's validated `traceparent` is forwarded unchanged (W3C
 * pass-through) so the trace is not cut at this hop.
 */
import { propagation, type Context, type TextMapSetter } from '@opentelemetry/api';
import type { TracingState } from './state.js';

/** A header carrier: a fetch `Headers`, or a plain object of header name to value. */
export type HeaderCarrier = Headers | Record<string, string | string[] | number | undefined>;

const headersSetter: TextMapSetter<Headers> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};
/** An HTTP field value as node:http accepts it (RFC 9110 field-value chars: HTAB, VCHAR, SP, obs-text). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/**
 * A plain-object carrier takes anything, so a value a `Headers` carrier would refuse (CR/LF
 * from a forwarded baggage property, say) is refused here too: the setter throws, and the
 * value is dropped and counted as a propagation error exactly as on the `Headers` path.
 */
const recordSetter: TextMapSetter<Record<string, unknown>> = {
  set(carrier, key, value) {
    if (typeof value !== 'string' || !FIELD_VALUE.test(value)) throw new TypeError(`invalid ${key} header value`);
    carrier[key] = value;
  },
};

function has(headers: HeaderCarrier, key: string): boolean {
  if (headers instanceof Headers) return headers.has(key);
  for (const k in headers) if (k.toLowerCase() === key && headers[k] !== undefined) return true;
  return false;
}

function set(headers: HeaderCarrier, key: string, value: string): void {
  if (headers instanceof Headers) headers.set(key, value);
  else {
    // Replace any differently-cased copy, so a carrier never holds two values for one header.
    for (const k of Object.keys(headers)) if (k !== key && k.toLowerCase() === key) delete headers[k];
    headers[key] = value;
  }
}

/**
 * Writes the trace context of `ctx` and the current correlation ID into `headers` (which
 * is returned). Never throws: a failing propagator is counted as an internal error.
 */
export function injectInto<H extends HeaderCarrier>(state: TracingState, headers: H, ctx: Context): H {
  try {
    if (headers instanceof Headers) propagation.inject(ctx, headers, headersSetter);
    else propagation.inject(ctx, headers as Record<string, unknown>, recordSetter);
  } catch (e) {
    state.ctx.diag.error('propagation', e);
  }
  try {
    const corr = state.current();
    if (corr === undefined) return headers;
    set(headers, state.options.header, corr.id);
    if (corr.traceparent !== undefined && !has(headers, 'traceparent')) {
      set(headers, 'traceparent', corr.traceparent);
      if (corr.tracestate !== undefined && !has(headers, 'tracestate')) set(headers, 'tracestate', corr.tracestate);
    }
  } catch (e) {
    state.ctx.diag.error('propagation', e);
  }
  return headers;
}
