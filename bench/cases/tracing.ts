/**
 * Tracing cost per instrumented call, in two suites because a tracer provider is global:
 *
 * - `tracing`: no SDK registered (the default state of a service that does not trace).
 *   Ours with tracing off (metrics only) vs ours with tracing on: the difference is what
 *   the "is anyone listening?" check costs. Also the API's own no-op path done by hand
 *   (`tracer.startActiveSpan` on the API without an SDK), and a correlation scope.
 * - `tracing-sdk`: an SDK registered (BasicTracerProvider, AsyncLocalStorage context
 *   manager, W3C propagator, BatchSpanProcessor into an exporter that drops everything).
 *   Ours with spans, with and without exemplars, vs a raw `tracer.startActiveSpan` done by
 *   hand (span only, no metric).
 */
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { catalog, createObservability, type Observability } from 'agent-observability';
import type { AsyncCase, Suite, SyncCase } from '../harness.js';

const asyncTool = async (x: number): Promise<number> => x + 1;
const syncTool = (x: number): number => x + 1;

function handles(options: Parameters<typeof createObservability>[0], tool: string) {
  const obs = createObservability({ runtimeMetrics: false, logger: false, ...options });
  return {
    obs,
    wrappedAsync: obs.instrumentTool(asyncTool, { tool: `${tool}_async`, agent: 'a' }),
    wrappedSync: obs.instrumentTool(syncTool, { tool: `${tool}_sync`, agent: 'a' }),
  };
}

