/**
 * What a capability folder (resilience, sla, tracing…) receives from the root handle:
 * catalog-bound families, the diag channel, the clock and shutdown hooks. Internal: not
 * exported from the package, so capabilities stay decoupled from `observability.ts`.
 */
import type { Registry } from 'prom-client';
import type { CounterDef, GaugeDef, HistogramDef } from '../catalog/metrics.js';
import type { CounterFamily, GaugeFamily, HistogramFamily } from '../metrics/store.js';
import type { Diag, DiagLogger } from './diag.js';
import type { ExemplarLabels } from './span-hook.js';

export interface ObsContext {
  readonly registry: Registry;
  /** The family of a catalog counter, created and registered on first use (one per name). */
  counter(def: CounterDef): CounterFamily;
  gauge(def: GaugeDef): GaugeFamily;
  histogram(def: HistogramDef): HistogramFamily;
  readonly diag: Diag;
  /** Monotonic milliseconds. */
  readonly clock: () => number;
  readonly logger: DiagLogger | undefined;
  /** The correlation ID of the current async context (for log lines); `undefined` outside any. Never throws. */
  correlationId(): string | undefined;
  /**
   * Exemplar labels of the active sampled span, for histograms observed outside a wrapped
   * call (breaker durations, pool waits); `undefined` with exemplars off or no tracer
   * provider (then it costs one global lookup). Never throws.
   */
  activeExemplar(): ExemplarLabels | undefined;
  /** Runs `fn` during `shutdown()`, before our metrics are unregistered. Hooks run in reverse order of registration. */
  onShutdown(fn: () => void | Promise<void>): void;
}
