/**
 * RED recording cost per tool call, in a process where nothing has used AsyncLocalStorage
 * yet (a service without correlation or an OpenTelemetry SDK): the bare call vs the
 * hand-rolled floor, ours (metrics only; with tracing on and no tracer provider), raw
 * prom-client (bound children: observe + inc, and the startTimer idiom), the OpenTelemetry
 * metrics SDK, and the OpenTelemetry API's own no-op span. Every async variant observes on
 * a `.then` side branch and returns the callee's promise, as our wrapper does, so rows
 * differ only in what they record; the `async`/`await` floor shows what that idiom costs.
 */
import { trace, type Tracer } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { catalog, createObservability } from 'agent-observability';
import type { Suite } from '../harness.js';
import {
  FloorHistogram, asyncTool, floorAsync, floorSync, now, otelCount, otelMeter, otelRecordAsync, otelRecordSync, promCount,
  promObserveAsync, promObserveSync, promTimerAsync, promTimerSync, promTool, syncTool,
} from './peers.js';

/** The attributes our tool spans carry, so a hand-written span does the same work. */
export const SPAN_ATTRIBUTES = Object.freeze({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search', 'gen_ai.agent.name': 'a' });

/** A hand-written span around the call, as a careful user of the OpenTelemetry API would. */
export function rawSpanAsync(tracer: Tracer): (i: number) => Promise<number> {
  return (i) =>
    tracer.startActiveSpan('execute_tool search', { attributes: SPAN_ATTRIBUTES }, (span) => {
      const p = asyncTool(i);
      p.then(
        () => span.end(),
        () => span.end(),
      );
      return p;
    });
}
export function rawSpanSync(tracer: Tracer): (i: number) => number {
  return (i) =>
    tracer.startActiveSpan('execute_tool search', { attributes: SPAN_ATTRIBUTES }, (span) => {
      try {
        return syncTool(i);
      } finally {
        span.end();
      }
    });
}

/** `_count` of our tool histogram for one tool, summed over error types. */
export async function oursCount(metrics: () => Promise<{ body: string }>, tool: string): Promise<number> {
  const body = (await metrics()).body;
  return body
    .split('\n')
    .filter((l) => l.startsWith(`${catalog.toolDuration.name}_count{`) && l.includes(`gen_ai_tool_name="${tool}"`))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

export function redSuite(): Suite {
  // Metrics only: what `tracing: false` leaves. Default options: tracing on, no provider registered.
  const off = createObservability({ runtimeMetrics: false, logger: false, tracing: false });
  const on = createObservability({ runtimeMetrics: false, logger: false });
  const wrapOffAsync = off.instrumentTool(asyncTool, { tool: 'search', agent: 'a' });
  const wrapOffSync = off.instrumentTool(syncTool, { tool: 'lookup', agent: 'a' });
  const handleAsync = off.tool('search', { agent: 'a' });
  const handleSync = off.tool('lookup', { agent: 'a' });
  const wrapOnAsync = on.instrumentTool(asyncTool, { tool: 'search', agent: 'a' });
  const wrapOnSync = on.instrumentTool(syncTool, { tool: 'lookup', agent: 'a' });

  const registry = new Registry();
  const promSearch = promTool(registry, 'search');
  const promLookup = promTool(registry, 'lookup');
  const otel = otelMeter();
  const floors = { async: new FloorHistogram(), await: new FloorHistogram(), sync: new FloorHistogram() };
  const noop = trace.getTracer('bench');

  return {
    id: 'red',
    title: 'RED metrics per tool call (no AsyncLocalStorage in the process)',
    description:
      'Per-call cost of recording duration and outcome of a trivial tool (`x => x + 1`), against the bare call, in a process where ' +
      'nothing has used AsyncLocalStorage yet. Ours: `instrumentTool` wrapper and pre-bound `obs.tool(...).run(...)` with ' +
      '`tracing: false` (metrics only), and the wrapper with default options (tracing on, no tracer provider registered). ' +
      'prom-client 15: bound histogram child `observe` + counter child `inc` timed with `performance.now()`, and the bound ' +
      'child\'s `startTimer()`/`end()` + `inc`. OpenTelemetry metrics SDK 2: `Histogram.record` with 3 attributes (a pull ' +
      'reader, as its Prometheus exporter). Floor: `performance.now()` twice + a Float64Array bucket scan/increment/sum. ' +
      'API no-op span: `trace.getTracer().startActiveSpan` by hand with no SDK.',
    groups: [
      {
        id: 'async',
        title: 'async tool (`async (x) => x + 1`, awaited)',
        mode: 'async',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: 'bare call', op: (i) => asyncTool(i) },
          { id: 'floor', label: 'floor: 2x now() + Float64Array', op: floorAsync(floors.async) },
          {
            id: 'floor-await',
            label: 'floor, async/await shape',
            op: async (i) => {
              const t0 = now();
              const r = await asyncTool(i);
              floors.await.observe((now() - t0) / 1000);
              return r;
            },
          },
          { id: 'ours', label: 'ours: instrumentTool, metrics only', op: (i) => wrapOffAsync(i) },
          { id: 'ours-run', label: 'ours: obs.tool().run(() => fn()), metrics only', op: (i) => handleAsync.run(() => asyncTool(i)) },
          { id: 'ours-nosdk', label: 'ours: instrumentTool, tracing on, no provider', op: (i) => wrapOnAsync(i) },
          { id: 'prom', label: 'prom-client: child observe + inc', op: promObserveAsync(promSearch) },
          { id: 'prom-timer', label: 'prom-client: child startTimer/end + inc', op: promTimerAsync(promSearch) },
          { id: 'otel', label: 'OTel SDK metrics: Histogram.record, 3 attributes', op: otelRecordAsync(otel) },
          { id: 'api-noop', label: 'OTel API no-op span (startActiveSpan, no SDK)', op: rawSpanAsync(noop) },
        ],
      },
      {
        id: 'sync',
        title: 'sync tool (`(x) => x + 1`)',
        mode: 'sync',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: 'bare call', op: (i) => syncTool(i) },
          { id: 'floor', label: 'floor: 2x now() + Float64Array', op: floorSync(floors.sync) },
          { id: 'ours', label: 'ours: instrumentTool, metrics only', op: (i) => wrapOffSync(i) },
          { id: 'ours-run', label: 'ours: obs.tool().run(() => fn()), metrics only', op: (i) => handleSync.run(() => syncTool(i)) },
          { id: 'ours-nosdk', label: 'ours: instrumentTool, tracing on, no provider', op: (i) => wrapOnSync(i) },
          { id: 'prom', label: 'prom-client: child observe + inc', op: promObserveSync(promLookup) },
          { id: 'prom-timer', label: 'prom-client: child startTimer/end + inc', op: promTimerSync(promLookup) },
          { id: 'otel', label: 'OTel SDK metrics: Histogram.record, 3 attributes', op: otelRecordSync(otel) },
          { id: 'api-noop', label: 'OTel API no-op span (startActiveSpan, no SDK)', op: rawSpanSync(noop) },
        ],
      },
    ],
    ratios: [
      { label: 'async: ours added / floor added', group: 'async', numerator: 'ours', denominator: 'floor' },
      { label: 'async: ours run() added / floor added', group: 'async', numerator: 'ours-run', denominator: 'floor' },
      { label: 'async: prom-client timer + inc / ours', group: 'async', numerator: 'prom-timer', denominator: 'ours' },
      { label: 'async: prom-client observe + inc / ours', group: 'async', numerator: 'prom', denominator: 'ours' },
      { label: 'async: OTel SDK record / ours', group: 'async', numerator: 'otel', denominator: 'ours' },
      { label: 'async: tracing on, no provider / metrics only', group: 'async', numerator: 'ours-nosdk', denominator: 'ours' },
      { label: 'sync: ours added / floor added', group: 'sync', numerator: 'ours', denominator: 'floor' },
      { label: 'sync: prom-client timer + inc / ours', group: 'sync', numerator: 'prom-timer', denominator: 'ours' },
      { label: 'sync: OTel SDK record / ours', group: 'sync', numerator: 'otel', denominator: 'ours' },
      { label: 'sync: tracing on, no provider / metrics only', group: 'sync', numerator: 'ours-nosdk', denominator: 'ours' },
    ],
    // Not timings: proof that each measured path really recorded, and that nothing is left in flight.
    verify: async () => {
      const active = (await off.metrics()).body
        .split('\n')
        .filter((l) => l.startsWith(`${catalog.operationActive.name}{`) && !l.endsWith(' 0'));
      const checks: [string, number][] = [
        ['ours search', await oursCount(() => off.metrics(), 'search')],
        ['ours lookup', await oursCount(() => off.metrics(), 'lookup')],
        ['ours (tracing on) search', await oursCount(() => on.metrics(), 'search')],
        ['ours (tracing on) lookup', await oursCount(() => on.metrics(), 'lookup')],
        ['prom-client search', await promCount(promSearch.hist)],
        ['prom-client lookup', await promCount(promLookup.hist)],
        ['OTel SDK', await otelCount(otel)],
        ['floor async', floors.async.total()],
        ['floor await', floors.await.total()],
        ['floor sync', floors.sync.total()],
      ];
      const empty = checks.filter(([, n]) => !(n > 0)).map(([what]) => what);
      if (empty.length > 0) throw new Error(`red: nothing recorded by ${empty.join(', ')}`);
      if (active.length > 0) throw new Error(`red: calls still in flight after the run: ${active.join('; ')}`);
      if (trace.getActiveSpan() !== undefined) throw new Error('red: a span leaked into the bench context');
    },
    dispose: async () => {
      await off.shutdown();
      await on.shutdown();
      await otel.provider.shutdown();
    },
  };
}
