/**
 * @autometrics/autometrics against ours, metrics only. autometrics enters an
 * AsyncLocalStorage scope on every call (to label callers), so the process it runs in has
 * AsyncLocalStorage in use: on Node 20 every promise then pays for its hooks. That is part
 * of what adopting it costs, and every case here is measured in that state; the process has
 * no other AsyncLocalStorage (ours, metrics only, uses none).
 */
import { Registry } from 'prom-client';
import { createObservability } from 'agent-observability';
import type { Suite } from '../harness.js';
import { FloorHistogram, asyncTool, autometricsPeer, floorAsync, floorSync, promCount, promTimerAsync, promTimerSync, promTool, syncTool } from './peers.js';
import { oursCount } from './red.js';

export async function autometricsSuite(): Promise<Suite> {
  const obs = createObservability({ runtimeMetrics: false, logger: false, tracing: false });
  const oursAsync = obs.instrumentTool(asyncTool, { tool: 'search', agent: 'a' });
  const oursSync = obs.instrumentTool(syncTool, { tool: 'lookup', agent: 'a' });
  const am = await autometricsPeer();
  const registry = new Registry();
  const promSearch = promTool(registry, 'search');
  const promLookup = promTool(registry, 'lookup');
  const floors = { async: new FloorHistogram(), sync: new FloorHistogram() };
  // Its AsyncLocalStorage in use from the start, so priming and measuring see one state.
  await am.amAsync(0);

  return {
    id: 'autometrics',
    title: '@autometrics/autometrics (its AsyncLocalStorage in use)',
    description:
      '@autometrics/autometrics 1.0 `autometrics(fn)` (a calls counter and a duration histogram through its own pinned ' +
      'OpenTelemetry SDK copy, a pull reader registered as its Prometheus exporter would, and an AsyncLocalStorage scope per ' +
      'call) against ours (`instrumentTool`, `tracing: false`), the floor and prom-client child timer + counter, all in the ' +
      'process state autometrics puts a service in (AsyncLocalStorage in use: its own instance only).',
    als: true,
    groups: [
      {
        id: 'async',
        title: 'async tool, autometrics\' AsyncLocalStorage in use',
        mode: 'async',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: 'bare call', op: (i) => asyncTool(i) },
          { id: 'floor', label: 'floor: 2x now() + Float64Array', op: floorAsync(floors.async) },
          { id: 'ours', label: 'ours: instrumentTool, metrics only', op: (i) => oursAsync(i) },
          { id: 'prom-timer', label: 'prom-client: child startTimer/end + inc', op: promTimerAsync(promSearch) },
          { id: 'autometrics', label: '@autometrics/autometrics wrapper', op: (i) => am.amAsync(i) },
        ],
      },
      {
        id: 'sync',
        title: 'sync tool, autometrics\' AsyncLocalStorage in use',
        mode: 'sync',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: 'bare call', op: (i) => syncTool(i) },
          { id: 'floor', label: 'floor: 2x now() + Float64Array', op: floorSync(floors.sync) },
          { id: 'ours', label: 'ours: instrumentTool, metrics only', op: (i) => oursSync(i) },
          { id: 'prom-timer', label: 'prom-client: child startTimer/end + inc', op: promTimerSync(promLookup) },
          { id: 'autometrics', label: '@autometrics/autometrics wrapper', op: (i) => am.amSync(i) },
        ],
      },
    ],
    ratios: [
      { label: 'async: autometrics / ours', group: 'async', numerator: 'autometrics', denominator: 'ours' },
      { label: 'async: ours / floor', group: 'async', numerator: 'ours', denominator: 'floor' },
      { label: 'sync: autometrics / ours', group: 'sync', numerator: 'autometrics', denominator: 'ours' },
      { label: 'sync: ours / floor', group: 'sync', numerator: 'ours', denominator: 'floor' },
    ],
    verify: async () => {
      const checks: [string, number][] = [
        ['ours search', await oursCount(() => obs.metrics(), 'search')],
        ['ours lookup', await oursCount(() => obs.metrics(), 'lookup')],
        ['prom-client', (await promCount(promSearch.hist)) + (await promCount(promLookup.hist))],
        ['autometrics', await am.count()],
      ];
      const empty = checks.filter(([, n]) => !(n > 0)).map(([what]) => what);
      if (empty.length > 0) throw new Error(`autometrics: nothing recorded by ${empty.join(', ')}`);
    },
    dispose: () => obs.shutdown(),
  };
}
