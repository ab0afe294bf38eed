/**
 * With AsyncLocalStorage in use (any service that keeps a correlation ID or an
 * OpenTelemetry context), no SDK registered: the floor and ours again in this state, ours
 * with a correlation scope per call (`obs.withCorrelation`), with tracing on (no provider),
 * and the same peers. Two AsyncLocalStorage instances are in use: ours and the hand-rolled
 * floor's (a service has one per library that keeps context).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Registry } from 'prom-client';
import { createObservability } from 'agent-observability';
import type { Suite } from '../harness.js';
import {
  FloorHistogram, asyncTool, floorAsync, floorSync, otelCount, otelMeter, otelRecordAsync, otelRecordSync,
  promCount, promTimerAsync, promTimerSync, promTool, syncTool,
} from './peers.js';
import { oursCount } from './red.js';

export function correlationSuite(): Suite {
  const off = createObservability({ runtimeMetrics: false, logger: false, tracing: false });
  const on = createObservability({ runtimeMetrics: false, logger: false });
  const offAsync = off.instrumentTool(asyncTool, { tool: 'search', agent: 'a' });
  const offSync = off.instrumentTool(syncTool, { tool: 'lookup', agent: 'a' });
  const onAsync = on.instrumentTool(asyncTool, { tool: 'search', agent: 'a' });

  const registry = new Registry();
  const promSearch = promTool(registry, 'search');
  const promLookup = promTool(registry, 'lookup');
  const otel = otelMeter();
  const floors = { async: new FloorHistogram(), als: new FloorHistogram(), sync: new FloorHistogram() };
  // A hand-rolled correlation scope: one AsyncLocalStorage#run per call around the floor.
  const als = new AsyncLocalStorage<{ id: string }>();
  const scope = { id: 'bench-id' };
  const floorAls = floorAsync(floors.als);

  return {
    id: 'correlation',
    title: 'Correlation scopes (AsyncLocalStorage in use, no SDK)',
    description:
      'The same trivial tool once AsyncLocalStorage is in use in the process (on Node 20 every promise pays for its hooks from ' +
      'then on, so the bare call itself is dearer than in the first suite). Ours metrics only (`tracing: false`); inside ' +
      '`obs.withCorrelation(id, ...)` entered per call; the same with tracing on (no provider). Floor with an ' +
      '`AsyncLocalStorage#run` per call, prom-client child timer + counter, OpenTelemetry SDK `Histogram.record`.',
    als: true,
    groups: [
      {
        id: 'async',
        title: 'async tool, AsyncLocalStorage in use',
        mode: 'async',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: 'bare call', op: (i) => asyncTool(i) },
          { id: 'floor', label: 'floor: 2x now() + Float64Array', op: floorAsync(floors.async) },
          { id: 'floor-als', label: 'floor + AsyncLocalStorage#run per call', op: (i) => als.run(scope, floorAls, i) },
          { id: 'ours', label: 'ours: metrics only', op: (i) => offAsync(i) },
          // One handle's store for every correlation scope (`on`), so ours adds one AsyncLocalStorage, not two.
          { id: 'ours-corr', label: 'ours: + withCorrelation per call', op: (i) => on.withCorrelation('bench-id', () => offAsync(i)) },
          { id: 'ours-corr-nosdk', label: 'ours: + withCorrelation + tracing on, no provider', op: (i) => on.withCorrelation('bench-id', () => onAsync(i)) },
          { id: 'prom-timer', label: 'prom-client: child startTimer/end + inc', op: promTimerAsync(promSearch) },
          { id: 'otel', label: 'OTel SDK metrics: Histogram.record, 3 attributes', op: otelRecordAsync(otel) },
        ],
      },
      {
        id: 'sync',
        title: 'sync tool, AsyncLocalStorage in use',
        mode: 'sync',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: 'bare call', op: (i) => syncTool(i) },
          { id: 'floor', label: 'floor: 2x now() + Float64Array', op: floorSync(floors.sync) },
          { id: 'ours', label: 'ours: metrics only', op: (i) => offSync(i) },
          { id: 'ours-corr', label: 'ours: + withCorrelation per call', op: (i) => on.withCorrelation('bench-id', () => offSync(i)) },
          { id: 'prom-timer', label: 'prom-client: child startTimer/end + inc', op: promTimerSync(promLookup) },
          { id: 'otel', label: 'OTel SDK metrics: Histogram.record, 3 attributes', op: otelRecordSync(otel) },
        ],
      },
    ],
    ratios: [
      { label: 'async: ours / floor', group: 'async', numerator: 'ours', denominator: 'floor' },
      { label: 'async: prom-client timer + inc / ours', group: 'async', numerator: 'prom-timer', denominator: 'ours' },
      { label: 'async: ours + correlation / floor + ALS run', group: 'async', numerator: 'ours-corr', denominator: 'floor-als' },
    ],
    verify: async () => {
      const checks: [string, number][] = [
        ['ours search', await oursCount(() => off.metrics(), 'search')],
        ['ours lookup', await oursCount(() => off.metrics(), 'lookup')],
        ['ours (tracing on) search', await oursCount(() => on.metrics(), 'search')],
        ['prom-client search', await promCount(promSearch.hist)],
        ['prom-client lookup', await promCount(promLookup.hist)],
        ['OTel SDK', await otelCount(otel)],
        ['floor + ALS', floors.als.total()],
      ];
      const empty = checks.filter(([, n]) => !(n > 0)).map(([what]) => what);
      if (empty.length > 0) throw new Error(`correlation: nothing recorded by ${empty.join(', ')}`);
    },
    dispose: async () => {
      await off.shutdown();
      await on.shutdown();
      await otel.provider.shutdown();
    },
  };
}
