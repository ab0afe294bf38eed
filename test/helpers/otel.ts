/**
 * An in-process OpenTelemetry SDK for tests: spans land in an InMemorySpanExporter
 * through a SimpleSpanProcessor, context flows through AsyncLocalStorage, and W3C trace
 * context + baggage are the propagators (what `NodeSDK` sets up by default).
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type Sampler,
} from '@opentelemetry/sdk-trace-base';

export interface TestTracing {
  readonly exporter: InMemorySpanExporter;
  readonly provider: BasicTracerProvider;
  /** Finished spans so far. */
  spans(): ReadableSpan[];
  /** Forgets the finished spans. */
  reset(): void;
  /** Shuts the provider down and unregisters every global it set. */
  uninstall(): Promise<void>;
}

export function installTestTracing(options: { sampler?: Sampler; propagator?: boolean } = {}): TestTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    ...(options.sampler === undefined ? {} : { sampler: options.sampler }),
  });
  const cm = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(cm);
  trace.setGlobalTracerProvider(provider);
  if (options.propagator !== false) {
    propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  }
  return {
    exporter,
    provider,
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    uninstall: async () => {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      cm.disable();
      context.disable();
    },
  };
}

/** `parentSpanContext.spanId` of a span (SDK 2.x), or undefined for a root. */
export function parentId(s: ReadableSpan): string | undefined {
  return s.parentSpanContext?.spanId;
}

/** Duration of a span in seconds. */
export function seconds(s: ReadableSpan): number {
  return s.duration[0] + s.duration[1] / 1e9;
}
