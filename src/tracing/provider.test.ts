import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { liveTracer } from './provider.js';

afterEach(() => trace.disable());

describe('liveTracer', () => {
  it('is undefined while no tracer provider is registered', () => {
    expect(liveTracer()).toBeUndefined();
  });

  it('follows registration, replacement and removal of the global provider', () => {
    const a = new BasicTracerProvider();
    trace.setGlobalTracerProvider(a);
    const t1 = liveTracer();
    expect(t1).toBeDefined();
    expect(liveTracer()).toBe(t1);
    const span = t1!.startSpan('x');
    expect(span.isRecording()).toBe(true);
    span.end();

    trace.disable();
    expect(liveTracer()).toBeUndefined();

    trace.setGlobalTracerProvider(new BasicTracerProvider());
    const t2 = liveTracer();
    expect(t2).toBeDefined();
    expect(t2).not.toBe(t1);
  });

  it('notices a delegate swapped on the registered proxy', () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider());
    const t1 = liveTracer();
    const proxy = trace.getTracerProvider() as ProxyTracerProvider;
    proxy.setDelegate(new BasicTracerProvider());
    expect(liveTracer()).not.toBe(t1);
    proxy.setDelegate(new ProxyTracerProvider().getDelegate());
    expect(liveTracer()).toBeUndefined();
  });
});
