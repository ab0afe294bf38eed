/**
 * The shipped generate config (obs.config.ts) at test speed: 10 s rate windows, 2 s `for:`,
 * 10 s / 20 s burn-rate windows, SLAs and SLO latency thresholds the example service crosses
 * within seconds when `/admin/faults` slows it down. The same generator, a config override,
 * no hand edits: used by the end-to-end alert test and `npm run stack -- --fast`.
 */
import { serviceSlos } from '../../examples/agent-service/slos.js';
import shipped from '../../obs.config.js';
import type { GenerateConfig } from '../../src/generate/index.js';

export const FAST_CONFIG: GenerateConfig = {
  ...shipped,
  rateInterval: '10s',
  minRequestRate: 0,
  thresholds: { agentLatencySeconds: 1, toolLatencySeconds: 0.1, llmLatencySeconds: 0.5, throttledPerSecond: 1, eventLoopLagSeconds: 0.08 },
  for: {
    errorRatio: '2s', latency: '2s', breakerOpen: '2s', poolSaturated: '2s', rateLimit: '2s', throttled: '2s', eventLoop: '2s', targetDown: '2s',
    metricsAbsent: '2s', internalErrors: '2s', labelOverflow: '2s',
  },
  burnRateWindows: [{ severity: 'critical', burnFactor: 14.4, longWindow: '20s', shortWindow: '10s' }],
  // Bucket bounds of the agent (0.1 × 2^k) and tool (0.01 × 2^k) histograms.
  slos: serviceSlos({ agentLatencyThreshold: 0.8, webSearchLatencyThreshold: 0.16 }).map((slo) => ({
    ...slo,
    alerting: { latencyWindow: '10s', latencyFor: '2s' },
  })),
};
