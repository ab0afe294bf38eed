/**
 * The SLA window tap and `obs.sla.check()`. The tap is what every observation of a series
 * an SLO targets pays on top of the histogram: measured on `handle.record(d)` (no clock
 * reads, so the few nanoseconds are not lost in the clock's noise) and on the full wrapper.
 * `check()` is measured on two handles with the same SLOs, one that saw a few hundred calls
 * and one that saw a million: the windows are fixed rings, so the cost must not differ.
 */
import { createObservability, type Observability, type SloSpec } from 'agent-observability';
import type { Suite } from '../harness.js';
import { syncTool } from './peers.js';

/** Durations spread over the buckets (seconds), so the bucket scan is not always the first. */
const DURATIONS = Float64Array.from([0.005, 0.015, 0.03, 0.07, 0.12, 0.3, 0.5, 1.5]);

const availability: SloSpec = { name: 'search-availability', target: { kind: 'tool', name: 'search' }, objective: 0.99, availability: {} };
const latency: SloSpec = { name: 'search-latency', target: { kind: 'tool', name: 'search' }, latency: { threshold: 0.32, percentile: 0.95 } };

function make(slos: readonly SloSpec[]): Observability {
  return createObservability({ runtimeMetrics: false, logger: false, tracing: false, slos });
}

export function slaSuite(cfg: { readonly quick: boolean }): Suite {
  const none = make([]);
  const one = make([availability]);
  const two = make([availability, latency]);
  const [h0, h1, h2] = [none, one, two].map((o) => o.tool('search', { agent: 'a' })) as [
    ReturnType<Observability['tool']>, ReturnType<Observability['tool']>, ReturnType<Observability['tool']>,
  ];
  const w0 = none.instrumentTool(syncTool, { tool: 'search', agent: 'a' });
  const w2 = two.instrumentTool(syncTool, { tool: 'search', agent: 'a' });

  const quiet = make([availability, latency]);
  const busy = make([availability, latency]);
  const quietHandle = quiet.tool('search', { agent: 'a' });
  const busyHandle = busy.tool('search', { agent: 'a' });
  for (let i = 0; i < 300; i++) quietHandle.record(DURATIONS[i & 7]!, i % 50 === 0 ? new Error('x') : undefined);
  const traffic = cfg.quick ? 20_000 : 1_000_000;
  for (let i = 0; i < traffic; i++) busyHandle.record(DURATIONS[i & 7]!, i % 50 === 0 ? new Error('x') : undefined);
  const reportSize = (o: Observability): number => o.sla.check().slos.length;

  return {
    id: 'sla',
    title: 'SLA window tap and check() (no AsyncLocalStorage in the process)',
    description:
      'Tap: `obs.tool().record(d)` (a duration measured elsewhere: no clock read) into a tool histogram that no SLO, one SLO ' +
      '(availability) or two SLOs (availability + latency) target, and the sync `instrumentTool` wrapper without and with two SLOs. ' +
      `check(): \`obs.sla.check()\` over the same two SLOs on a handle that saw 300 calls and one that saw ${traffic.toLocaleString('en-US')}.`,
    groups: [
      {
        id: 'tap',
        title: 'observation into a tool histogram an SLO targets',
        mode: 'sync',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: 'bare (read the duration)', op: (i) => DURATIONS[i & 7]! + i },
          { id: 'record', label: 'record(d), no SLO', op: (i) => (h0.record(DURATIONS[i & 7]!), i) },
          { id: 'record-1', label: 'record(d), 1 SLO (availability)', op: (i) => (h1.record(DURATIONS[i & 7]!), i) },
          { id: 'record-2', label: 'record(d), 2 SLOs (availability + latency)', op: (i) => (h2.record(DURATIONS[i & 7]!), i) },
          { id: 'wrap', label: 'instrumentTool (sync), no SLO', op: (i) => w0(i) },
          { id: 'wrap-2', label: 'instrumentTool (sync), 2 SLOs', op: (i) => w2(i) },
        ],
      },
      {
        id: 'check',
        title: 'obs.sla.check() over two SLOs',
        mode: 'sync',
        baseline: 'bare',
        batch: cfg.quick ? 4 : 50,
        cases: [
          { id: 'bare', label: 'bare', op: (i) => syncTool(i) },
          { id: 'quiet', label: 'check(), 300 calls recorded', op: (i) => reportSize(quiet) + i },
          { id: 'busy', label: `check(), ${traffic.toLocaleString('en-US')} calls recorded`, op: (i) => reportSize(busy) + i },
        ],
      },
    ],
    ratios: [
      { label: 'tap: 2 SLOs / 1 SLO (added over no SLO would be the tap)', group: 'tap', numerator: 'record-2', denominator: 'record-1' },
      { label: 'check(): busy / quiet', group: 'check', numerator: 'busy', denominator: 'quiet' },
    ],
    verify: async () => {
      const long = (o: Observability): number => o.sla.check().slos.reduce((n, s) => n + s.long.requests, 0);
      if (!(long(one) > 0 && long(two) > 0 && long(busy) > long(quiet))) throw new Error('sla: the windows did not see the calls');
    },
    dispose: async () => {
      for (const o of [none, one, two, quiet, busy]) await o.shutdown();
    },
  };
}
