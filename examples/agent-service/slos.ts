/**
 * The service's SLOs, written once as data: `startAgentService` evaluates them in-process
 * (`obs.sla`, `GET /healthz/slo`, breach/recover log lines), and the same specs can be
 * handed to `generateSloRules` (`agent-observability/generate`) for Prometheus rules.
 */
import { defineSlo, type SloEvaluationOptions, type SloSpec } from 'agent-observability';
import { AGENT_NAME } from './agent.js';

export interface ServiceSloOptions {
  /**
   * In-process evaluation windows of every SLO (the library's defaults are `1m` slices and
   * `5m` / `1h` windows; tests use seconds, e.g. `{ slice: '1s', shortWindow: '5s', longWindow: '20s' }`).
   */
  readonly evaluation?: SloEvaluationOptions;
  /** p95 threshold of a whole task, in seconds; a bucket boundary of the agent histogram (0.1 × 2^k). @default 3.2 */
  readonly agentLatencyThreshold?: number;
  /** p95 threshold of `web_search`, in seconds; a bucket boundary of the tool histogram (0.01 × 2^k). @default 0.64 */
  readonly webSearchLatencyThreshold?: number;
}

/** SLO names, as in the `slo` label of `agentobs_slo_*` and `sloth_slo` in rules. */
export const SLO_NAMES = Object.freeze({
  availability: `${AGENT_NAME}-availability`,
  latency: `${AGENT_NAME}-latency`,
  webSearchLatency: 'web-search-latency',
});

/**
 * - `support-agent-availability`: 99 % of tasks succeed (a fallback reply counts as a success);
 * - `support-agent-latency`: 95 % of tasks finish within 3.2 s (p95 ≤ 3.2 s);
 * - `web-search-latency`: 95 % of `web_search` calls finish within 0.64 s.
 */
export function serviceSlos(options: ServiceSloOptions = {}): SloSpec[] {
  const evaluation = options.evaluation === undefined ? {} : { evaluation: options.evaluation };
  return [
    defineSlo({
      name: SLO_NAMES.availability,
      description: 'Tasks answered without an error',
      target: { kind: 'agent', name: AGENT_NAME },
      objective: 0.99,
      availability: {},
      ...evaluation,
    }),
    defineSlo({
      name: SLO_NAMES.latency,
      description: 'Tasks answered within the latency threshold',
      target: { kind: 'agent', name: AGENT_NAME },
      latency: { threshold: options.agentLatencyThreshold ?? 3.2, percentile: 0.95 },
      ...evaluation,
    }),
    defineSlo({
      name: SLO_NAMES.webSearchLatency,
      description: 'web_search calls within the latency threshold',
      target: { kind: 'tool', name: 'web_search', agent: AGENT_NAME },
      latency: { threshold: options.webSearchLatencyThreshold ?? 0.64, percentile: 0.95 },
      ...evaluation,
    }),
  ];
}
