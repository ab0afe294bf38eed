/**
 * Circuit-breaker cost per call: a bare async call vs the same call through bare opossum
 * `fire` (its defaults, and a lean configuration: no per-call timeout timer, no snapshots,
 * no latency percentiles), through our metered breaker (same two configurations), through
 * opossum + opossum-prometheus (the usual peer: one prom-client counter child per event,
 * resolved per call, plus a Summary), and through our full policy (retry → pool → breaker
 * → timeout), and through cockatiel's circuit breaker policy (a SamplingBreaker: the same
 * rolling-window failure ratio as opossum's). Every breaker stays closed; the callee never fails.
 */
import { SamplingBreaker, circuitBreaker, handleAll } from 'cockatiel';
import CircuitBreaker from 'opossum';
import PrometheusMetrics from 'opossum-prometheus';
import { Registry } from 'prom-client';
import { createObservability } from 'agent-observability';
import type { Suite } from '../harness.js';

/** opossum without the per-call timeout timer, the snapshot interval and the percentile bookkeeping. */
const LEAN = { timeout: false, enableSnapshots: false, rollingPercentilesEnabled: false } as const;

export function breakerSuite(): Suite {
  const call = async (x: number): Promise<number> => x + 1;

  const opDefault = new CircuitBreaker(call, { name: 'op_default' });
  const opLean = new CircuitBreaker(call, { name: 'op_lean', ...LEAN });
  const opProm = new CircuitBreaker(call, { name: 'op_prom' });
  const peerRegistry = new Registry();
  const peer = new PrometheusMetrics({ circuits: [opProm], registry: peerRegistry });

  const obs = createObservability({ runtimeMetrics: false, logger: false });
  const oursDefault = obs.circuitBreaker(call, { name: 'ours_default' });
  const oursLean = obs.circuitBreaker(call, { name: 'ours_lean', ...LEAN });
  // cockatiel 3: opossum's defaults expressed in its terms (50% failures over a 10 s window, 10 s before half-open).
  const cockatiel = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000 }) });
  const policy = obs.policy({ name: 'ours_policy', timeout: 10_000, retry: { maxAttempts: 3 }, breaker: LEAN, pool: { concurrency: 64 } }).wrap(call);

  return {
    id: 'breaker',
    title: 'Circuit breaker per call (no AsyncLocalStorage in the process)',
    description:
      'Per-call cost of a closed circuit breaker around `async (x) => x + 1`, against the bare call. ' +
      'opossum 9 `fire` with its defaults (10 s timeout timer per call, snapshots, percentiles) and lean ' +
      '(`timeout: false, enableSnapshots: false, rollingPercentilesEnabled: false`); ours (`obs.circuitBreaker`, every ' +
      'event metered into pre-bound series) with the same two configurations; opossum + opossum-prometheus 0.3 ' +
      '(defaults, its own registry); cockatiel 3 `circuitBreaker(handleAll, SamplingBreaker 50%/10 s).execute`; and our full ' +
      '`obs.policy` (retry, pool, lean breaker, 10 s timeout).',
    groups: [
      {
        id: 'async',
        title: 'async call through a closed breaker',
        mode: 'async',
        baseline: 'bare',
        cases: [
          { id: 'bare', label: 'bare call', op: (i) => call(i) },
          { id: 'opossum', label: 'opossum fire (defaults)', op: (i) => opDefault.fire(i) },
          { id: 'opossum-lean', label: 'opossum fire (lean)', op: (i) => opLean.fire(i) },
          { id: 'ours', label: 'ours: circuitBreaker (defaults)', op: (i) => oursDefault.fire(i) },
          { id: 'ours-lean', label: 'ours: circuitBreaker (lean)', op: (i) => oursLean.fire(i) },
          { id: 'opossum-prom', label: 'opossum + opossum-prometheus', op: (i) => opProm.fire(i) },
          { id: 'cockatiel', label: 'cockatiel circuitBreaker.execute', op: (i) => cockatiel.execute(() => call(i)) },
          { id: 'ours-policy', label: 'ours: policy (retry+pool+breaker+timeout)', op: (i) => policy(i) },
        ],
      },
    ],
    ratios: [
      { label: 'ours (defaults) added / opossum (defaults) added', group: 'async', numerator: 'ours', denominator: 'opossum' },
      { label: 'ours (lean) added / opossum (lean) added', group: 'async', numerator: 'ours-lean', denominator: 'opossum-lean' },
      { label: 'ours (defaults) added / opossum (lean) added', group: 'async', numerator: 'ours', denominator: 'opossum-lean' },
      { label: 'opossum + opossum-prometheus added / ours (defaults) added', group: 'async', numerator: 'opossum-prom', denominator: 'ours' },
      { label: 'ours policy added / opossum + opossum-prometheus added', group: 'async', numerator: 'ours-policy', denominator: 'opossum-prom' },
      { label: 'ours (lean) added / cockatiel added', group: 'async', numerator: 'ours-lean', denominator: 'cockatiel' },
    ],
    // Not timings: proof that every metered path really recorded.
    verify: async () => {
      const body = (await obs.metrics()).body;
      const count = (breaker: string): number => {
        const line = body.split('\n').find((l) => l.startsWith('agentobs_circuit_breaker_calls_total{') && l.includes(`breaker="${breaker}"`) && l.includes('outcome="success"'));
        return Number(line?.split(' ').pop() ?? 0);
      };
      const peerText = await peerRegistry.metrics();
      const peerCount = Number(/circuit\{name="op_prom",event="success"\} (\d+)/.exec(peerText)?.[1] ?? 0);
      const checks: [string, number][] = [
        ['ours defaults', count('ours_default')],
        ['ours lean', count('ours_lean')],
        ['ours policy', count('ours_policy')],
        ['opossum-prometheus', peerCount],
        ['opossum defaults', opDefault.stats.successes],
        ['opossum lean', opLean.stats.successes],
      ];
      const empty = checks.filter(([, n]) => !(n > 0)).map(([what]) => what);
      if (empty.length > 0) throw new Error(`breaker: nothing recorded by ${empty.join(', ')}`);
    },
    dispose: async () => {
      for (const b of [opDefault, opLean, opProm]) b.shutdown();
      peer.clear();
      await obs.shutdown();
    },
  };
}
