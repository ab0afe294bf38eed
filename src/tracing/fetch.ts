/**
 * An instrumented `fetch`: every outgoing request carries the W3C trace context and the
 * correlation header, and (with a tracer provider) runs in a CLIENT span named by its
 * method, per the HTTP semantic conventions. `url.full` is recorded without its query
 * string and credentials, which often hold secrets.
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { OTHER } from '../metrics/labels.js';
import { normalizeMethod } from './middleware.js';
import { injectInto } from './propagation.js';
import { liveTracer } from './provider.js';
import { cleanText, SPAN_ATTRIBUTES, recordFailure } from './spans.js';
import type { TracingState } from './state.js';

/** The shape of `fetch`; undici's, node-fetch's and the global one all fit. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

function urlAttributes(input: string | URL | Request): Attributes {
  try {
    const u = new URL(input instanceof Request ? input.url : input);
    const port = u.port === '' ? (u.protocol === 'https:' ? 443 : u.protocol === 'http:' ? 80 : undefined) : Number(u.port);
    const out: Attributes = {
      'url.full': cleanText(`${u.protocol}//${u.host}${u.pathname}`, 512),
      'server.address': cleanText(u.hostname, 256),
    };
    if (port !== undefined) out['server.port'] = port;
    return out;
  } catch {
    return {};
  }
}

/** Returns `fetchImpl` wrapped: same call shape, same response, same errors. */
export function instrumentFetch<F extends FetchLike>(state: TracingState, fetchImpl: F): F {
  const traced = function (this: unknown, input: string | URL | Request, init?: RequestInit): Promise<Response> {
    let headers: Headers;
    let method: string;
    try {
      headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    } catch {
      // Bad headers or input: let fetch itself report it, exactly as without us.
      return fetchImpl.call(this, input, init);
    }
    const tracer = state.options.spans ? liveTracer() : undefined;
    if (tracer === undefined) {
      injectInto(state, headers, context.active());
      return fetchImpl.call(this, input, { ...init, headers });
    }
    const t0 = state.now();
    const m = normalizeMethod(method);
    const parent = context.active();
    let span: Span;
    // The span's end uses the base it started on.
    const base = state.spanBase(t0);
    try {
      const startTime = state.spanTime(base, t0);
      const attributes: Attributes = { 'http.request.method': m, ...urlAttributes(input) };
      const id = state.current()?.id;
      if (id !== undefined) attributes[SPAN_ATTRIBUTES.correlationId] = id;
      span = tracer.startSpan(
        m === OTHER ? 'HTTP' : m,
        startTime === undefined ? { kind: SpanKind.CLIENT, attributes } : { kind: SpanKind.CLIENT, attributes, startTime },
        parent,
      );
    } catch (e) {
      state.ctx.diag.error('tracing', e);
      injectInto(state, headers, parent);
      return fetchImpl.call(this, input, { ...init, headers });
    }
    const s = span;
    const ctx = trace.setSpan(parent, s);
    injectInto(state, headers, ctx);
    let p: Promise<Response>;
    try {
      p = context.with(ctx, () => fetchImpl.call(this, input, { ...init, headers }));
    } catch (e) {
      recordFailure(s, e, state.ctx.errorTypeFilter(errorTypeOf(e)), undefined, state);
      s.end();
      throw e;
    }
    return p.then(
      (res) => {
        try {
          const t1 = state.now();
          s.setAttribute('http.response.status_code', res.status);
          if (res.status >= 400) {
            s.setAttribute(SPAN_ATTRIBUTES.errorType, String(res.status));
            s.setStatus({ code: SpanStatusCode.ERROR, message: String(res.status) });
          }
          s.end(state.spanTime(base, t1));
        } catch (e) {
          state.ctx.diag.error('tracing', e);
        }
        return res;
      },
      (err: unknown) => {
        try {
          const t1 = state.now();
          recordFailure(s, err, state.ctx.errorTypeFilter(errorTypeOf(err)), state.spanTime(base, t1), state);
          s.end(state.spanTime(base, t1));
        } catch (e) {
          state.ctx.diag.error('tracing', e);
        }
        throw err;
      },
    );
  };
  Object.defineProperty(traced, 'name', { value: fetchImpl.name, configurable: true });
  return traced as unknown as F;
}

/** `error.type` of a failed request: the error's code (undici sets `cause.code`, e.g. `ECONNREFUSED`) or name. */
function errorTypeOf(err: unknown): string {
  const pick = (e: unknown): string | undefined => {
    if (typeof e !== 'object' || e === null) return undefined;
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(code) ? code : undefined;
  };
  try {
    const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
    return pick((err as { cause?: unknown } | null)?.cause) ?? pick(err) ?? (typeof name === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(name) ? name : '_OTHER');
  } catch {
    return '_OTHER';
  }
}