/** The attributes our tool spans carry, so the hand-written span does the same work. */
const ATTRIBUTES = Object.freeze({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search', 'gen_ai.agent.name': 'a' });

/** A hand-written span around the call, as a careful user of the OpenTelemetry API would. */
function rawAsync(tracer: Tracer): (i: number) => Promise<number> {
  return (i) =>
    tracer.startActiveSpan('execute_tool search', { attributes: ATTRIBUTES }, (span) => {
      const p = asyncTool(i);
      p.then(
        () => span.end(),
        () => span.end(),
      );
      return p;
    });
}
function rawSync(tracer: Tracer): (i: number) => number {
  return (i) =>
    tracer.startActiveSpan('execute_tool search', { attributes: ATTRIBUTES }, (span) => {
      try {
        return syncTool(i);
      } finally {
        span.end();
      }
    });
}

async function recorded(obs: Observability, tool: string): Promise<{ count: number; exemplars: number }> {
  const body = (await obs.metrics('application/openmetrics-text')).body.split('\n');
  const count = body
    .filter((l) => l.startsWith(`${catalog.toolDuration.name}_count{`) && l.includes(`gen_ai_tool_name="${tool}"`))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  const exemplars = body.filter((l) => l.startsWith(`${catalog.toolDuration.name}_bucket{`) && l.includes(`gen_ai_tool_name="${tool}"`) && l.includes(' # {')).length;
  return { count, exemplars };
}

/** No SDK registered. */
export function tracingSuite(): Suite {
  const off = handles({ tracing: false }, 'off');
  const on = handles({}, 'on');
  const noop = trace.getTracer('bench');
  const asyncCases: AsyncCase[] = [
    { id: 'bare', label: '1. bare call', op: (i) => asyncTool(i) },
    { id: 'metrics', label: '2. ours, tracing: false (metrics only)', op: (i) => off.wrappedAsync(i) },
    { id: 'nosdk', label: '3. ours, tracing on, no provider registered', op: (i) => on.wrappedAsync(i) },
    { id: 'scope', label: '4. ours in obs.withCorrelation(id, ...) per call', op: (i) => on.obs.withCorrelation('bench-id', () => on.wrappedAsync(i)) },
    { id: 'api-noop', label: '5. raw tracer.startActiveSpan, API without SDK', op: rawAsync(noop) },
  ];
  const syncCases: SyncCase[] = [
    { id: 'bare', label: '1. bare call', op: (i) => syncTool(i) },
    { id: 'metrics', label: '2. ours, tracing: false (metrics only)', op: (i) => off.wrappedSync(i) },
    { id: 'nosdk', label: '3. ours, tracing on, no provider registered', op: (i) => on.wrappedSync(i) },
    { id: 'api-noop', label: '5. raw tracer.startActiveSpan, API without SDK', op: rawSync(noop) },
  ];
  return {
    id: 'tracing',
    title: 'Spans with no tracer provider registered',
    description:
      'A trivial tool through `instrumentTool` with tracing off (`tracing: false`) and on (the default) while no OpenTelemetry SDK is ' +
      'registered: the difference is the per-call "is a provider registered?" check (one global load). Also the API\'s own no-op path ' +
      '(`trace.getTracer().startActiveSpan` by hand, no SDK) and a correlation scope entered per call.',
    groups: [
      { id: 'async', title: 'async tool, no SDK', mode: 'async', baseline: 'bare', cases: asyncCases },
      { id: 'sync', title: 'sync tool, no SDK', mode: 'sync', baseline: 'bare', cases: syncCases },
    ],
    ratios: [
      { label: 'async: tracing on / tracing off (added)', group: 'async', numerator: 'nosdk', denominator: 'metrics' },
      { label: 'sync: tracing on / tracing off (added)', group: 'sync', numerator: 'nosdk', denominator: 'metrics' },
      { label: 'async: raw API no-op span / ours tracing on (added)', group: 'async', numerator: 'api-noop', denominator: 'nosdk' },
      { label: 'sync: raw API no-op span / ours tracing on (added)', group: 'sync', numerator: 'api-noop', denominator: 'nosdk' },
    ],
    verify: async () => {
      if (trace.getActiveSpan() !== undefined) throw new Error('tracing: a span leaked into the bench context');
      for (const [h, t] of [[off, 'off'], [on, 'on']] as const) {
        for (const kind of ['async', 'sync']) {
          const r = await recorded(h.obs, `${t}_${kind}`);
          if (!(r.count > 0)) throw new Error(`tracing: nothing recorded by ${t}_${kind}`);
          if (r.exemplars > 0) throw new Error(`tracing: exemplars without an SDK on ${t}_${kind}`);
        }
      }
    },
    dispose: async () => {
      await off.obs.shutdown();
      await on.obs.shutdown();
    },
  };
}

/** An SDK registered: BatchSpanProcessor into an exporter that only counts. */
export function tracingSdkSuite(): Suite {
  let exported = 0;
  const exporter: SpanExporter = {
    export(spans: ReadableSpan[], done) {
      exported += spans.length;
      done({ code: 0 });
    },
    shutdown: async () => {},
  };
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  const cm = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(cm);
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));

  const off = handles({ tracing: false }, 'off');
  const spans = handles({ tracing: { exemplars: false } }, 'spans');
  const full = handles({}, 'full');
  const tracer = trace.getTracer('bench');
  return {
    id: 'tracing-sdk',
    title: 'Spans with an SDK (BatchSpanProcessor, exporter that drops)',
    description:
      'The same trivial tool with an OpenTelemetry SDK registered (BasicTracerProvider, AsyncLocalStorage context manager, W3C ' +
      'propagator, BatchSpanProcessor into a no-op exporter). Ours: metrics only, + span, + span + exemplar; against a raw ' +
      '`tracer.startActiveSpan` written by hand with the same three GenAI attributes (span only, no metric). One clock pair serves ' +
      'both the span and the metric.',
    groups: [
      {
        id: 'async',
        title: 'async tool, SDK registered',
        mode: 'async',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: '1. bare call', op: (i) => asyncTool(i) },
          { id: 'metrics', label: '2. ours, tracing: false (metrics only)', op: (i) => off.wrappedAsync(i) },
          { id: 'spans', label: '3. ours, span, exemplars off', op: (i) => spans.wrappedAsync(i) },
          { id: 'full', label: '4. ours, span + exemplar (default)', op: (i) => full.wrappedAsync(i) },
          { id: 'raw', label: '5. raw tracer.startActiveSpan by hand (no metric)', op: rawAsync(tracer) },
        ],
      },
      {
        id: 'sync',
        title: 'sync tool, SDK registered',
        mode: 'sync',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: '1. bare call', op: (i) => syncTool(i) },
          { id: 'metrics', label: '2. ours, tracing: false (metrics only)', op: (i) => off.wrappedSync(i) },
          { id: 'spans', label: '3. ours, span, exemplars off', op: (i) => spans.wrappedSync(i) },
          { id: 'full', label: '4. ours, span + exemplar (default)', op: (i) => full.wrappedSync(i) },
          { id: 'raw', label: '5. raw tracer.startActiveSpan by hand (no metric)', op: rawSync(tracer) },
        ],
      },
    ],
    ratios: [
      { label: 'async: ours span + exemplar + metric / raw span only (added)', group: 'async', numerator: 'full', denominator: 'raw' },
      { label: 'async: exemplar on / off (added)', group: 'async', numerator: 'full', denominator: 'spans' },
      { label: 'sync: ours span + exemplar + metric / raw span only (added)', group: 'sync', numerator: 'full', denominator: 'raw' },
      { label: 'sync: exemplar on / off (added)', group: 'sync', numerator: 'full', denominator: 'spans' },
    ],
    verify: async () => {
      await provider.forceFlush();
      if (!(exported > 0)) throw new Error('tracing-sdk: no span reached the exporter');
      for (const kind of ['async', 'sync']) {
        const f = await recorded(full.obs, `full_${kind}`);
        const s = await recorded(spans.obs, `spans_${kind}`);
        if (!(f.count > 0 && f.exemplars > 0)) throw new Error(`tracing-sdk: full_${kind} recorded ${f.count} calls, ${f.exemplars} exemplars`);
        if (!(s.count > 0) || s.exemplars > 0) throw new Error(`tracing-sdk: spans_${kind} recorded ${s.count} calls, ${s.exemplars} exemplars`);
      }
    },
    dispose: async () => {
      for (const h of [off, spans, full]) await h.obs.shutdown();
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      cm.disable();
      context.disable();
    },
  };
}
