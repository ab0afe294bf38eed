import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { SloSpec } from '../catalog/slo.js';
import { createObservability, type Observability } from '../observability.js';
import type { SlaEngine } from './sla.js';

/** `global.gc`, exposed at run time when the worker was not started with --expose-gc. */
function collector(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
const gc = collector();
/** JS heap plus ArrayBuffer backing stores (the windows' typed arrays live outside the heap). */
function heapUsed(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const SLOS = 20;
const specs: SloSpec[] = Array.from({ length: SLOS }, (_, i) =>
  i % 2 === 0
    ? { name: `tool-${i}-availability`, target: { kind: 'tool', name: `tool-${i}` }, objective: 0.99, availability: {} }
    : { name: `tool-${i}-latency`, target: { kind: 'tool', name: `tool-${i}` }, latency: { threshold: 0.32, percentile: 0.95 } },
);

describe('SLA state under a soak', () => {
  it('5 million calls across 20 SLOs leave the SLA state the same size (bytes per SLO reported)', () => {
    let t = 0;
    const make = (slos: SloSpec[]): Observability =>
      createObservability({ runtimeMetrics: false, logger: false, clock: () => t, slos });
    const bind = (o: Observability) => specs.map((_, i) => o.tool(`tool-${i}`));

    // What 20 SLOs cost in memory: the same setup with and without them.
    const h0 = heapUsed();
    const plain = make([]);
    const plainHandles = bind(plain);
    const h1 = heapUsed();
    const obs = make(specs);
    const handles = bind(obs);
    const h2 = heapUsed();
    const perSloHeap = (h2 - h1 - (h1 - h0)) / SLOS;
    const engine = obs.sla as SlaEngine;
    const typedBytes = engine.stateBytes;

    const durations = [0.005, 0.015, 0.03, 0.07, 0.12, 0.3, 0.5, 1.5, 100];
    const run = (n: number): void => {
      for (let i = 0; i < n; i++) {
        // 30 s of clock per 10k calls: the 1 h rings wrap several times over the soak.
        if (i % 10_000 === 0) {
          t += 30_000;
          if (i % 100_000 === 0) obs.sla.check();
        }
        handles[i % SLOS]!.record(durations[i % durations.length]!, i % 53 === 0 ? 'failed' : undefined);
      }
    };
    run(200_000); // warm-up: every error series and code path bound, JIT settled
    obs.sla.check();
    const before = heapUsed();
    run(5_000_000);
    const report = obs.sla.check();
    const after = heapUsed();

    console.info(
      `SLA soak: ${SLOS} SLOs, 5e6 calls: typed-array state ${typedBytes / SLOS} B per SLO; ` +
        `heap + array buffers per SLO ≈ ${Math.round(perSloHeap)} B; drift over the soak ${after - before} B`,
    );
    expect(engine.stateBytes).toBe(typedBytes);
    // Anything kept per call would show as megabytes over 5e6 calls (1 B/call = 5 MB);
    // what remains is heap noise from the test runner.
    expect(Math.abs(after - before)).toBeLessThan(1024 * 1024);
    expect(report.slos).toHaveLength(SLOS);
    expect(report.slos.every((s) => s.long.requests > 0)).toBe(true);

    void plainHandles;
    void plain.shutdown();
    void obs.shutdown();
  }, 60_000);
});
