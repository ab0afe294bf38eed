import { propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { createObservability, isConfigError } from '../index.js';
import { liveTracer } from './provider.js';
import { startTracing, type TracingSdk } from './sdk.js';

let sdk: TracingSdk | undefined;
afterEach(async () => {
  await sdk?.shutdown();
  sdk = undefined;
});

describe('startTracing (agent-observability/tracing-sdk)', () => {
  it('registers a provider whose spans carry the resource, with ALS context and W3C propagation', async () => {
    const exporter = new InMemorySpanExporter();
    sdk = startTracing({
      serviceName: 'svc-a', serviceVersion: '1.2.3', exporter, batch: false, autoDetectResources: false,
      resourceAttributes: { 'deployment.environment.name': 'test' },
    });
    expect(liveTracer()).toBeDefined();
    const obs = createObservability({ runtimeMetrics: false, logger: false });
    const headers = await obs.agent('a').run(async () => {
      await new Promise((r) => setTimeout(r, 1));
      return obs.tool('t').run(() => obs.injectHeaders({}));
    });
    await obs.shutdown();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['execute_tool t', 'invoke_agent a']);
    expect(spans[0]?.parentSpanContext?.spanId).toBe(spans[1]?.spanContext().spanId);
    expect(headers).toEqual({ traceparent: `00-${spans[0]?.spanContext().traceId}-${spans[0]?.spanContext().spanId}-01` });
    expect(spans[0]?.resource.attributes).toMatchObject({
      'service.name': 'svc-a', 'service.version': '1.2.3', 'deployment.environment.name': 'test',
    });
  });

  it("'none' creates sampled spans (trace IDs for logs and exemplars) and exports nothing", async () => {
    sdk = startTracing({ serviceName: 's', exporter: 'none', autoDetectResources: false });
    const obs = createObservability({ runtimeMetrics: false, logger: false });
    const ids = await obs.tool('t').run(async () => obs.traceIds());
    expect(ids?.sampled).toBe(true);
    expect((await obs.metrics('application/openmetrics-text')).body).toContain(`trace_id="${ids?.traceId}"`);
    await obs.shutdown();
  });

  it('samples new traces by ratio', () => {
    sdk = startTracing({ serviceName: 's', exporter: 'none', sampleRatio: 0, autoDetectResources: false });
    const s = trace.getTracer('t').startSpan('x');
    expect(s.isRecording()).toBe(false);
    s.end();
  });

  it('builds an OTLP exporter without contacting anyone until spans end', async () => {
    sdk = startTracing({ serviceName: 's', otlp: { url: 'http://127.0.0.1:4318/v1/traces' }, autoDetectResources: false });
    expect(liveTracer()).toBeDefined();
    await sdk.forceFlush();
  });

  it('refuses to start over an already registered provider, and restarts after shutdown', async () => {
    sdk = startTracing({ serviceName: 's', exporter: 'none', autoDetectResources: false });
    let err: unknown;
    try {
      startTracing({ serviceName: 's2', exporter: 'none' });
    } catch (e) {
      err = e;
    }
    expect(isConfigError(err)).toBe(true);
    await sdk.shutdown();
    await sdk.shutdown();
    expect(liveTracer()).toBeUndefined();
    expect(propagation.fields()).toEqual([]);
    sdk = startTracing({ serviceName: 's3', exporter: 'none', autoDetectResources: false });
    expect(liveTracer()).toBeDefined();
  });

  it('validates its options', () => {
    const bad: [unknown, string][] = [
      [undefined, 'options: expected an options object'],
      [{ serviceName: '' }, 'serviceName: expected a non-empty string'],
      [{ serviceName: 's', exporter: 'jaeger' }, "exporter: expected 'otlp', 'console', 'none' or a SpanExporter"],
      [{ serviceName: 's', sampleRatio: 2 }, 'sampleRatio: expected a number from 0 to 1'],
      [{ serviceName: 's', otlp: { url: 'localhost:4318' } }, 'otlp.url: expected an http(s) URL'],
      [{ serviceName: 's', resourceAttributes: { a: {} } }, 'resourceAttributes.a: expected a string, number or boolean'],
      [{ serviceName: 's', shutdownOnSignals: 'yes' }, 'shutdownOnSignals: expected a boolean or an array of signal names'],
    ];
    for (const [o, msg] of bad) expect(() => startTracing(o as never)).toThrow(msg);
    expect(liveTracer()).toBeUndefined();
  });

  it('installs and removes its signal handlers', async () => {
    const before = process.listenerCount('SIGTERM');
    sdk = startTracing({ serviceName: 's', exporter: 'none', autoDetectResources: false, shutdownOnSignals: true });
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    await sdk.shutdown();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
