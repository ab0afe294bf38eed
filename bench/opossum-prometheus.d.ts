/** Minimal types for opossum-prometheus 0.3 (the package ships none); only what the bench uses. */
declare module 'opossum-prometheus' {
  import type CircuitBreaker from 'opossum';
  interface PrometheusMetricsOptions {
    readonly circuits?: CircuitBreaker | readonly CircuitBreaker[];
    readonly registry?: unknown;
    readonly exposePerformanceMetrics?: boolean;
  }
  export default class PrometheusMetrics {
    constructor(options?: PrometheusMetricsOptions);
    add(circuits: CircuitBreaker | readonly CircuitBreaker[]): void;
    clear(): void;
    readonly metrics: Promise<string> | string;
  }
}
