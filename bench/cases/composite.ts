/**
 * With an OpenTelemetry SDK registered (BasicTracerProvider, AsyncLocalStorage context
 * manager, W3C propagators, BatchSpanProcessor into an exporter that only counts): ours
 * layer by layer (metrics, + correlation, + span, + span and exemplar, + breaker: the full
 * composite) against a raw span written by hand and two peer composites doing the same
 * work (correlation scope, GenAI span, duration histogram + calls counter, circuit breaker):
 *
 * - naive: what the libraries' READMEs show: `AsyncLocalStorage#run`, `tracer.startActiveSpan`
 *   with an async callback, prom-client `startTimer(labels)` / `inc(labels)`, opossum with its defaults;
 * - tuned: the same peers used carefully: `startSpan` + `context.with`, prom-client children
 *   bound once, opossum lean (no timeout timer, snapshots or percentiles), a `.then` side branch.
 *
 * Ours runs its breaker with the configuration its peer uses: opossum defaults against the
 * naive composite, lean against the tuned one.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import CircuitBreaker from 'opossum';
import { Counter, Histogram, Registry } from 'prom-client';
import { catalog, createObservability, type Observability } from 'agent-observability';
import type { Suite } from '../harness.js';
import { BUCKETS, TOOL_LABELS, asyncTool, now, promCount, promTool, syncTool } from './peers.js';
import { SPAN_ATTRIBUTES, oursCount, rawSpanAsync, rawSpanSync } from './red.js';

const LEAN = { timeout: false, enableSnapshots: false, rollingPercentilesEnabled: false } as const;
const CORRELATION_ATTRIBUTE = 'agentobs.correlation_id';

async function exemplarCount(obs: Observability, tool: string): Promise<number> {
  const body = (await obs.metrics('application/openmetrics-text')).body.split('\n');
  return body.filter((l) => l.startsWith(`${catalog.toolDuration.name}_bucket{`) && l.includes(`gen_ai_tool_name="${tool}"`) && l.includes(' # {')).length;
}

export function compositeSuite(): Suite {
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
  const tracer = trace.getTracer('bench');

  const opts = { runtimeMetrics: false, logger: false } as const;
  const off = createObservability({ ...opts, tracing: false });
  const spans = createObservability({ ...opts, tracing: { exemplars: false } });
  const full = createObservability(opts);
  const offAsync = off.instrumentTool(asyncTool, { tool: 'search', agent: 'a' });
  const offSync = off.instrumentTool(syncTool, { tool: 'lookup', agent: 'a' });
  const spansAsync = spans.instrumentTool(asyncTool, { tool: 'search', agent: 'a' });
  const spansSync = spans.instrumentTool(syncTool, { tool: 'lookup', agent: 'a' });
  const fullAsync = full.instrumentTool(asyncTool, { tool: 'search', agent: 'a' });
  const fullSync = full.instrumentTool(syncTool, { tool: 'lookup', agent: 'a' });
  // The full composite: correlation scope → tool span + RED → metered breaker → the call.
  const breakerDefault = full.circuitBreaker(asyncTool, { name: 'composite_default' });
  const breakerLean = full.circuitBreaker(asyncTool, { name: 'composite_lean', ...LEAN });
  const compositeDefault = full.instrumentTool(breakerDefault.fn, { tool: 'guarded', agent: 'a' });
  const compositeLean = full.instrumentTool(breakerLean.fn, { tool: 'guarded_lean', agent: 'a' });

  // Peers.
  const peerAls = new AsyncLocalStorage<{ readonly id: string }>();
  const scope = { id: 'bench-id' };
  const registry = new Registry();
  const naiveHist = new Histogram({ name: 'naive_tool_duration_seconds', help: 'naive peer', labelNames: TOOL_LABELS, buckets: [...BUCKETS], registers: [registry] });
  const naiveCalls = new Counter({ name: 'naive_tool_calls_total', help: 'naive peer', labelNames: ['gen_ai_tool_name', 'gen_ai_agent_name'] as const, registers: [registry] });
  const opDefault = new CircuitBreaker(asyncTool, { name: 'naive' });
  const naive = (i: number): Promise<number> =>
    peerAls.run({ id: 'bench-id' }, () =>
      tracer.startActiveSpan('execute_tool search', { attributes: SPAN_ATTRIBUTES }, async (span) => {
        span.setAttribute(CORRELATION_ATTRIBUTE, peerAls.getStore()?.id ?? '');
        const end = naiveHist.startTimer({ gen_ai_tool_name: 'search', gen_ai_agent_name: 'a' });
        try {
          const r = await opDefault.fire(i);
          end({ error_type: '' });
          naiveCalls.inc({ gen_ai_tool_name: 'search', gen_ai_agent_name: 'a' });
          return r;
        } catch (e) {
          end({ error_type: e instanceof Error ? e.name : 'Error' });
          span.recordException(e as Error);
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw e;
        } finally {
          span.end();
        }
      }),
    );

  const tunedProm = promTool(registry, 'tuned');
  const opLean = new CircuitBreaker(asyncTool, { name: 'tuned', ...LEAN });
  const fireLean = (i: number): Promise<number> => opLean.fire(i);
  const tunedInner = (i: number): Promise<number> => {
    const parent = context.active();
    const span = tracer.startSpan('execute_tool search', { attributes: SPAN_ATTRIBUTES }, parent);
    span.setAttribute(CORRELATION_ATTRIBUTE, peerAls.getStore()?.id ?? '');
    const t0 = now();
    const p = context.with(trace.setSpan(parent, span), fireLean, undefined, i);
    p.then(
      () => {
        tunedProm.ok.observe((now() - t0) / 1000);
        tunedProm.calls.inc();
        span.end();
      },
      (e: unknown) => {
        tunedProm.err.observe((now() - t0) / 1000);
        span.recordException(e as Error);
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      },
    );
    return p;
  };
  const tuned = (i: number): Promise<number> => peerAls.run(scope, tunedInner, i);

  return {
    id: 'composite',
    title: 'Spans and full composites (OpenTelemetry SDK with BatchSpanProcessor)',
    description:
      'An OpenTelemetry SDK registered: BasicTracerProvider, AsyncLocalStorage context manager, W3C propagators, ' +
      'BatchSpanProcessor into an exporter that drops the spans. Ours: metrics only; + `withCorrelation` per call; + a GenAI ' +
      'tool span (exemplars off); + its exemplar (default options); full composite = `withCorrelation` → `instrumentTool` ' +
      '(span + exemplar + RED) → `obs.circuitBreaker(...).fn` with opossum defaults or lean. Raw span: `startActiveSpan` by ' +
      'hand with the same attributes, no metric. Naive peer composite: `AsyncLocalStorage#run` → `startActiveSpan(async)` → ' +
      'prom-client `startTimer(labels)`/`inc(labels)` → opossum defaults `fire`, awaited. Tuned peer composite: ' +
      '`AsyncLocalStorage#run` → `startSpan` + `context.with` → opossum lean `fire` → bound prom-client children on a `.then` ' +
      'side branch. Every composite stamps the correlation ID on its span.',
    als: true,
    groups: [
      {
        id: 'async',
        title: 'async tool, SDK registered',
        mode: 'async',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: 'bare call', op: (i) => asyncTool(i) },
          { id: 'ours', label: 'ours: metrics only', op: (i) => offAsync(i) },
          { id: 'ours-corr', label: 'ours: + withCorrelation', op: (i) => off.withCorrelation('bench-id', () => offAsync(i)) },
          { id: 'ours-span', label: 'ours: + withCorrelation + span (no exemplar)', op: (i) => spans.withCorrelation('bench-id', () => spansAsync(i)) },
          { id: 'ours-exemplar', label: 'ours: + withCorrelation + span + exemplar', op: (i) => full.withCorrelation('bench-id', () => fullAsync(i)) },
          { id: 'ours-full', label: 'ours: full composite, breaker defaults', op: (i) => full.withCorrelation('bench-id', () => compositeDefault(i)) },
          { id: 'ours-full-lean', label: 'ours: full composite, breaker lean', op: (i) => full.withCorrelation('bench-id', () => compositeLean(i)) },
          { id: 'raw-span', label: 'raw startActiveSpan by hand (span only)', op: rawSpanAsync(tracer) },
          { id: 'naive', label: 'naive peer composite (ALS + span + prom-client + opossum)', op: naive },
          { id: 'tuned', label: 'tuned peer composite (ALS + span + prom-client + opossum lean)', op: tuned },
        ],
      },
      {
        id: 'sync',
        title: 'sync tool, SDK registered',
        mode: 'sync',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: 'bare call', op: (i) => syncTool(i) },
          { id: 'ours', label: 'ours: metrics only', op: (i) => offSync(i) },
          { id: 'ours-span', label: 'ours: span (no exemplar)', op: (i) => spansSync(i) },
          { id: 'ours-exemplar', label: 'ours: span + exemplar', op: (i) => fullSync(i) },
          { id: 'raw-span', label: 'raw startActiveSpan by hand (span only)', op: rawSpanSync(tracer) },
        ],
      },
    ],
    ratios: [
      { label: 'async: ours full (defaults) / naive peer', group: 'async', numerator: 'ours-full', denominator: 'naive' },
      { label: 'async: ours full (lean) / tuned peer', group: 'async', numerator: 'ours-full-lean', denominator: 'tuned' },
      { label: 'async: ours span + exemplar + metric / raw span only', group: 'async', numerator: 'ours-exemplar', denominator: 'raw-span' },
      { label: 'sync: ours span + exemplar + metric / raw span only', group: 'sync', numerator: 'ours-exemplar', denominator: 'raw-span' },
    ],
    verify: async () => {
      await provider.forceFlush();
      if (!(exported > 0)) throw new Error('composite: no span reached the exporter');
      const checks: [string, number][] = [
        ['ours search', await oursCount(() => off.metrics(), 'search')],
        ['ours span search', await oursCount(() => spans.metrics(), 'search')],
        ['ours full search', await oursCount(() => full.metrics(), 'search')],
        ['ours composite', await oursCount(() => full.metrics(), 'guarded')],
        ['ours composite lean', await oursCount(() => full.metrics(), 'guarded_lean')],
        ['ours full exemplars', await exemplarCount(full, 'search')],
        ['naive prom-client', await promCount(naiveHist)],
        ['tuned prom-client', await promCount(tunedProm.hist)],
        ['naive opossum', opDefault.stats.successes],
        ['tuned opossum', opLean.stats.successes],
      ];
      const empty = checks.filter(([, n]) => !(n > 0)).map(([what]) => what);
      if (empty.length > 0) throw new Error(`composite: nothing recorded by ${empty.join(', ')}`);
      if ((await exemplarCount(spans, 'search')) > 0) throw new Error('composite: exemplars with exemplars: false');
    },
    dispose: async () => {
      for (const o of [off, spans, full]) await o.shutdown();
      opDefault.shutdown();
      opLean.shutdown();
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      cm.disable();
      context.disable();
    },
  };
}
