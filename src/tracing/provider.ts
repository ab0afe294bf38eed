/**
 * "Is anyone listening?" answered once per call for a few nanoseconds.
 *
 * `@opentelemetry/api` keeps its globals on `globalThis[Symbol.for('opentelemetry.js.api.1')]`
 * (a cross-copy contract of API 1.x). `trace.setGlobalTracerProvider(p)` registers the API's
 * ProxyTracerProvider there and sets `p` as its delegate. So with no SDK the slot is empty
 * and the whole check is one symbol-keyed load; with one, it is that load, a
 * `getDelegate()` call and an identity compare against the cached delegate. Our tracer is
 * resolved again only when the registration or the delegate changes (`trace.disable()`, a
 * new SDK), never per call. Going through `trace.getTracer()` instead costs a version
 * check and a proxy per call, and the no-op span it returns still makes callers enter a
 * context: that is the ~2.5 µs "API no-op" cost this module avoids.
 */
import { ProxyTracerProvider, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { VERSION } from '../version.js';

/** The API's global slot. Major version 1: our peer range. */
const GLOBAL_KEY = Symbol.for('opentelemetry.js.api.1');
/** The instrumentation scope of every span we start. */
export const TRACER_NAME = 'agent-observability';

/** The no-op provider a delegate-less proxy returns (a module constant of the API). */
const NOOP_PROVIDER: TracerProvider = new ProxyTracerProvider().getDelegate();

interface GlobalSlot {
  trace?: TracerProvider & { getDelegate?: () => TracerProvider };
}

let seenDelegate: unknown = NOOP_PROVIDER;
let cachedTracer: Tracer | undefined;

function isNoop(p: TracerProvider): boolean {
  // Another (compatible) copy of the API has its own no-op class instance.
  return p === NOOP_PROVIDER || p.constructor?.name === 'NoopTracerProvider';
}

function refresh(delegate: TracerProvider): Tracer | undefined {
  seenDelegate = delegate;
  cachedTracer = undefined;
  if (isNoop(delegate)) return undefined;
  try {
    cachedTracer = delegate.getTracer(TRACER_NAME, VERSION);
  } catch {
    cachedTracer = undefined;
  }
  return cachedTracer;
}

/**
 * Our tracer when a real tracer provider is registered globally, else `undefined`. Cheap
 * enough to call on every instrumented call.
 */
export function liveTracer(): Tracer | undefined {
  const reg = (globalThis as Record<symbol, GlobalSlot | undefined>)[GLOBAL_KEY]?.trace;
  if (reg === undefined) return undefined;
  const delegate = typeof reg.getDelegate === 'function' ? reg.getDelegate() : reg;
  return delegate === seenDelegate ? cachedTracer : refresh(delegate);
}
