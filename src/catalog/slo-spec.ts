/**
 * The SLO spec types: what users write (TypeScript or YAML) and what `sla/` and
 * `generate/` consume once it is validated and resolved (see `slo.ts`).
 */
import type { HistogramDef } from './metrics.js';

/** The kinds of instrumented unit an SLO can target (the RED duration histograms). */
export type SloTargetKind = 'agent' | 'workflow' | 'step' | 'tool' | 'llm';
/** Every {@link SloTargetKind}. */
export const SLO_TARGET_KINDS: readonly SloTargetKind[] = Object.freeze(['agent', 'workflow', 'step', 'tool', 'llm']);

/**
 * What an SLO measures. `name` is the agent, workflow, step, tool or model name; leave it
 * out to cover every call of the kind. The other fields narrow further.
 */
export type SloTarget =
  | { readonly kind: 'agent'; readonly name?: string }
  | { readonly kind: 'workflow'; readonly name?: string }
  | { readonly kind: 'step'; readonly name?: string; readonly workflow?: string }
  | { readonly kind: 'tool'; readonly name?: string; readonly agent?: string }
  | {
      readonly kind: 'llm';
      readonly name?: string;
      readonly agent?: string;
      readonly provider?: string;
      readonly operation?: string;
    };

/** An availability SLI: bad events are calls that failed (`error_type != ""`). Takes no settings yet. */
export type AvailabilitySli = Readonly<Record<string, never>>;

/** A latency SLI: bad events are calls slower than `threshold` (failed calls included, by their duration). */
export interface LatencySli {
  /** Seconds; must be a bucket boundary of the target's histogram (see `buckets` in createObservability). */
  readonly threshold: number;
  /** The quantile reported and alerted on ("p95 <= T"). @default the SLO's objective */
  readonly percentile?: number;
}

/** In-process evaluation settings (`obs.sla`). */
export interface SloEvaluationOptions {
  /** Width of one ring slice; the short and long windows are whole numbers of slices. @default '1m' */
  readonly slice?: string;
  /** Short burn-rate window (resets quickly after a fix). @default '5m' */
  readonly shortWindow?: string;
  /** Long burn-rate window; also the span of the in-process latency quantiles. @default '1h' */
  readonly longWindow?: string;
  /** Width of one slice of the error-budget ring that spans `window`; `window` must be a multiple of it. @default '1h' */
  readonly budgetSlice?: string;
  /** Calls needed in the long window before a breach can be declared. @default 20 */
  readonly minRequests?: number;
  /** Breach when both windows burn the budget at least this fast. @default 14.4 */
  readonly breachBurnRate?: number;
  /** Recover once either window burns slower than this (hysteresis). @default breachBurnRate / 2 */
  readonly recoverBurnRate?: number;
  /** Status `warning` when both windows burn at least this fast. @default 1 */
  readonly warningBurnRate?: number;
}

/** Prometheus rule settings for this SLO (see `generateSloRules` in `agent-observability/generate`). */
export interface SloAlertingOptions {
  /** Burn-rate alert name (CamelCase). @default 'SloErrorBudgetBurn' */
  readonly name?: string;
  /** Latency alert name (latency SLOs). @default 'SloLatencyHigh' */
  readonly latencyName?: string;
  /** Low-traffic guard in requests per second over each alert's long window. @default the generator's `minRequestRate` */
  readonly minRequestRate?: number;
  /** How long the quantile must stay above the threshold before the latency alert fires. @default '10m' */
  readonly latencyFor?: string;
  /** Rate window of the latency alert's quantile. @default '5m' */
  readonly latencyWindow?: string;
}

interface SloSpecBase {
  /** Unique name: the `slo` label in-process and `sloth_slo` in rules. Letters, digits, `_`, `.`, `-`. */
  readonly name: string;
  readonly description?: string;
  readonly target: SloTarget;
  /** SLO period for the error budget and Prometheus rules. @default '30d' */
  readonly window?: string;
  readonly evaluation?: SloEvaluationOptions;
  readonly alerting?: SloAlertingOptions;
}
/** "`objective` of calls succeed". */
export interface AvailabilitySloSpec extends SloSpecBase {
  /** Target fraction of good events, in (0, 1): 0.995 = 99.5 %. */
  readonly objective: number;
  readonly availability: AvailabilitySli;
  readonly latency?: undefined;
}
/** "`objective` of calls finish within `latency.threshold`" (p95 <= 2.56 s is objective 0.95). */
export interface LatencySloSpec extends SloSpecBase {
  /** Target fraction of calls under the threshold. @default latency.percentile */
  readonly objective?: number;
  readonly latency: LatencySli;
  readonly availability?: undefined;
}
/** One SLO, as written in TypeScript or loaded from YAML/JSON. */
export type SloSpec = AvailabilitySloSpec | LatencySloSpec;

/** A validated duration. */
export interface SloDuration {
  readonly ms: number;
  /** Canonical Prometheus form (`5m`, `1h30m`, `30d`). */
  readonly text: string;
}

/** An equality matcher on one label of the target histogram. */
export interface SloMatcher {
  readonly label: string;
  readonly value: string;
}

/** A spec with defaults applied, bound to its histogram. Internal to `sla/` and `generate/`. */
export interface ResolvedSlo {
  readonly spec: SloSpec;
  readonly name: string;
  readonly description: string;
  readonly sli: 'availability' | 'latency';
  readonly metric: HistogramDef;
  /** Label that is empty on success and names the error otherwise. */
  readonly errorLabel: string;
  readonly matchers: readonly SloMatcher[];
  /** The histogram's effective bucket bounds (bucket overrides honoured). */
  readonly bounds: readonly number[];
  readonly objective: number;
  readonly window: SloDuration;
  readonly latency: { readonly threshold: number; readonly thresholdIndex: number; readonly percentile: number } | undefined;
  readonly evaluation: {
    readonly slice: SloDuration;
    readonly shortWindow: SloDuration;
    readonly longWindow: SloDuration;
    readonly budgetSlice: SloDuration;
    readonly minRequests: number;
    readonly breachBurnRate: number;
    readonly recoverBurnRate: number;
    readonly warningBurnRate: number;
  };
  readonly alerting: {
    readonly name: string;
    readonly latencyName: string;
    readonly minRequestRate: number | undefined;
    readonly latencyFor: SloDuration;
    readonly latencyWindow: SloDuration;
  };
}
